// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-hidden.efi: pksvisor's reservation is unreachable on every path
 * (docs/memory-layout.md, docs/threat-model.md), under pksvisor pks=soft
 * pks_mode=strict in Bochs (tests/harness/run-pksv-app.sh hidden).  Every
 * attempt must be refused, counted, and the guest must continue:
 *
 *  - multi-key alias: the reservation page R mapped with key 1 and key 2
 *    (page-table discovery records R as one page with two keys); under
 *    PKRS = WD(1)|WD(2) the views once gave R read+execute, under
 *    AD(1)|AD(2) execute: a read must still return all-ones and a fetch
 *    must still be refused;
 *  - read, write (dropped), fetch (#UD at the fetch, docs/memory-layout.md);
 *  - straddles: an 8-byte read across two reservation pages, a read and a
 *    write across a normal page and a reservation page, and a read across
 *    a page PKS allows through a step (key-0 alias of a key-1 page under
 *    AD(1)) and a reservation page - after which the key-1 page must be
 *    closed again;
 *  - one instruction touching the reservation and a page whose key denies
 *    the access, in both orders (straddling reads, MOVSQ, REP MOVSB over
 *    two reservation pages): the PK #PF, never a halt; a #PF in the middle
 *    of a stepped instruction ends the step (the PKS override, pksvisor's
 *    TF and an opened I/O port are gone in the guest's handler);
 *  - gathers over 8 reservation pages (all-ones) and over 32 (#GP(0));
 *  - Intel PT: CPUID.(7,0):EBX[25] and leaf 0x14 hidden, RTIT MSRs #GP;
 *  - IA32_APIC_BASE relocated into the reservation: #GP, base unchanged.
 * The counters (hidden_access, msr_refused; GET_COUNTER) must show it.
 */
#include "pks-env.h"

#include <pksvisor/hypercall.h>

#define X86_UD			6
#define MSR_IA32_APIC_BASE	0x1b
#define MSR_IA32_RTIT_OUTPUT_BASE 0x560
#define MSR_IA32_RTIT_CTL	0x570

static u64 counter(u64 id)
{
	u64 v = 0;

	return pksv_hc(PKSV_HC_GET_COUNTER, id, 0, 0, &v) == 0 ? v : ~0ull;
}

static EFI_SYSTEM_TABLE *g_st;

/* After pks_env_map_region's tables (PKS_PG_*). */
enum { PG_IDT = PKS_PG_APP, PG_N, PG_N2, PG_COUNT };

static u64 g_pages, g_base, g_r, g_r2;
static u64 g_alias1;		/* R with key 1 */
static u64 g_lin_n2;		/* N2 (key 0), followed by R: straddle */
static u64 g_lin_r;		/* R (key 0), followed by R2: straddle */
static u64 g_lin_n0;		/* N by a key-0 alias, followed by R: straddle */
static u64 g_alias_n1;		/* N with key 1 */
static u64 g_lin_rk;		/* R, followed by N with key 1 */
static u64 g_lin_kr;		/* N with key 1, followed by R */
static u64 g_lin_rrk;		/* R, R2, followed by N with key 1 */
static u64 g_lin_ro;		/* N2 read-only */
static u64 g_lin_pool;		/* 33 reservation pages, linearly contiguous */
static u64 g_lin_rn0;		/* R, followed by N through a key-0 alias */

/* UD2 with RSP on new_rsp: the #UD frame is pushed there. */
void hd_ud2_on_stack(u64 new_rsp);
extern char hd_ud2_insn[], hd_ud2_end[];
__asm__(".text\n"
	"hd_ud2_on_stack:\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	mov %rdi, %rsp\n"
	"hd_ud2_insn:\n"
	"	ud2\n"
	"hd_ud2_end:\n"
	"	mov %rbp, %rsp\n"
	"	pop %rbp\n"
	"	ret\n");

void hd_gather8(const void *base, const u32 *idx, u32 *out);
void hd_gather16(const void *base, const u32 *idx, u32 *out);
extern char hd_gather16_insn[], hd_gather16_end[];
__asm__(".text\n"
	"hd_gather8:\n"
	"	vmovdqu (%rsi), %ymm1\n"
	"	vpcmpeqd %ymm2, %ymm2, %ymm2\n"
	"	vpxor %ymm0, %ymm0, %ymm0\n"
	"	vpgatherdd %ymm2, (%rdi,%ymm1,1), %ymm0\n"
	"	vmovdqu %ymm0, (%rdx)\n"
	"	vzeroupper\n"
	"	ret\n"
	"hd_gather16:\n"
	"	vmovdqu32 (%rsi), %zmm1\n"
	"	kxnorw %k0, %k0, %k1\n"
	"	vpxord %zmm0, %zmm0, %zmm0\n"
	"hd_gather16_insn:\n"
	"	vpgatherdd (%rdi,%zmm1,1), %zmm0{%k1}\n"
	"hd_gather16_end:\n"
	"	vmovdqu32 %zmm0, (%rdx)\n"
	"	vzeroupper\n"
	"	ret\n");

/*
 * Set by the case that takes a #PF in the middle of a stepped MOVSQ: what
 * the #PF handler saw - RFLAGS.TF in its frame, and whether N's key-1
 * alias (AD(1)) was readable while it ran.
 */
static volatile int g_probe_in_pf;
static volatile u64 g_pf_frame_tf;
static volatile int g_pf_key_open;
static volatile int g_probe_port;	/* port whose interception the handler measures */
static volatile u64 g_port_exits;	/* VM exits of one IN from it in the handler */

static u64 exits_of_inb(u16 port);

/*
 * One MOVSQ / REP MOVSB whose fault the handler resumes after the
 * instruction (a fault leaves RSI/RDI/RCX where the CPU stopped).
 */
void hd_movsq(const void *src, void *dst);
u64 hd_rep_movsb(const void *src, void *dst, u64 n);
u64 hd_rep_insb(u16 port, void *dst, u64 n);
extern char hd_movsq_insn[], hd_movsq_end[], hd_movsb_insn[], hd_movsb_end[];
extern char hd_insb_insn[], hd_insb_end[];
__asm__(".text\n"
	"hd_movsq:\n"
	"	mov %rsi, %rax\n"
	"	mov %rdi, %rsi\n"
	"	mov %rax, %rdi\n"
	"	cld\n"
	"hd_movsq_insn:\n"
	"	movsq\n"
	"hd_movsq_end:\n"
	"	ret\n"
	"hd_rep_movsb:\n"
	"	mov %rsi, %rax\n"
	"	mov %rdi, %rsi\n"
	"	mov %rax, %rdi\n"
	"	mov %rdx, %rcx\n"
	"	cld\n"
	"hd_movsb_insn:\n"
	"	rep movsb\n"
	"hd_movsb_end:\n"
	"	mov %rcx, %rax\n"
	"	ret\n"
	"hd_rep_insb:\n"
	"	mov %rdx, %rcx\n"
	"	mov %edi, %edx\n"
	"	mov %rsi, %rdi\n"
	"	cld\n"
	"hd_insb_insn:\n"
	"	rep insb\n"
	"hd_insb_end:\n"
	"	mov %rcx, %rax\n"
	"	ret\n");

static u64 page_pa(unsigned int pg)
{
	return g_pages + (u64)pg * 4096;
}

static int setup_tables(void)
{
	u64 *pt;
	unsigned int idx;

	idx = pks_env_map_region(PG_COUNT, &g_pages, &g_base);
	if (!idx)
		return -1;
	pt = (u64 *)page_pa(PKS_PG_PT);
	/* R with two keys: discovery records a multi-key alias over it. */
	pt[0] = g_r | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(1);
	pt[1] = g_r | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(2);
	/* The same on a normal page, so the alias machinery is in use. */
	pt[2] = page_pa(PG_N) | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(1);
	pt[3] = page_pa(PG_N) | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(2);
	/* N2 then R, R then R2: linearly contiguous, for straddles. */
	pt[4] = page_pa(PG_N2) | PTE_P | PTE_RW | PTE_A | PTE_D;
	pt[5] = g_r | PTE_P | PTE_RW | PTE_A | PTE_D;
	pt[6] = g_r2 | PTE_P | PTE_RW | PTE_A | PTE_D;
	/* N through a key-0 alias, then R: a PKS-allowed page before R. */
	pt[7] = page_pa(PG_N) | PTE_P | PTE_RW | PTE_A | PTE_D;
	pt[8] = g_r | PTE_P | PTE_RW | PTE_A | PTE_D;
	/* R then N with key 1; N with key 1 then R: reservation + keyed. */
	pt[9] = g_r | PTE_P | PTE_RW | PTE_A | PTE_D;
	pt[10] = page_pa(PG_N) | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(1);
	pt[11] = page_pa(PG_N) | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(1);
	pt[12] = g_r | PTE_P | PTE_RW | PTE_A | PTE_D;
	/* R, R2 then N with key 1: two reservation pages before a keyed one. */
	pt[13] = g_r | PTE_P | PTE_RW | PTE_A | PTE_D;
	pt[14] = g_r2 | PTE_P | PTE_RW | PTE_A | PTE_D;
	pt[15] = page_pa(PG_N) | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(1);
	/* 33 pages of the reservation in a row, for gathers (pool pages). */
	for (unsigned int i = 0; i < 33; i++)
		pt[32 + i] = (g_r + i * 0x1000ull) | PTE_P | PTE_RW | PTE_A | PTE_D;
	/* R then N through a key-0 alias: reservation, then a page PKS allows. */
	pt[65] = g_r | PTE_P | PTE_RW | PTE_A | PTE_D;
	pt[66] = page_pa(PG_N) | PTE_P | PTE_RW | PTE_A | PTE_D;
	/* N2 read-only (supervisor, key 0): a write #PF the CPU raises. */
	pt[16] = page_pa(PG_N2) | PTE_P | PTE_A | PTE_D;
	g_alias1 = g_base;
	g_lin_n2 = g_base + 0x4000;
	g_lin_r = g_base + 0x5000;
	g_lin_n0 = g_base + 0x7000;
	g_alias_n1 = g_base + 0x2000;
	g_lin_rk = g_base + 0x9000;
	g_lin_kr = g_base + 0xb000;
	g_lin_rrk = g_base + 0xd000;
	g_lin_ro = g_base + 0x10000;
	g_lin_pool = g_base + 0x20000;
	g_lin_rn0 = g_base + 0x41000;
	say("# R at 0x%llx (reservation), key-1 alias 0x%llx, straddles at 0x%llx and 0x%llx",
	    g_r, g_alias1, g_lin_n2 + 0xffc, g_lin_r + 0xffc);
	return 0;
}

/* ---- fetch resume ----------------------------------------------------- */

static volatile u64 fetch_target;

/* A refused fetch of the called page: the guest gets #UD there; do the ret. */
static int resume_fetch(struct pks_frame *f)
{
	if (f->rip == (u64)hd_movsq_insn) {
		if (g_probe_in_pf && f->vector == X86_PF) {
			unsigned int c = pks_fault.count;

			g_probe_in_pf = 0;
			g_pf_frame_tf = f->rflags & (1ull << 8);
			(void)pks_probe_read((const void *)(g_alias_n1 + 0x20));
			g_pf_key_open = pks_fault.count == c;
		}
		f->rip = (u64)hd_movsq_end;
		return 1;
	}
	if (f->rip == (u64)hd_ud2_insn && f->vector == X86_UD) {
		unsigned int c = pks_fault.count;

		g_pf_frame_tf = f->rflags & (1ull << 8);
		(void)pks_probe_read((const void *)(g_alias_n1 + 0x20));
		g_pf_key_open = pks_fault.count == c;
		f->rip = (u64)hd_ud2_end;
		return 1;
	}
	if (f->rip == (u64)hd_gather16_insn && f->vector == X86_GP) {
		f->rip = (u64)hd_gather16_end;
		return 1;
	}
	if (f->rip == (u64)hd_insb_insn) {
		if (g_probe_port && f->vector == X86_PF) {
			g_port_exits = exits_of_inb((u16)g_probe_port);
			g_probe_port = 0;
		}
		f->rip = (u64)hd_insb_end;
		return 1;
	}
	if (f->rip == (u64)hd_movsb_insn) {
		f->rip = (u64)hd_movsb_end;
		return 1;
	}
	if (fetch_target && f->rip == fetch_target) {
		f->rip = *(u64 *)f->rsp;
		f->rsp += 8;
		return 1;
	}
	return 0;
}

/* ---- checks ------------------------------------------------------------ */

#define PLAN	39

static void check_read_ones(const char *what, u64 va)
{
	u64 v;

	pks_fault_clear();
	v = pks_probe_read((const void *)va);
	tap_ok(!pks_fault.hit && v == ~0ull, "%s: reads all-ones, no fault (read 0x%llx, %s vec %llu)",
	       what, v, pks_fault.hit ? "fault" : "no fault", pks_fault.vector);
}

static void check_fetch_ud(const char *what, u64 va)
{
	pks_fault_clear();
	fetch_target = va;
	pks_probe_call((void *)va);
	fetch_target = 0;
	tap_ok(pks_fault.hit && pks_fault.count == 1 && pks_fault.vector == X86_UD &&
	       pks_fault.rip == va, "%s: #UD at the fetch, guest continues (%s vec %llu rip %s)",
	       what, pks_fault.hit ? "fault" : "no fault", pks_fault.vector,
	       pks_fault.rip == va ? "=target" : "!=target");
}

static void check_gp(const char *what, int is_write, u32 msr, u64 val)
{
	pks_fault_clear();
	if (is_write)
		pks_probe_wrmsr(msr, val);
	else
		(void)pks_probe_rdmsr(msr);
	tap_ok(pks_fault.hit && pks_fault.vector == X86_GP, "%s: #GP (%s vec %llu)", what,
	       pks_fault.hit ? "fault" : "no fault", pks_fault.vector);
}

/* VM exits one IN from port costs (1: intercepted, 0: let through). */
static u64 exits_of_inb(u16 port)
{
	u64 c0 = counter(PKSV_CTR_EXITS), c1;

	(void)inb(port);
	c1 = counter(PKSV_CTR_EXITS);
	return c1 - c0 - 1;	/* minus the second GET_COUNTER */
}

static void check_pk_fault(const char *what, u64 ec, u64 rip)
{
	tap_ok(pks_fault.hit && pks_fault.count == 1 && pks_fault.vector == X86_PF &&
	       pks_fault.ec == ec && (!rip || pks_fault.rip == rip),
	       "%s: #PF ec 0x%llx, guest continues (%s vec %llu ec 0x%llx count %u rip %s)",
	       what, ec, pks_fault.hit ? "fault" : "no fault", pks_fault.vector,
	       pks_fault.ec, pks_fault.count, !rip || pks_fault.rip == rip ? "ok" : "wrong");
}

/*
 * One instruction that touches pksvisor's reservation and a page whose key
 * denies the access (pks_mode=strict): the keyed page decides, the guest
 * gets the PK #PF a CPU with PKS gives (SDM Vol. 3A 4.6.2), never a halt.
 * N's data must be untouched and the reservation still hidden afterwards.
 */
static void run_keyed_cases(void)
{
	volatile u64 *n = (volatile u64 *)page_pa(PG_N);
	u64 v, left;
	u8 buf[16];

	*n = 0x0102030405060708ull;
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_AD(1));
	pks_fault_clear();
	(void)pks_probe_read((const void *)(g_lin_rk + 0xffc));
	check_pk_fault("pkrs=ad(1), 8-byte read straddling R then a key-1 page", 0x21, 0);
	/* R first, then a page PKS allows: all-ones half, then N's bytes. */
	pks_fault_clear();
	v = pks_probe_read((const void *)(g_lin_rn0 + 0xffc));
	tap_ok(!pks_fault.hit && v == 0x05060708ffffffffull,
	       "pkrs=ad(1), 8-byte read straddling R then a PKS-allowed page: all-ones, then the allowed half (0x%llx, %s vec %llu ec 0x%llx)",
	       v, pks_fault.hit ? "fault" : "no fault", pks_fault.vector, pks_fault.ec);
	pks_fault_clear();
	(void)pks_probe_read((const void *)(g_lin_kr + 0xffc));
	check_pk_fault("pkrs=ad(1), 8-byte read straddling a key-1 page then R", 0x21, 0);
	pks_fault_clear();
	hd_movsq((const void *)g_r, (void *)g_alias_n1);
	check_pk_fault("pkrs=ad(1), MOVSQ R -> key-1 page", 0x23, (u64)hd_movsq_insn);
	pks_fault_clear();
	hd_movsq((const void *)g_alias_n1, (void *)(g_r + 0x100));
	check_pk_fault("pkrs=ad(1), MOVSQ key-1 page -> R", 0x21, (u64)hd_movsq_insn);
	pks_fault_clear();
	left = hd_rep_movsb((const void *)(g_lin_rrk + 0xff8), (void *)g_alias_n1, 16);
	check_pk_fault("pkrs=ad(1), REP MOVSB R,R2 -> key-1 page", 0x23, (u64)hd_movsb_insn);
	pks_fault_clear();
	(void)pks_probe_read((const void *)(g_lin_rrk + 0x1ffc));
	check_pk_fault("pkrs=ad(1), 8-byte read straddling R2 then a key-1 page", 0x21, 0);
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_WD(1));
	pks_fault_clear();
	hd_movsq((const void *)g_r, (void *)g_alias_n1);
	check_pk_fault("pkrs=wd(1), MOVSQ R -> key-1 page", 0x23, (u64)hd_movsq_insn);
	pks_fault_clear();
	left = hd_rep_movsb((const void *)g_alias_n1, buf, 16);
	tap_ok(!pks_fault.hit && !left, "pkrs=wd(1), the key-1 page still reads (%s, rcx %llu)",
	       pks_fault.hit ? "fault" : "no fault", left);
	/*
	 * The read of the stepped MOVSQ is allowed (N through its key-0
	 * alias: one override opens N in the AD(1) view), its write hits a
	 * read-only page: the #PF ends the instruction, so the override must
	 * be closed (and pksvisor's TF gone) before the guest's handler runs.
	 */
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_AD(1));
	pks_fault_clear();
	g_probe_in_pf = 1;
	hd_movsq((const void *)g_lin_n0, (void *)g_lin_ro);
	g_probe_in_pf = 0;
	tap_ok(pks_fault.vector == X86_PF && pks_fault.ec == 0x3 && !g_pf_key_open,
	       "pkrs=ad(1), MOVSQ allowed page -> read-only page: #PF(W), N closed in the handler (vec %llu ec 0x%llx, key-1 alias %s)",
	       pks_fault.vector, pks_fault.ec, g_pf_key_open ? "READABLE" : "faults");
	tap_ok(!g_pf_frame_tf, "... and the #PF frame carries no pksvisor TF (rflags.TF %d)",
	       !!g_pf_frame_tf);
	/*
	 * REP INSB from an intercepted port (0xCF9: reading it is harmless;
	 * the ACPI PM1 control ports work the same way) into a read-only
	 * page: pksvisor lets the port through for one step, the write #PF
	 * ends the instruction - the port must be intercepted again before
	 * the guest's #PF handler runs (else the handler could reach PM1
	 * control natively: S3 past pksvisor).
	 */
	tap_ok(exits_of_inb(0xcf9) == 1, "IN from 0xcf9 exits (%llu exits)", exits_of_inb(0xcf9));
	pks_fault_clear();
	g_port_exits = ~0ull;
	g_probe_port = 0xcf9;
	(void)hd_rep_insb(0xcf9, (void *)g_lin_ro, 2);
	g_probe_port = 0;
	tap_ok(pks_fault.vector == X86_PF && pks_fault.ec == 0x3 && g_port_exits == 1,
	       "REP INSB 0xcf9 -> read-only page: #PF(W), port intercepted again in the handler (vec %llu ec 0x%llx, IN exits %llu)",
	       pks_fault.vector, pks_fault.ec, g_port_exits);
	/*
	 * An event delivered onto a stack PKS allows (N through its key-0
	 * alias while AD(1) closes N in the view): the frame's write is let
	 * through one override - which must not stay open, nor pksvisor's TF
	 * sit in the frame, while the guest's handler runs.
	 */
	pks_fault_clear();
	g_pf_key_open = 0;
	g_pf_frame_tf = 0;
	hd_ud2_on_stack(g_lin_n0 + 0xf00);
	tap_ok(pks_fault.vector == X86_UD && !g_pf_key_open && !g_pf_frame_tf,
	       "pkrs=ad(1), #UD delivered onto a PKS-allowed stack: N closed in the handler, no pksvisor TF (vec %llu, key-1 alias %s, frame TF %d)",
	       pks_fault.vector, g_pf_key_open ? "READABLE" : "faults", !!g_pf_frame_tf);
	pks_probe_wrmsr(MSR_IA32_PKRS, 0);
	v = *n;
	tap_ok(v == 0x0102030405060708ull && pks_probe_read((const void *)g_r) == ~0ull,
	       "N untouched (0x%llx), R still hidden", v);
}

/*
 * Gathers over many reservation pages in one instruction: 8 pages (within
 * the per-instruction limit, HIDDEN_MAX_PAGES = 16) read as all-ones like
 * any refused read; 16 elements each straddling two pages (32 pages, over
 * the limit) end with the documented #GP(0) - never a halt.
 */
static void run_gather_cases(void)
{
	u32 idx[16], out[16];
	u64 cr4 = read_cr4(), xcr0;
	struct cpuid_regs r = cpuid(7, 0);
	int avx2 = !!(r.ebx & (1u << 5)), avx512 = !!(r.ebx & (1u << 16));
	unsigned int i, ones = 0;

	if (!avx2 || !(cpuid(1, 0).ecx & (1u << 26))) {
		tap_skip("VPGATHERDD over 8 reservation pages", "no AVX2");
		tap_skip("VPGATHERDD over 32 reservation pages", "no AVX2");
		return;
	}
	if (!(cr4 & (1ull << 18)))
		write_cr4(cr4 | (1ull << 18));
	xcr0 = xgetbv0();
	xsetbv0(xcr0 | (avx512 ? 0xe7 : 7));
	for (i = 0; i < 8; i++) {
		idx[i] = i * 0x1000 + 0x40 * i;
		out[i] = 0;
	}
	pks_fault_clear();
	hd_gather8((const void *)g_lin_pool, idx, out);
	for (i = 0; i < 8; i++)
		ones += out[i] == ~0u;
	tap_ok(!pks_fault.hit && ones == 8,
	       "VPGATHERDD over 8 reservation pages: %u/8 all-ones (%s vec %llu)",
	       ones, pks_fault.hit ? "fault" : "no fault", pks_fault.vector);
	if (!avx512) {
		tap_skip("VPGATHERDD over 32 reservation pages", "no AVX-512");
	} else {
		for (i = 0; i < 16; i++)
			idx[i] = i * 0x2000 + 0xffe;	/* straddles page 2i, 2i+1 */
		pks_fault_clear();
		hd_gather16((const void *)g_lin_pool, idx, out);
		tap_ok(!pks_fault.hit || (pks_fault.vector == X86_GP && pks_fault.ec == 0),
		       "VPGATHERDD over 32 reservation pages: all-ones or #GP(0), guest continues (%s vec %llu)",
		       pks_fault.hit ? "fault" : "no fault", pks_fault.vector);
	}
	xsetbv0(xcr0);
	write_cr4(cr4);
}

static void run_cases(void)
{
	u64 h0 = counter(PKSV_CTR_HIDDEN_ACCESS), m0 = counter(PKSV_CTR_MSR_REFUSED), h1, m1;
	u64 n2_last = 0x0123456789abcdefull, v, apic, apic_after;
	struct cpuid_regs r;
	long long rax;

	/* 1-3: multi-key alias over R, views that once opened it. */
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_WD(1) | PKRS_WD(2));
	check_read_ones("pkrs=wd(1)|wd(2), R by identity", g_r);
	check_read_ones("pkrs=wd(1)|wd(2), R by its key-1 alias", g_alias1 + 0x40);
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_AD(1) | PKRS_AD(2));
	check_read_ones("pkrs=ad(1)|ad(2), R by identity", g_r + 0x80);
	/* 4-5: fetches (the AD view once made R execute-only) */
	check_fetch_ud("pkrs=ad(1)|ad(2), fetch of R", g_lin_r);
	pks_probe_wrmsr(MSR_IA32_PKRS, 0);
	check_fetch_ud("pkrs=0, fetch of R", g_lin_r + 0x10);

	/* 6: a write is dropped */
	pks_fault_clear();
	pks_probe_write((void *)g_r, 0x5a5a5a5a5a5a5a5aull);
	v = pks_probe_read((const void *)g_r);
	tap_ok(!pks_fault.hit && v == ~0ull, "write of R dropped (read back 0x%llx, %s)", v,
	       pks_fault.hit ? "fault" : "no fault");

	/* 7-9: straddles */
	check_read_ones("8-byte read straddling R and R2", g_lin_r + 0xffc);
	*(volatile u32 *)(page_pa(PG_N2) + 0xffc) = (u32)n2_last;
	pks_fault_clear();
	v = pks_probe_read((const void *)(g_lin_n2 + 0xffc));
	tap_ok(!pks_fault.hit && v == (0xffffffff00000000ull | (u32)n2_last),
	       "8-byte read straddling a normal page and R: normal half, then all-ones (0x%llx)", v);
	pks_fault_clear();
	pks_probe_write((void *)(g_lin_n2 + 0xffc), 0x1122334455667788ull);
	v = pks_probe_read((const void *)g_r);
	tap_ok(!pks_fault.hit && *(volatile u32 *)(page_pa(PG_N2) + 0xffc) == 0x55667788 &&
	       v == ~0ull, "8-byte write straddling a normal page and R: normal half written, R untouched (0x%x, R 0x%llx)",
	       *(volatile u32 *)(page_pa(PG_N2) + 0xffc), v);

	/*
	 * 10-11: a straddle whose first page PKS allows (N through its key-0
	 * alias while AD(1) closes N in the view: one step with N opened) and
	 * whose second page is R.  Both refusals and the PKS opening must end
	 * with the step: afterwards N's key-1 alias faults again.
	 */
	*(volatile u32 *)(page_pa(PG_N) + 0xffc) = 0xa1b2c3d4;
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_AD(1));
	pks_fault_clear();
	v = pks_probe_read((const void *)(g_lin_n0 + 0xffc));
	tap_ok(!pks_fault.hit && v == 0xffffffffa1b2c3d4ull,
	       "8-byte read straddling a PKS-allowed page and R: allowed half, then all-ones (0x%llx, %s)",
	       v, pks_fault.hit ? "fault" : "no fault");
	pks_fault_clear();
	(void)pks_probe_read((const void *)(g_alias_n1 + 0x10));
	tap_ok(pks_fault.hit && pks_fault.vector == X86_PF && pks_fault.ec == 0x21,
	       "after it, pkrs=ad(1) still closes N's key-1 alias (%s vec %llu ec 0x%llx)",
	       pks_fault.hit ? "fault" : "no fault", pks_fault.vector, pks_fault.ec);
	pks_probe_wrmsr(MSR_IA32_PKRS, 0);

	run_keyed_cases();
	run_gather_cases();

	h1 = counter(PKSV_CTR_HIDDEN_ACCESS);
	tap_ok(h0 != ~0ull && h1 != ~0ull && h1 - h0 >= 11,
	       "hidden_access counted every refusal (+%llu, want >= 11)", h1 - h0);

	/* 11-15: Intel PT */
	r = cpuid(7, 0);
	tap_ok(!(r.ebx & (1u << 25)), "CPUID.(7,0):EBX[25] (Intel PT) hidden (ebx 0x%x)", r.ebx);
	r = cpuid(0x14, 0);
	tap_ok(!r.eax && !r.ebx && !r.ecx && !r.edx, "CPUID leaf 0x14 all zeros (%x %x %x %x)",
	       r.eax, r.ebx, r.ecx, r.edx);
	check_gp("RDMSR IA32_RTIT_CTL", 0, MSR_IA32_RTIT_CTL, 0);
	check_gp("WRMSR IA32_RTIT_OUTPUT_BASE = R", 1, MSR_IA32_RTIT_OUTPUT_BASE, g_r);
	m1 = counter(PKSV_CTR_MSR_REFUSED);
	tap_ok(m0 != ~0ull && m1 == m0 + 2, "msr_refused counted both (+%llu)", m1 - m0);

	/* 16-19: APIC base relocation */
	pks_fault_clear();
	apic = pks_probe_rdmsr(MSR_IA32_APIC_BASE);
	check_gp("WRMSR IA32_APIC_BASE into the reservation", 1, MSR_IA32_APIC_BASE,
		 g_r | (apic & 0xfff));
	pks_fault_clear();
	apic_after = pks_probe_rdmsr(MSR_IA32_APIC_BASE);
	tap_ok(!pks_fault.hit && apic_after == apic, "IA32_APIC_BASE unchanged (0x%llx, was 0x%llx)",
	       apic_after, apic);
	if (apic_after != apic)
		pks_probe_wrmsr(MSR_IA32_APIC_BASE, apic);	/* put it back */
	m1 = counter(PKSV_CTR_MSR_REFUSED);
	tap_ok(m1 == m0 + 3, "msr_refused counted the relocation (+%llu, want 3)", m1 - m0);
	pks_fault_clear();
	pks_probe_wrmsr(MSR_IA32_APIC_BASE, apic);
	tap_ok(!pks_fault.hit, "WRMSR IA32_APIC_BASE with its own value still works (%s)",
	       pks_fault.hit ? "fault" : "no fault");

	/* 20: still alive, hypercalls answer */
	v = 0;
	rax = pksv_hc(PKSV_HC_NOP, 0x1234, 0, 0, &v);
	tap_ok(rax == 0 && v == ~0x1234ull,
	       "the guest continues: NOP hypercall answers (rax %lld, 0x%llx)", rax, v);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	const char *missing;

	InitializeLib(image, st);
	g_st = st;
	pks_env_init(st, "PKSV-HIDDEN: done", resume_fetch);

	say("PKSV-HIDDEN: start");
	say("1..%u", PLAN);
	if ((missing = pks_env_missing())) {
		say("Bail out! %s", missing);
	} else if (pksv_hc(PKSV_HC_SELFTEST_INFO, 0, 0, 0, &g_r) != 0 || !g_r || (g_r & 0xfff)) {
		say("Bail out! SELFTEST_INFO gave no page of pksvisor memory");
	} else if ((g_r2 = g_r + 0x1000), setup_tables() < 0) {
		say("Bail out! could not set up page tables");
	} else {
		/* CR4.PKS makes pksvisor scan our tables (discovery mode). */
		pks_env_enter(page_pa(PKS_PG_PML4), (void *)page_pa(PG_IDT), CR0_WP);
		run_cases();
		pks_probe_wrmsr(MSR_IA32_PKRS, 0);
		pks_env_leave();
	}
	say("# %u checks, %u failed", tap_num, tap_failed);
	say("PKSV-HIDDEN: done");
	power_off(g_st);
	return EFI_SUCCESS;
}
