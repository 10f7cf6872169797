// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-vmfunc.efi: VMFUNC cannot disarm PKS, and LOCK_KEY holds in pinned
 * views (docs/hypercalls.md VIEW_INDEX / LOCK_KEY), under pksvisor pks=soft
 * pks_mode=strict in Bochs (tests/harness/run-pksv-app.sh vmfunc).
 *
 * VMFUNC leaf 0 (EPTP switching) runs at every CPL without a VM exit when
 * the selected EPTP-list entry is valid.  pksvisor must keep every entry
 * that is not a view the kernel pinned invalid (so VMFUNC exits and the
 * guest gets #UD), build pinned views with locked keys closed, and follow
 * every switch (RDMSR IA32_PKRS after a VMFUNC returns the view's PKRS).
 *
 * Set-up: page P carries key 3 through a supervisor alias (registered with
 * RANGE_REGISTER), PKRS = AD(3)|WD(3).  Two views are pinned: PKRS 0 and
 * AD|WD(3).  Before LOCK_KEY(3) the open view opens P (pinned-view use keeps
 * working); after it, no view may.  Then, from CPL 0 and from CPL 3 (a user
 * code page that runs VMFUNC then HLT, back to ring 0 through our #UD/#GP
 * handler on a TSS stack), VMFUNC(0, i) for every i in 0..511, and after
 * each, at CPL 0: a read and a write of P's keyed alias must fault with
 * #PF(PK), a read of pksvisor's reservation (SELFTEST_INFO) must return
 * all-ones, RDMSR IA32_PKRS must say which view runs.  #UDs are counted
 * and compared with pksvisor's vmfunc_refused counter.
 */
#include "pks-env.h"

#include <pksvisor/hypercall.h>

#define EC_READ		0x21		/* P | PK */
#define EC_WRITE	0x23		/* P | W | PK */
#define X86_UD		6
#define KEY		3
#define PKRS_CLOSED	(PKRS_AD(KEY) | PKRS_WD(KEY))
#define NR_INDEX	512

static u64 counter(u64 id)
{
	u64 v = 0;

	return pksv_hc(PKSV_HC_GET_COUNTER, id, 0, 0, &v) == 0 ? v : ~0ull;
}

/* ring3-asm.S */
void ring3_run(u64 rip, u64 rsp, u32 ecx, u64 cs3, u64 ss3);
void vmfunc_probe(u32 index);
extern char ring3_back[], vmfunc_probe_insn[], vmfunc_probe_end[];
extern u64 ring3_kernel_rsp;

static EFI_SYSTEM_TABLE *g_st;

/* ---- pages ----------------------------------------------------------- */

/* After pks_env_map_region's tables (PKS_PG_*). */
enum { PG_IDT = PKS_PG_APP, PG_P, PG_UCODE, PG_USTACK, PG_GDT, PG_TSS, PG_KSTACK,
       PG_COUNT };

#define OFF_DATA	0x128

static u64 g_pages, g_base, g_p, g_alias, g_ident, g_hidden;
static u64 g_ucode, g_ustack_top, g_cs3, g_ss3, g_kss;

static u64 page_pa(unsigned int pg)
{
	return g_pages + (u64)pg * 4096;
}

struct __attribute__((packed)) gdtr {
	u16 limit;
	u64 base;
};

static struct gdtr fw_gdtr;

/* The firmware's GDT plus user data, user code (64-bit) and a TSS. */
static int setup_gdt_tss(void)
{
	u8 *gdt = (u8 *)page_pa(PG_GDT);
	u8 *tss = (u8 *)page_pa(PG_TSS);
	u64 *d, tss_base = (u64)tss, limit = 103;
	unsigned int n, i;
	struct gdtr g;
	u16 tr;

	__asm__ volatile("sgdt %0" : "=m"(fw_gdtr));
	n = ((unsigned int)fw_gdtr.limit + 1 + 7) & ~7u;
	if (n + 32 > 4096)
		return -1;
	for (i = 0; i < (unsigned int)fw_gdtr.limit + 1; i++)
		gdt[i] = ((u8 *)fw_gdtr.base)[i];
	d = (u64 *)(gdt + n);
	d[0] = 0x00cff2000000ffffull;		/* user data: P, DPL 3, RW */
	d[1] = 0x00affa000000ffffull;		/* user code: P, DPL 3, L */
	d[2] = (limit & 0xffff) | ((tss_base & 0xffffff) << 16) | (0x89ull << 40) |
	       (((limit >> 16) & 0xf) << 48) | (((tss_base >> 24) & 0xff) << 56);
	d[3] = tss_base >> 32;			/* 64-bit TSS, available */
	g_ss3 = n | 3;
	g_cs3 = (n + 8) | 3;
	tr = (u16)(n + 16);
	/* RSP0 (offset 4): the stack exceptions from ring 3 arrive on. */
	*(u64 *)(tss + 4) = page_pa(PG_KSTACK) + 4096;
	*(u16 *)(tss + 102) = 104;		/* no I/O bitmap */
	g.limit = (u16)(n + 32 - 1);
	g.base = (u64)gdt;
	__asm__ volatile("lgdt %0" : : "m"(g));
	__asm__ volatile("ltr %0" : : "r"(tr));
	__asm__ volatile("mov %%ss, %0" : "=r"(g_kss));
	return 0;
}

static void restore_gdt(void)
{
	/* TR keeps our TSS (never freed); the firmware's selectors are unchanged. */
	__asm__ volatile("lgdt %0" : : "m"(fw_gdtr));
}

static int setup_tables(void)
{
	u64 *pt;
	unsigned int idx;
	u8 *code;

	idx = pks_env_map_region(PG_COUNT, &g_pages, &g_base);
	if (!idx)
		return -1;
	pt = (u64 *)page_pa(PKS_PG_PT);
	g_p = page_pa(PG_P);
	pt[0] = g_p | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(KEY);
	pt[1] = page_pa(PG_UCODE) | PTE_P | PTE_US | PTE_A;
	pt[2] = page_pa(PG_USTACK) | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D;
	g_alias = g_base + OFF_DATA;
	g_ident = g_p + OFF_DATA;
	g_ucode = g_base + 0x1000;
	g_ustack_top = g_base + 0x3000;
	/* The user program: VMFUNC, then HLT (#GP at CPL 3) back to ring 0. */
	code = (u8 *)page_pa(PG_UCODE);
	code[0] = 0x0f;
	code[1] = 0x01;
	code[2] = 0xd4;
	code[3] = 0xf4;
	say("# P at 0x%llx, keyed alias at 0x%llx, user code at 0x%llx", g_p, g_alias, g_ucode);
	return 0;
}

/* ---- the exception side --------------------------------------------- */

static volatile unsigned int g_user_vector;	/* exception that ended the ring-3 run */

/* pks_exc_c's resume_other: a VMFUNC probe's #UD, or the end of a ring-3 run. */
static int resume(struct pks_frame *f)
{
	if (f->rip == (u64)vmfunc_probe_insn) {
		f->rip = (u64)vmfunc_probe_end;
		return 1;
	}
	if ((f->cs & 3) == 3) {
		g_user_vector = (unsigned int)f->vector;
		f->rip = (u64)ring3_back;
		f->cs = read_cs();
		f->ss = g_kss;
		f->rsp = ring3_kernel_rsp;
		return 1;
	}
	return 0;
}

/* ---- checks ------------------------------------------------------------ */

#define PLAN	20

static int alias_read_faults(void)
{
	pks_fault_clear();
	(void)pks_probe_read((const void *)g_alias);
	return pks_fault.hit && pks_fault.vector == X86_PF && pks_fault.ec == EC_READ &&
	       pks_fault.cr2 == g_alias;
}

static int alias_write_faults(void)
{
	u64 before = *(volatile u64 *)g_ident;

	pks_fault_clear();
	pks_probe_write((void *)g_alias, 0xbadbadbadull);
	return pks_fault.hit && pks_fault.vector == X86_PF && pks_fault.ec == EC_WRITE &&
	       *(volatile u64 *)g_ident == before;
}

/* VMFUNC(0, index) at CPL 0; 1 when it raised #UD. */
static int vmfunc0(u32 index)
{
	pks_fault_clear();
	vmfunc_probe(index);
	return pks_fault.hit && pks_fault.vector == X86_UD;
}

/* VMFUNC(0, index) at CPL 3; 1 when it raised #UD, 0 when it got to HLT. */
static int vmfunc3(u32 index, int *odd)
{
	g_user_vector = 0xff;
	pks_fault_clear();
	ring3_run(g_ucode, g_ustack_top, index, g_cs3, g_ss3);
	*odd = g_user_vector != X86_UD && g_user_vector != X86_GP;
	return g_user_vector == X86_UD;
}

static u64 rdpkrs(void)
{
	pks_fault_clear();
	return pks_probe_rdmsr(MSR_IA32_PKRS);
}

static u64 g_idx_open, g_idx_closed;

struct sweep {
	unsigned int ud, widened, leaked, lost, odd;
	int first_bad;
	u64 first_hidden;	/* what the first leaking read returned */
	unsigned int first_vec;
};

static void sweep(int cpl3, struct sweep *s)
{
	for (u32 i = 0; i < NR_INDEX; i++) {
		int odd = 0, ud = cpl3 ? vmfunc3(i, &odd) : vmfunc0(i);
		u64 pkrs, hidden;
		int bad = 0;

		s->ud += ud;
		s->odd += odd;
		if (!alias_read_faults() || !alias_write_faults()) {
			s->widened++;
			bad = 1;
		}
		pks_fault_clear();
		hidden = pks_probe_read((const void *)g_hidden);
		if (pks_fault.hit || hidden != ~0ull) {
			if (!s->leaked) {
				s->first_hidden = hidden;
				s->first_vec = pks_fault.hit ? (unsigned int)pks_fault.vector : 0xff;
			}
			s->leaked++;
			bad = 1;
		}
		/* The record follows: a pinned index now runs PKRS = AD|WD(3). */
		pkrs = rdpkrs();
		if (!ud && !odd && (i == g_idx_open || i == g_idx_closed) && pkrs != PKRS_CLOSED) {
			s->lost++;
			bad = 1;
		}
		if (bad && s->first_bad < 0)
			s->first_bad = (int)i;
		pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_CLOSED);
	}
}

static void report(const char *who, const struct sweep *s, u64 refused)
{
	unsigned int want_ud = NR_INDEX - 2;

	tap_ok(s->widened == 0, "%s: no VMFUNC index opens key 3 (%u of %u did, first %d)",
	       who, s->widened, NR_INDEX, s->first_bad);
	tap_ok(s->leaked == 0, "%s: pksvisor memory reads all-ones after every VMFUNC (%u did not; first 0x%llx vector %u)",
	       who, s->leaked, s->first_hidden, s->first_vec);
	tap_ok(s->ud == want_ud && s->odd == 0, "%s: #UD for every index but the 2 pinned (%u #UD, want %u; %u other)",
	       who, s->ud, want_ud, s->odd);
	tap_ok(refused == s->ud, "%s: vmfunc_refused counter grew by the #UDs (%llu, want %u)",
	       who, refused, s->ud);
	tap_ok(s->lost == 0, "%s: RDMSR PKRS follows VMFUNC to the pinned views (%u lost)",
	       who, s->lost);
}

static void run_cases(void)
{
	struct sweep s0 = { .first_bad = -1 }, s3 = { .first_bad = -1 };
	u64 c0, c1, h0, v;
	long long rax;
	int ud;

	*(volatile u64 *)g_ident = 0x1111;
	tap_ok(pksv_hc(PKSV_HC_RANGE_REGISTER, g_p, 4096, KEY, NULL) == 0, "range_register(P, key 3)");
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_CLOSED);
	rax = pksv_hc(PKSV_HC_VIEW_INDEX, 0, 0, 0, &g_idx_open);
	tap_ok(rax == 0 && g_idx_open >= 1 && g_idx_open < NR_INDEX,
	       "view_index(0) pins a view (rax %lld, index %llu)", rax, g_idx_open);
	rax = pksv_hc(PKSV_HC_VIEW_INDEX, PKRS_CLOSED, 0, 0, &g_idx_closed);
	tap_ok(rax == 0 && g_idx_closed >= 1 && g_idx_closed < NR_INDEX &&
	       g_idx_closed != g_idx_open,
	       "view_index(AD|WD(3)) pins another view (rax %lld, index %llu)", rax, g_idx_closed);

	/* Before the lock the open view opens P: pinned views keep working. */
	ud = vmfunc0((u32)g_idx_open);
	pks_fault_clear();
	v = pks_probe_read((const void *)g_alias);
	tap_ok(!ud && !pks_fault.hit && v == 0x1111,
	       "unlocked: VMFUNC to the open view opens P (%s, %s, read 0x%llx)",
	       ud ? "#UD" : "switched", pks_fault.hit ? "fault" : "no fault", v);
	v = rdpkrs();
	tap_ok(v == 0, "unlocked: RDMSR PKRS after that VMFUNC is 0 (0x%llx)", v);
	ud = vmfunc0((u32)g_idx_closed);
	tap_ok(!ud && alias_read_faults(), "unlocked: VMFUNC to the closed view closes P (%s)",
	       ud ? "#UD" : "switched");
	v = rdpkrs();
	tap_ok(v == PKRS_CLOSED, "unlocked: RDMSR PKRS follows (0x%llx)", v);

	/* LOCK_KEY(3): no pinned view may open key 3 any more. */
	tap_ok(pksv_hc(PKSV_HC_LOCK_KEY, KEY, 0, 0, NULL) == 0, "lock_key(3)");
	ud = vmfunc0((u32)g_idx_open);
	tap_ok(!ud && alias_read_faults() && alias_write_faults(),
	       "locked: VMFUNC to the formerly open view keeps P closed (%s)",
	       ud ? "#UD" : "switched");
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_CLOSED);

	h0 = counter(PKSV_CTR_HIDDEN_ACCESS);
	c0 = counter(PKSV_CTR_VMFUNC_REFUSED);
	sweep(0, &s0);
	c1 = counter(PKSV_CTR_VMFUNC_REFUSED);
	report("cpl0", &s0, c1 - c0);
	c0 = c1;
	sweep(1, &s3);
	c1 = counter(PKSV_CTR_VMFUNC_REFUSED);
	report("cpl3", &s3, c1 - c0);
	v = counter(PKSV_CTR_HIDDEN_ACCESS);
	tap_ok(v != ~0ull && v - h0 >= 2 * NR_INDEX,
	       "every reservation read was refused and counted (%llu, want >= %u)",
	       v - h0, 2 * NR_INDEX);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	const char *missing;

	InitializeLib(image, st);
	g_st = st;
	pks_env_init(st, "PKSV-VMFUNC: done", resume);

	say("PKSV-VMFUNC: start");
	say("1..%u", PLAN);
	if ((missing = pks_env_missing())) {
		say("Bail out! %s", missing);
	} else if (!(cpuid(PKSV_CPUID_LEAF_INFO, 0).ebx & PKSV_FEAT_VMFUNC_VIEWS)) {
		say("Bail out! pksvisor offers no VMFUNC views (PKSV_FEAT_VMFUNC_VIEWS)");
	} else if (pksv_hc(PKSV_HC_SELFTEST_INFO, 0, 0, 0, &g_hidden) != 0 || !g_hidden) {
		say("Bail out! SELFTEST_INFO gave no pksvisor address");
	} else if (setup_tables() < 0) {
		say("Bail out! could not set up page tables");
	} else {
		pks_env_enter(page_pa(PKS_PG_PML4), (void *)page_pa(PG_IDT), CR0_WP);
		if (setup_gdt_tss() < 0) {
			say("Bail out! firmware GDT too large");
		} else {
			run_cases();
			restore_gdt();
		}
		pks_probe_wrmsr(MSR_IA32_PKRS, 0);
		pks_env_leave();
	}
	say("# %u checks, %u failed", tap_num, tap_failed);
	say("PKSV-VMFUNC: done");
	power_off(g_st);
	return EFI_SUCCESS;
}
