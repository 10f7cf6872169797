/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * pks-env.h: the PKS test environment shared by pks-conformance.efi,
 * pksv-pv.efi, pksv-vmfunc.efi, pksv-hidden.efi, pksv-nohalt.efi,
 * pksv-features.efi and pksv-bench.efi.  They probe supervisor pages with
 * CR4.PKS set, under page tables and an IDT of their own, interrupts off,
 * and must give the firmware its state back before they call it again.
 * Linked into each app from pks-env.c, with the probes and exception stubs
 * of pks-asm.S.
 *
 * What stays in each app: its page layout (what its PT maps, any further
 * PTs and test pages), its cases, and the resume of exceptions outside the
 * four probes (resume_other).
 */
#ifndef PKSV_GUEST_EFI_PKS_ENV_H
#define PKSV_GUEST_EFI_PKS_ENV_H

#include "common.h"

#pragma GCC visibility push(hidden)

/* ---- control registers, MSRs, paging -------------------------------- */

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
#define X86_GP		13

#define PTE_P		0x001ull
#define PTE_RW		0x002ull
#define PTE_US		0x004ull
#define PTE_A		0x020ull
#define PTE_D		0x040ull
#define PTE_KEY(k)	((u64)(k) << 59)
#define PTE_ADDR	0x000ffffffffff000ull

static inline u64 read_cr0(void) { u64 v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline u64 read_cr2(void) { u64 v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline u64 read_cr3(void) { u64 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline u64 read_cr4(void) { u64 v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(u64 v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(u64 v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(u64 v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

/* XCR0 (XGETBV/XSETBV with ECX = 0), for the AVX gathers' cases. */
static inline u64 xgetbv0(void)
{
	u32 lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo | (u64)hi << 32;
}

static inline void xsetbv0(u64 v)
{
	__asm__ volatile("xsetbv" : : "a"((u32)v), "d"((u32)(v >> 32)), "c"(0));
}

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

/* ---- probes and the exception handler (pks-asm.S) ------------------- */

u64 pks_probe_read(const void *p);
void pks_probe_write(void *p, u64 v);
void pks_probe_call(void *target);
void pks_probe_wrmsr(u32 msr, u64 v);
u64 pks_probe_rdmsr(u32 msr);
extern char pks_probe_read_insn[], pks_probe_read_end[];
extern char pks_probe_write_insn[], pks_probe_write_end[];
extern char pks_probe_wrmsr_insn[], pks_probe_wrmsr_end[];
extern char pks_probe_rdmsr_insn[], pks_probe_rdmsr_end[];
extern char pks_exc_stubs[];

/* Field order is fixed by pks_exc_common in pks-asm.S. */
struct pks_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, ec, rip, cs, rflags, rsp, ss;
};

/* Called by pks_exc_common for every exception on vectors 0-31 but NMI. */
void pks_exc_c(struct pks_frame *f);

/*
 * The first exception a probe took (hit = 0: none) and how many were
 * taken since pks_fault_clear(); the cases read it after each probe.
 */
struct pks_fault {
	unsigned int hit;
	unsigned int count;
	u64 vector, ec, cr2, rip;
};
extern volatile struct pks_fault pks_fault;

void pks_fault_clear(void);

/* ---- setup, entering the test state and leaving it ------------------ */

/*
 * Before anything else: the system table (for AllocatePages and the
 * power-off), the app's last line ("PKSV-...: done", printed after a
 * "Bail out!" so the harness sees a complete run), and an optional
 * resume_other(f) for exceptions outside the four probes; it returns 1
 * when it has changed f so that the exception may return.  Any other
 * exception restores the firmware's state and powers off.  Then the
 * firmware's watchdog is turned off (a run outlasts its 5 minutes under
 * an emulator) and COM1 is set up, so the app may say() right away.
 */
void pks_env_init(EFI_SYSTEM_TABLE *st, const char *done_line,
		  int (*resume_other)(struct pks_frame *f));

/* count zeroed, identity-mapped pages from the firmware at *base; 0 or -1. */
int pks_env_alloc_pages(unsigned int count, u64 *base);

/*
 * Fill pml4 with a copy of the firmware's PML4 plus one lower-half entry
 * of our own (slot 254, 0x7f0000000000, when free): pml4[slot] -> pdpt_pa,
 * PDPT[0] -> pd_pa, both user and writable so that the leaves decide.
 * The PD entries are the app's.  Returns the slot, or 0 when none is free.
 */
unsigned int pks_env_add_region(u64 *pml4, u64 pdpt_pa, u64 pd_pa);

/*
 * The first pages of an app's allocation for pks_env_map_region, in this
 * order; the app's own pages (its IDT, test pages, more PTs) follow from
 * PKS_PG_APP on.
 */
enum { PKS_PG_PML4, PKS_PG_PDPT, PKS_PG_PD, PKS_PG_PT, PKS_PG_APP };

/*
 * The tables every app starts from: count pages from pks_env_alloc_pages
 * at *pages (laid out as above), pks_env_add_region's region over them,
 * and PD[0] -> PT, user and writable so that the PT's leaves decide; the
 * app fills the PT (and any further PD entries).  *base is the region's
 * linear base.  Returns the PML4 slot, or 0 (said on COM1) on failure.
 */
unsigned int pks_env_map_region(unsigned int count, u64 *pages, u64 *base);

/*
 * For the apps that need pksvisor, PKS and 4-level paging: NULL when
 * all are there, else what is missing (the app's "Bail out!" line).
 */
const char *pks_env_missing(void);

/*
 * Save the firmware's RFLAGS.IF, CR0, CR3, CR4, IDT and PKRS, disable
 * interrupts, load our IDT (built in idt_page: the firmware's, with
 * pks-asm.S stubs on vectors 0-31 but NMI), PKRS = 0, CR0 |= cr0_set
 * (CR0 is not written when cr0_set is 0), CR3 = pml4_pa, and CR4.PKS set
 * with SMEP, SMAP and PKE cleared (user pages are then governed by paging
 * alone).
 */
void pks_env_enter(u64 pml4_pa, void *idt_page, u64 cr0_set);

/* Give the firmware its state back (once; no-op when not entered). */
void pks_env_leave(void);

#pragma GCC visibility pop

#endif
