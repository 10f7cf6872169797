// SPDX-License-Identifier: MIT
/*
 * The host side of VMX root: pksvisor's own GDT, TSS, IDT and page tables.
 * The firmware's tables cannot be used: they live in boot-services memory
 * that the OS reclaims after ExitBootServices, and SetVirtualAddressMap
 * changes the firmware's view of memory.  Everything here is allocated
 * from the reserved pool, which the OS never reuses.
 */
#include <pksvisor/format.h>
#include <pksvisor/log.h>
#include "exit.h"
#include "host.h"
#include "shootdown.h"
#include <pksvisor/page_pool.h>
#include "vmx.h"

struct host_frame {
	struct guest_regs regs;		/* the interrupted host's GPRs */
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;
};

extern u64 host_exc_stubs[33];
extern u64 host_fixups[];
extern u64 host_fixups_count;

struct tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __attribute__((packed));

#define IST_CRITICAL	1	/* NMI, #DF, #MC: run on their own stack */
#define IST_STACK_SIZE	(4 * PAGE_SIZE)

static void set_idt_gate(u64 *idt, unsigned int vec, u64 handler, unsigned int ist)
{
	/* 64-bit interrupt gate, DPL 0, present (SDM Vol. 3A 6.14.1) */
	idt[vec * 2] = (handler & 0xffff) | ((u64)HOST_CS_SEL << 16) |
		       ((u64)ist << 32) | (0x8eull << 40) |
		       ((handler >> 16 & 0xffff) << 48);
	idt[vec * 2 + 1] = handler >> 32;
}

static int build_page_tables(struct hv *hv)
{
	/*
	 * Identity map [0, phys_limit): 1 GiB pages when the CPU has them
	 * (CPUID.80000001h:EDX[26]), else 2 MiB pages.  Attributes: WB via
	 * PAT entry 0; MMIO ranges get UC from the MTRRs, which stay in force
	 * in VMX root.
	 */
	u32 a, b, c, d;
	u64 pml4, limit = hv->phys_limit;
	bool gb;

	cpuid_count(0x80000001, 0, &a, &b, &c, &d);
	gb = d & BIT(26);
	pml4 = pool_alloc_page(&hv->pool);
	if (!pml4)
		return -1;
	for (u64 pa = 0; pa < limit; pa += 512 * SZ_1G) {
		u64 pdpt = pool_alloc_page(&hv->pool);
		u64 *pdpte = (u64 *)(uintptr_t)pdpt;

		if (!pdpt)
			return -1;
		((u64 *)(uintptr_t)pml4)[pa >> 39] = pdpt | 0x3;
		for (unsigned int i = 0; i < 512 && pa + i * SZ_1G < limit; i++) {
			u64 gpa = pa + i * SZ_1G;

			if (gb) {
				pdpte[i] = gpa | 0x83;	/* P, RW, PS */
				continue;
			}
			u64 pd = pool_alloc_page(&hv->pool);

			if (!pd)
				return -1;
			pdpte[i] = pd | 0x3;
			for (unsigned int j = 0; j < 512; j++)
				((u64 *)(uintptr_t)pd)[j] = (gpa + j * SZ_2M) | 0x83;
		}
	}
	hv->host_cr3 = pml4;
	return 0;
}

/*
 * Per CPU: a TSS cannot be shared (each CPU's IST stack must be its own,
 * or two NMIs in VMX root on two CPUs would share one stack), and its GDT
 * descriptor holds the TSS base, so each CPU has its own GDT too.
 */
int host_cpu_init(struct hv *hv, struct vcpu *vcpu)
{
	u64 gdt_pa = pool_alloc_page(&hv->pool);
	u64 tss_pa = pool_alloc_page(&hv->pool);
	u64 ist = pool_alloc_pages(&hv->pool, IST_STACK_SIZE / PAGE_SIZE);
	u64 *gdt = (u64 *)(uintptr_t)gdt_pa;
	struct tss64 *tss = (struct tss64 *)(uintptr_t)tss_pa;

	if (!gdt_pa || !tss_pa || !ist)
		return -1;

	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull;	/* 64-bit code, DPL 0 */
	gdt[2] = 0x00cf93000000ffffull;	/* data, DPL 0 */
	/* 64-bit TSS descriptor (16 bytes), type 9 = available */
	gdt[3] = (sizeof(*tss) - 1) | ((tss_pa & 0xffffff) << 16) |
		 (0x89ull << 40) | (((tss_pa >> 24) & 0xff) << 56);
	gdt[4] = tss_pa >> 32;

	tss->ist[IST_CRITICAL - 1] = ist + IST_STACK_SIZE;
	tss->iomap_base = sizeof(*tss);
	vcpu->host_gdt = gdt_pa;
	vcpu->host_tss = tss_pa;
	return 0;
}

int host_env_init(struct hv *hv)
{
	u64 idt_pa = pool_alloc_page(&hv->pool);
	u64 *idt = (u64 *)(uintptr_t)idt_pa;

	if (!idt_pa)
		return -1;
	for (unsigned int v = 0; v < 256; v++) {
		u64 handler = host_exc_stubs[v < 32 ? v : 32];
		unsigned int use_ist = (v == VEC_NMI || v == VEC_DF || v == VEC_MC) ?
				       IST_CRITICAL : 0;

		set_idt_gate(idt, v, handler, use_ist);
	}

	hv->host_idt = idt_pa;
	return build_page_tables(hv);
}

/*
 * Exceptions in VMX root.  A fault in a safe_* accessor returns its error
 * to the caller; an NMI belongs to the guest (pksvisor has no NMI source of
 * its own): it arrived while the CPU happened to run pksvisor, so it is
 * counted and injected at the guest's next NMI window, never lost
 * (vmm/inject.c, docs/vm-exits.md "The life of an NMI"); anything else is
 * a pksvisor bug: report and halt.
 */
void host_exception(struct host_frame *f)
{
	if (f->vector == VEC_NMI) {
		struct vcpu *vcpu = this_vcpu();

		/* A shootdown's NMI (vmm/shootdown.c) is not the guest's. */
		if (vcpu && !shootdown_nmi_claim(vcpu))
			inject_nmi_from_root(vcpu);
		return;
	}
	for (u64 i = 0; i < host_fixups_count; i++) {
		if (f->rip == host_fixups[i * 2]) {
			f->rip = host_fixups[i * 2 + 1];
			return;
		}
	}
	pksv_log("FATAL: host exception %llu error 0x%llx at rip 0x%llx rsp 0x%llx cr2 0x%llx",
		 f->vector, f->error, f->rip, f->rsp, read_cr2());
	pksv_log("FATAL: rax 0x%llx rbx 0x%llx rcx 0x%llx rdx 0x%llx rsi 0x%llx rdi 0x%llx",
		 f->regs.rax, f->regs.rbx, f->regs.rcx, f->regs.rdx,
		 f->regs.rsi, f->regs.rdi);
	pksv_halt();
}
