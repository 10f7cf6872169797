// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pks-env.c: the PKS test environment of pks-conformance.efi and
 * pksv-pv.efi (see pks-env.h): the C side of the exception handler and
 * its fault record, the firmware PML4 copy with a region of our own, our
 * IDT, and entering and leaving the test state.
 */
#include "pks-env.h"

volatile struct pks_fault pks_fault;

static EFI_SYSTEM_TABLE *env_st;
static const char *env_done_line;
static int (*env_resume_other)(struct pks_frame *f);

/* The firmware's state, saved by pks_env_enter (fw_saved = 1). */
static u64 fw_cr0, fw_cr3, fw_cr4, fw_pkrs, fw_rflags;
static struct dtr fw_idtr;
static int fw_saved;

void pks_env_init(EFI_SYSTEM_TABLE *st, const char *done_line,
		  int (*resume_other)(struct pks_frame *f))
{
	env_st = st;
	env_done_line = done_line;
	env_resume_other = resume_other;
	uefi_call_wrapper(st->BootServices->SetWatchdogTimer, 4, 0, 0, 0, NULL);
	com1_init();
}

void pks_exc_c(struct pks_frame *f)
{
	u64 cr2 = read_cr2();
	const char *insn[4] = { pks_probe_read_insn, pks_probe_write_insn,
				pks_probe_wrmsr_insn, pks_probe_rdmsr_insn };
	const char *end[4] = { pks_probe_read_end, pks_probe_write_end,
			       pks_probe_wrmsr_end, pks_probe_rdmsr_end };
	unsigned int i;

	if (!pks_fault.hit) {
		pks_fault.hit = 1;
		pks_fault.vector = f->vector;
		pks_fault.ec = f->ec;
		pks_fault.cr2 = cr2;
		pks_fault.rip = f->rip;
	}
	pks_fault.count++;
	if (pks_fault.count > 16)
		goto bail;		/* a probe that keeps faulting */
	/* A faulting probe "returns" from its _end label (pks-asm.S). */
	for (i = 0; i < 4; i++)
		if (f->rip == (u64)insn[i]) {
			f->rip = (u64)end[i];
			return;
		}
	if (env_resume_other && env_resume_other(f))
		return;
bail:
	say("Bail out! unexpected exception: vector %u ec 0x%llx rip 0x%llx cr2 0x%llx",
	    (unsigned int)f->vector, f->ec, f->rip, cr2);
	pks_env_leave();
	say("%s", env_done_line);
	power_off(env_st);
}

void pks_fault_clear(void)
{
	pks_fault.hit = 0;
	pks_fault.count = 0;
	pks_fault.vector = pks_fault.ec = pks_fault.cr2 = pks_fault.rip = 0;
}

int pks_env_alloc_pages(unsigned int count, u64 *base)
{
	EFI_PHYSICAL_ADDRESS addr = 0;
	EFI_STATUS s;
	unsigned int i;

	s = uefi_call_wrapper(env_st->BootServices->AllocatePages, 4, AllocateAnyPages,
			      EfiLoaderData, (UINTN)count, &addr);
	if (EFI_ERROR(s)) {
		say("# AllocatePages(%u) failed: 0x%llx", count, (u64)s);
		return -1;
	}
	for (i = 0; i < count * 512; i++)
		((u64 *)addr)[i] = 0;
	*base = addr;
	return 0;
}

unsigned int pks_env_add_region(u64 *pml4, u64 pdpt_pa, u64 pd_pa)
{
	u64 *fw_pml4 = (u64 *)(read_cr3() & PTE_ADDR);
	unsigned int i, idx = 0;

	/* The firmware's identity map of memory stays usable. */
	for (i = 0; i < 512; i++)
		pml4[i] = fw_pml4[i];
	/* A free lower-half PML4 slot, 254 (0x7f0000000000) first. */
	for (i = 254; i >= 1; i--)
		if (!(pml4[i] & PTE_P)) {
			idx = i;
			break;
		}
	if (!idx) {
		say("# no free PML4 entry");
		return 0;
	}
	pml4[idx] = pdpt_pa | PTE_P | PTE_RW | PTE_US | PTE_A;
	((u64 *)pdpt_pa)[0] = pd_pa | PTE_P | PTE_RW | PTE_US | PTE_A;
	return idx;
}

unsigned int pks_env_map_region(unsigned int count, u64 *pages, u64 *base)
{
	u64 pg, *pd;
	unsigned int slot;

	if (count < PKS_PG_APP || pks_env_alloc_pages(count, pages) < 0)
		return 0;
	pg = *pages;
	slot = pks_env_add_region((u64 *)(pg + PKS_PG_PML4 * 4096ull),
				  pg + PKS_PG_PDPT * 4096ull, pg + PKS_PG_PD * 4096ull);
	if (!slot)
		return 0;
	pd = (u64 *)(pg + PKS_PG_PD * 4096ull);
	pd[0] = (pg + PKS_PG_PT * 4096ull) | PTE_P | PTE_RW | PTE_US | PTE_A;
	*base = (u64)slot << 39;
	return slot;
}

const char *pks_env_missing(void)
{
	if (!pksv_present())
		return "pksvisor not present (CPUID 0x40000000)";
	/* CPUID.(EAX=7,ECX=0):ECX[31] enumerates PKS (SDM Vol. 2A, CPUID). */
	if (cpuid(0, 0).eax < 7 || !(cpuid(7, 0).ecx & (1u << 31)))
		return "CPUID.(7,0):ECX[31] (PKS) is clear";
	if (read_cr4() & CR4_LA57)
		return "5-level paging is active; this app builds 4-level tables";
	return NULL;
}

/* The firmware's IDT with our stubs on vectors 0-31 (not NMI). */
static void install_idt(u8 *idt)
{
	struct dtr d;
	u16 cs = read_cs();
	unsigned int v, i, n;

	n = (unsigned int)fw_idtr.limit + 1;
	if (n > 4096)
		n = 4096;
	for (i = 0; i < n; i++)
		idt[i] = ((u8 *)fw_idtr.base)[i];
	for (v = 0; v < 32; v++) {
		u64 h = (u64)pks_exc_stubs + 16ull * v;
		u8 *g = idt + 16 * v;

		if (v == 2)		/* NMI stays the firmware's */
			continue;
		g[0] = (u8)h;
		g[1] = (u8)(h >> 8);
		g[2] = (u8)cs;
		g[3] = (u8)(cs >> 8);
		g[4] = 0;		/* IST */
		g[5] = 0x8e;		/* present, DPL 0, 64-bit interrupt gate */
		g[6] = (u8)(h >> 16);
		g[7] = (u8)(h >> 24);
		for (i = 0; i < 4; i++)
			g[8 + i] = (u8)(h >> (32 + 8 * i));
		for (i = 12; i < 16; i++)
			g[i] = 0;
	}
	d.limit = 4095;
	d.base = (u64)idt;
	lidt(&d);
}

void pks_env_enter(u64 pml4_pa, void *idt_page, u64 cr0_set)
{
	fw_rflags = read_rflags();
	__asm__ volatile("cli" ::: "memory");
	fw_cr0 = read_cr0();
	fw_cr3 = read_cr3();
	fw_cr4 = read_cr4();
	sidt(&fw_idtr);
	install_idt(idt_page);
	fw_saved = 1;
	fw_pkrs = pks_probe_rdmsr(MSR_IA32_PKRS);
	pks_probe_wrmsr(MSR_IA32_PKRS, 0);
	if (cr0_set)
		write_cr0(fw_cr0 | cr0_set);
	write_cr3(pml4_pa);
	/* CR4.PKS only where it exists (#GP otherwise): the bench's native run. */
	write_cr4((fw_cr4 & ~(CR4_SMEP | CR4_SMAP | CR4_PKE)) |
		  ((cpuid(7, 0).ecx & (1u << 31)) ? CR4_PKS : 0));
}

void pks_env_leave(void)
{
	if (!fw_saved)
		return;
	fw_saved = 0;
	pks_fault_clear();
	pks_probe_wrmsr(MSR_IA32_PKRS, 0);
	write_cr0(fw_cr0);
	write_cr3(fw_cr3);
	write_cr4(fw_cr4);
	pks_probe_wrmsr(MSR_IA32_PKRS, fw_pkrs);
	lidt(&fw_idtr);
	if (fw_rflags & RFLAGS_IF)
		__asm__ volatile("sti" ::: "memory");
}
