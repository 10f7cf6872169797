// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-pv.efi: the paravirtual PKS hypercalls (docs/hypercalls.md) seen
 * from a guest, under pksvisor pks=soft pks_mode=strict
 * (tests/harness/run-pksv-pv.sh).
 *
 * A page P (allocated from the firmware, identity mapped with key 0) gets
 * a second, supervisor mapping with key 3 in a linear region of our own.
 * With P registered (RANGE_REGISTER), the cases check that PKRS.AD(3)
 * denies reads through that alias (#PF ec 0x21, CR2 = the alias), that
 * UNPROTECT_PAGE / PROTECT_PAGE open and close P alone, that GRANT / REVOKE
 * open and close key 3 for this vCPU, and that after LOCK_KEY(3) a WRMSR
 * of PKRS = 0 no longer opens key 3 (RDMSR still returns 0) while GRANT
 * still does.
 *
 * The machinery is that of pks-conformance.c (copied, minimal): a copy of
 * the firmware's PML4 with one extra entry, our own IDT whose #PF / #GP
 * handlers record the fault and resume after the probe instruction
 * (pks-asm.S), CR4.PKS set, interrupts off; the firmware's PKRS, CR0, CR3,
 * CR4, IDT and RFLAGS.IF are restored before the last lines are printed.
 * P is not freed: key 3 stays locked for the rest of the boot.
 */
#include "common.h"

#include <pksvisor/hypercall.h>

#define CR0_WP		(1ull << 16)
#define CR4_LA57	(1ull << 12)
#define CR4_SMEP	(1ull << 20)
#define CR4_SMAP	(1ull << 21)
#define CR4_PKE		(1ull << 22)
#define CR4_PKS		(1ull << 24)
#define MSR_IA32_PKRS	0x6e1
#define RFLAGS_IF	(1ull << 9)

#define PKRS_AD(k)	(1u << (2 * (k)))
#define PKRS_WD(k)	(1u << (2 * (k) + 1))

#define X86_PF		14
#define EC_READ		0x21		/* P | PK */
#define EC_WRITE	0x23		/* P | W | PK */

#define KEY		3

static inline u64 read_cr0(void) { u64 v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline u64 read_cr2(void) { u64 v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline u64 read_cr3(void) { u64 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline u64 read_cr4(void) { u64 v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(u64 v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(u64 v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(u64 v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

static inline u64 read_rflags(void)
{
	u64 v;

	__asm__ volatile("pushfq; pop %0" : "=r"(v));
	return v;
}

struct __attribute__((packed)) dtr {
	u16 limit;
	u64 base;
};

static inline void sidt(struct dtr *d) { __asm__ volatile("sidt %0" : "=m"(*d)); }
static inline void lidt(const struct dtr *d) { __asm__ volatile("lidt %0" : : "m"(*d)); }

static inline u16 read_cs(void)
{
	u16 v;

	__asm__ volatile("mov %%cs, %0" : "=r"(v));
	return v;
}

/* VMCALL with three arguments; returns RAX (0 or -PKSV_E*). */
static inline long long hc(u32 nr, u64 a0, u64 a1, u64 a2, u64 *out)
{
	u64 rax = PKSV_HC_RAX(nr), rbx = a0, rcx = a1, rdx = a2;

	__asm__ volatile("vmcall" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx)
			 : : "memory");
	if (out)
		*out = rbx;
	return (long long)rax;
}

/* ---- probes and the exception handler (pks-asm.S) ------------------- */

#define HIDDEN __attribute__((visibility("hidden")))

extern u64 pks_probe_read(const void *p) HIDDEN;
extern void pks_probe_write(void *p, u64 v) HIDDEN;
extern void pks_probe_wrmsr(u32 msr, u64 v) HIDDEN;
extern u64 pks_probe_rdmsr(u32 msr) HIDDEN;
extern char pks_probe_read_insn[] HIDDEN, pks_probe_read_end[] HIDDEN;
extern char pks_probe_write_insn[] HIDDEN, pks_probe_write_end[] HIDDEN;
extern char pks_probe_wrmsr_insn[] HIDDEN, pks_probe_wrmsr_end[] HIDDEN;
extern char pks_probe_rdmsr_insn[] HIDDEN, pks_probe_rdmsr_end[] HIDDEN;
extern char pks_exc_stubs[] HIDDEN;

/* Field order is fixed by pks_exc_common in pks-asm.S. */
struct pks_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, ec, rip, cs, rflags, rsp, ss;
};

static volatile struct {
	unsigned int hit;
	unsigned int count;
	u64 vector, ec, cr2, rip;
} fault;

static EFI_SYSTEM_TABLE *g_st;

static void restore_firmware_state(void);

void pks_exc_c(struct pks_frame *f) HIDDEN;
void pks_exc_c(struct pks_frame *f)
{
	u64 cr2 = read_cr2();
	const char *insn[4] = { pks_probe_read_insn, pks_probe_write_insn,
				pks_probe_wrmsr_insn, pks_probe_rdmsr_insn };
	const char *end[4] = { pks_probe_read_end, pks_probe_write_end,
			       pks_probe_wrmsr_end, pks_probe_rdmsr_end };
	unsigned int i;

	if (!fault.hit) {
		fault.hit = 1;
		fault.vector = f->vector;
		fault.ec = f->ec;
		fault.cr2 = cr2;
		fault.rip = f->rip;
	}
	fault.count++;
	if (fault.count > 16)
		goto bail;
	for (i = 0; i < 4; i++)
		if (f->rip == (u64)insn[i]) {
			f->rip = (u64)end[i];
			return;
		}
bail:
	say("Bail out! unexpected exception: vector %u ec 0x%llx rip 0x%llx cr2 0x%llx",
	    (unsigned int)f->vector, f->ec, f->rip, cr2);
	restore_firmware_state();
	say("PKSV-PV: done");
	power_off(g_st);
}

static void fault_clear(void)
{
	fault.hit = 0;
	fault.count = 0;
	fault.vector = fault.ec = fault.cr2 = fault.rip = 0;
}

/* ---- page tables ---------------------------------------------------- */

enum { PG_PML4, PG_PDPT, PG_PD, PG_PT, PG_IDT, PG_P, PG_COUNT };

#define PTE_P		0x001ull
#define PTE_RW		0x002ull
#define PTE_US		0x004ull
#define PTE_A		0x020ull
#define PTE_D		0x040ull
#define PTE_KEY(k)	((u64)(k) << 59)
#define PTE_ADDR	0x000ffffffffff000ull

#define OFF_DATA	0x128		/* not page aligned: CR2 is exact */

static u64 g_pages;			/* physical = linear base of PG_COUNT pages */
static u64 g_base;			/* linear base of our region */
static u64 g_p;				/* physical address of P */
static u64 g_alias;			/* keyed (key 3) supervisor alias of P + OFF_DATA */
static u64 g_ident;			/* P + OFF_DATA through the identity map (key 0) */

static u64 fw_cr0, fw_cr3, fw_cr4, fw_pkrs, fw_rflags;
static struct dtr fw_idtr;
static int fw_saved;

static u64 page_pa(unsigned int pg)
{
	return g_pages + (u64)pg * 4096;
}

static int setup_tables(void)
{
	EFI_PHYSICAL_ADDRESS addr = 0;
	EFI_STATUS s;
	u64 *pml4, *fw_pml4, *pdpt, *pd, *pt;
	unsigned int i, idx = 0;

	s = uefi_call_wrapper(g_st->BootServices->AllocatePages, 4, AllocateAnyPages,
			      EfiLoaderData, (UINTN)PG_COUNT, &addr);
	if (EFI_ERROR(s)) {
		say("# AllocatePages(%u) failed: 0x%llx", (unsigned int)PG_COUNT, (u64)s);
		return -1;
	}
	g_pages = addr;
	for (i = 0; i < PG_COUNT * 512; i++)
		((u64 *)addr)[i] = 0;

	pml4 = (u64 *)page_pa(PG_PML4);
	fw_pml4 = (u64 *)(read_cr3() & PTE_ADDR);
	for (i = 0; i < 512; i++)
		pml4[i] = fw_pml4[i];
	for (i = 254; i >= 1; i--)
		if (!(pml4[i] & PTE_P)) {
			idx = i;
			break;
		}
	if (!idx) {
		say("# no free PML4 entry");
		return -1;
	}
	g_base = (u64)idx << 39;
	pdpt = (u64 *)page_pa(PG_PDPT);
	pd = (u64 *)page_pa(PG_PD);
	pt = (u64 *)page_pa(PG_PT);
	pml4[idx] = page_pa(PG_PDPT) | PTE_P | PTE_RW | PTE_US | PTE_A;
	pdpt[0] = page_pa(PG_PD) | PTE_P | PTE_RW | PTE_US | PTE_A;
	pd[0] = page_pa(PG_PT) | PTE_P | PTE_RW | PTE_US | PTE_A;

	g_p = page_pa(PG_P);
	/* The keyed alias: a supervisor leaf (U/S = 0) with key 3. */
	pt[0] = g_p | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(KEY);
	g_alias = g_base + OFF_DATA;
	g_ident = g_p + OFF_DATA;
	say("# P at 0x%llx, keyed alias at 0x%llx (PML4 slot %u)", g_p, g_base, idx);
	return 0;
}

static void install_idt(void)
{
	struct dtr d;
	u8 *idt = (u8 *)page_pa(PG_IDT);
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
		g[4] = 0;
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

static void enter_test_state(void)
{
	fw_rflags = read_rflags();
	__asm__ volatile("cli" ::: "memory");
	fw_cr0 = read_cr0();
	fw_cr3 = read_cr3();
	fw_cr4 = read_cr4();
	sidt(&fw_idtr);
	install_idt();
	fw_saved = 1;
	fw_pkrs = pks_probe_rdmsr(MSR_IA32_PKRS);
	pks_probe_wrmsr(MSR_IA32_PKRS, 0);
	write_cr0(fw_cr0 | CR0_WP);
	write_cr3(page_pa(PG_PML4));
	write_cr4((fw_cr4 & ~(CR4_SMEP | CR4_SMAP | CR4_PKE)) | CR4_PKS);
}

static void restore_firmware_state(void)
{
	if (!fw_saved)
		return;
	fw_saved = 0;
	fault_clear();
	pks_probe_wrmsr(MSR_IA32_PKRS, 0);
	write_cr0(fw_cr0);
	write_cr3(fw_cr3);
	write_cr4(fw_cr4);
	pks_probe_wrmsr(MSR_IA32_PKRS, fw_pkrs);
	lidt(&fw_idtr);
	if (fw_rflags & RFLAGS_IF)
		__asm__ volatile("sti" ::: "memory");
}

/* ---- checks -------------------------------------------------------- */

#define PLAN	22

static void check_hc(const char *what, long long rax)
{
	tap_ok(rax == 0, "%s returns 0 (got %lld)", what, rax);
}

/* A read of the keyed alias that must fault with #PF 0x21, CR2 = alias. */
static void check_read_faults(const char *what)
{
	fault_clear();
	(void)pks_probe_read((const void *)g_alias);
	tap_ok(fault.hit && fault.count == 1 && fault.vector == X86_PF &&
	       fault.ec == EC_READ && fault.cr2 == g_alias,
	       "%s: keyed read faults (%s vec %llu ec 0x%llx cr2 %s)", what,
	       fault.hit ? "fault" : "no fault", fault.vector, fault.ec,
	       fault.cr2 == g_alias ? "=alias" : "!=alias");
}

/* A read of the keyed alias that must succeed and return want. */
static void check_read_ok(const char *what, u64 want)
{
	u64 v;

	fault_clear();
	v = pks_probe_read((const void *)g_alias);
	tap_ok(!fault.hit && v == want,
	       "%s: keyed read ok (%s vec %llu ec 0x%llx, read 0x%llx want 0x%llx)", what,
	       fault.hit ? "fault" : "no fault", fault.vector, fault.ec, v, want);
}

/* A write through the keyed alias that must succeed (checked via identity). */
static void check_write_ok(const char *what, u64 val)
{
	u64 m;

	fault_clear();
	pks_probe_write((void *)g_alias, val);
	m = *(volatile u64 *)g_ident;
	tap_ok(!fault.hit && m == val,
	       "%s: keyed write ok (%s vec %llu ec 0x%llx, memory 0x%llx want 0x%llx)", what,
	       fault.hit ? "fault" : "no fault", fault.vector, fault.ec, m, val);
}

/* A write through the keyed alias that must fault with #PF 0x23. */
static void check_write_faults(const char *what, u64 val)
{
	u64 before = *(volatile u64 *)g_ident, m;

	fault_clear();
	pks_probe_write((void *)g_alias, val);
	m = *(volatile u64 *)g_ident;
	tap_ok(fault.hit && fault.count == 1 && fault.vector == X86_PF &&
	       fault.ec == EC_WRITE && fault.cr2 == g_alias && m == before,
	       "%s: keyed write faults (%s vec %llu ec 0x%llx cr2 %s, memory %s)", what,
	       fault.hit ? "fault" : "no fault", fault.vector, fault.ec,
	       fault.cr2 == g_alias ? "=alias" : "!=alias",
	       m == before ? "unchanged" : "changed");
}

static void run_cases(void)
{
	const u64 gfn = g_p >> 12;
	u64 r;

	*(volatile u64 *)g_ident = 0x1111;

	/* 1. register P as key 3 */
	check_hc("range_register(P, 4096, key 3)",
		 hc(PKSV_HC_RANGE_REGISTER, g_p, 4096, KEY, NULL));

	/* 2. AD(3): the keyed alias faults */
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_AD(KEY));
	check_read_faults("pkrs=ad(3)");

	/* 3. UNPROTECT_PAGE / PROTECT_PAGE with AD(3) */
	check_hc("unprotect_page(P, read|write)",
		 hc(PKSV_HC_UNPROTECT_PAGE, gfn, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE, 0, NULL));
	check_read_ok("unprotected, pkrs=ad(3)", 0x1111);
	check_write_ok("unprotected, pkrs=ad(3)", 0x2222);
	check_hc("protect_page(P)", hc(PKSV_HC_PROTECT_PAGE, gfn, 0, 0, NULL));
	check_read_faults("protected again, pkrs=ad(3)");

	/* 4. GRANT(3, READ) with AD(3)|WD(3), then REVOKE */
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_AD(KEY) | PKRS_WD(KEY));
	check_hc("grant(3, read) with pkrs=ad|wd(3)",
		 hc(PKSV_HC_GRANT, KEY, PKSV_ACCESS_READ, 0, NULL));
	check_read_ok("granted read", 0x2222);
	check_write_faults("granted read", 0x3333);
	check_hc("revoke(3)", hc(PKSV_HC_REVOKE, KEY, 0, 0, NULL));
	check_read_faults("revoked");

	/* 5. LOCK_KEY(3): PKRS = 0 no longer opens key 3, GRANT still does */
	check_hc("lock_key(3)", hc(PKSV_HC_LOCK_KEY, KEY, 0, 0, NULL));
	fault_clear();
	pks_probe_wrmsr(MSR_IA32_PKRS, 0);
	tap_ok(!fault.hit, "locked: wrmsr pkrs=0 (%s vec %llu)",
	       fault.hit ? "fault" : "no fault", fault.vector);
	check_read_faults("locked, pkrs=0");
	fault_clear();
	r = pks_probe_rdmsr(MSR_IA32_PKRS);
	tap_ok(!fault.hit && r == 0, "locked: rdmsr pkrs returns the guest's 0 (got 0x%llx, %s)",
	       r, fault.hit ? "fault" : "no fault");
	check_hc("locked: grant(3, read|write)",
		 hc(PKSV_HC_GRANT, KEY, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE, 0, NULL));
	check_read_ok("locked, granted read|write", 0x2222);
	check_write_ok("locked, granted read|write", 0x4444);
	check_hc("locked: revoke(3)", hc(PKSV_HC_REVOKE, KEY, 0, 0, NULL));
	check_read_faults("locked, revoked");
}

/* gnu-efi: efi_main is called through its own wrapper, so no EFIAPI. */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	struct cpuid_regs r;
	u64 ver = 0;
	int pks = 0;

	InitializeLib(image, st);
	g_st = st;
	uefi_call_wrapper(st->BootServices->SetWatchdogTimer, 4, 0, 0, 0, NULL);
	com1_init();

	say("PKSV-PV: start");
	say("1..%u", PLAN);
	r = cpuid(0, 0);
	if (r.eax >= 7)
		pks = !!(cpuid(7, 0).ecx & (1u << 31));

	if (!pksv_present()) {
		say("Bail out! pksvisor not present (CPUID 0x40000000)");
	} else if (!pks) {
		say("Bail out! CPUID.(7,0):ECX[31] (PKS) is clear");
	} else if (read_cr4() & CR4_LA57) {
		say("Bail out! 5-level paging is active; this app builds 4-level tables");
	} else if (setup_tables() < 0) {
		say("Bail out! could not set up page tables");
	} else {
		u64 rbx = 0;
		long long rax = hc(PKSV_HC_VERSION, 0, 0, 0, &rbx);

		(void)rax;
		ver = rbx;
		say("# pksvisor ABI 0x%llx; SMEP, SMAP and PKE are kept off during the cases", ver);
		enter_test_state();
		run_cases();
		pks_probe_wrmsr(MSR_IA32_PKRS, 0);
		check_hc("range_unregister(P, 4096)",
			 hc(PKSV_HC_RANGE_UNREGISTER, g_p, 4096, 0, NULL));
		restore_firmware_state();
	}
	say("# %u checks, %u failed", tap_num, tap_failed);
	say("PKSV-PV: done");
	power_off(g_st);
	return EFI_SUCCESS;
}
