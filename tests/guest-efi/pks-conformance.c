// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pks-conformance.efi: architectural PKS behaviour, checked from a guest
 * that makes no hypercall.
 *
 * The same binary runs natively on QEMU TCG -cpu max (which emulates PKS:
 * the reference) and under pksvisor with pks=soft in Bochs (no PKS in the
 * CPU: pksvisor emulates it with EPT).  Both runs print the same KTAP case
 * names, and each name ends with the observed behaviour (": no fault",
 * ": #PF ec=0x23 cr2=ok", ...), so tests/harness/run-pks-conformance.sh can
 * diff the two result lists.  A case is "ok" when the observed behaviour
 * is what the architecture requires (coded here, see expect_fault()).
 *
 * How: with interrupts disabled for the whole matrix, the app
 *  - copies the firmware's PML4 (keeping its identity map of memory) and
 *    adds one PML4 entry of its own for a linear region nothing else uses
 *    (0x7f0000000000 when free), with its own PDPT/PD/PTs and test pages;
 *  - copies the firmware's IDT and puts its own handlers on vectors 0-31
 *    (not NMI): #PF and #GP record vector, error code, CR2 and RIP, and
 *    resume after the probe instruction (pks-asm.S); any exception outside
 *    a probe is a "Bail out!" (state restored, machine powered off);
 *  - sets CR4.PKS and clears CR4.SMEP, SMAP and PKE (so user pages are
 *    governed by nothing but paging: a supervisor fetch from a user page
 *    would fault under SMEP, a supervisor data access under SMAP, and PKU
 *    would apply PKRU to user pages);
 *  - runs the cases, writing IA32_PKRS and CR0.WP per case, and restores
 *    the firmware's PKRS, CR4, CR0, CR3 and IDT before it calls the
 *    firmware again.
 * Results go straight to COM1 (port I/O, safe at any time), not ConOut.
 *
 * Not covered: CPL 3 accesses (PKS never applies to them: user-mode
 * accesses are PKU's business) and AD/WD on key 0: the app's own stack,
 * code, GDT and IDT are key-0 supervisor pages, so denying key 0 would stop
 * the app itself (architecturally PKRS key 0 applies like any other key).
 * Every PKRS value used keeps bits 1:0 clear.
 *
 * Without PKS (CPUID.(7,0):ECX[31] clear) every case is reported as
 * "ok N - name # SKIP no PKS" with the same plan.
 */
#include "pks-env.h"

/* ---- page-fault error code --------------------------------------- */

#define PFEC_P		0x01
#define PFEC_W		0x02
#define PFEC_PK		0x20

static inline void invlpg(u64 va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }

/* ---- resuming a faulting fetch ------------------------------------ */

/* Address pks_probe_call is fetching from (its #PF is resumed by a ret). */
static volatile u64 fetch_target;

static EFI_SYSTEM_TABLE *g_st;

/* pks_exc_c's resume_other: the fetch of the called page faulted, do its ret. */
static int resume_fetch(struct pks_frame *f)
{
	if (fetch_target && f->vector == X86_PF && f->rip == fetch_target) {
		f->rip = *(u64 *)f->rsp;
		f->rsp += 8;
		return 1;
	}
	return 0;
}

/* ---- state -------------------------------------------------------- */

/* Pages allocated from the firmware (identity mapped). */
enum {
	PG_PT_A = PKS_PG_PT,		/* pks_env_map_region's PT: PD[0], user */
	PG_PT_B = PKS_PG_APP, PG_IDT, PG_DATA,
	PG_KEY0,			/* 16 pages, one per key */
	PG_COUNT = PG_KEY0 + 16
};

#define OFF_DATA	0x128		/* where reads and writes go (not page aligned: CR2 is exact) */
#define OFF_RET		0x800		/* a ret instruction, for fetches */
#define OFF_KEYVAL	0x40

static int g_run;			/* 1: touch hardware; 0: count or skip */
static u64 g_pages;			/* physical = linear base of PG_COUNT pages */
static u64 g_base;			/* the test region's linear base */
static u64 *g_pt_a, *g_pt_b;
static u64 g_data;			/* physical address of the data page */

static u64 g_cr4_readback;

static u64 page_pa(unsigned int pg)
{
	return g_pages + (u64)pg * 4096;
}

#define VA_KEYED	(g_base + 0x0000)	/* PT_A[0]: the slot under test */
#define VA_ALIAS0	(g_base + 0x1000)	/* PT_A[1]: key-0 supervisor alias */
#define VA_USER		(g_base + 0x2000)	/* PT_A[2]: user alias */
#define VA_SUPDIR	(g_base + 0x200000)	/* PT_B[0]: PDE U/S=0, PTE U/S=1 */
#define VA_KEYPAGE(k)	(g_base + (16ull + (k)) * 0x1000)	/* PT_A[16+k] */

/* ---- KTAP ---------------------------------------------------------- */

enum { M_COUNT, M_SKIP, M_RUN };
static int g_mode;
static struct buf g_detail;		/* extra "# " line for a failing case */

/* One case: desc is the case, obs the observed behaviour (RUN mode). */
static void report(int ok, const char *desc, const char *obs, const char *expected)
{
	if (g_mode == M_COUNT)
		tap_num++;			/* only counting, for the plan */
	if (g_mode == M_SKIP)
		tap_skip(desc, "no PKS");
	if (g_mode == M_RUN) {
		tap_ok(ok, "%s: %s", desc, obs);
		if (!ok && expected)
			say("# expected: %s", expected);
		if (!ok && g_detail.n)
			say("# detail: %s", g_detail.s);
	}
	g_detail.n = 0;
	g_detail.s[0] = '\0';
}

/* ---- hardware helpers (no-ops unless g_run) ------------------------- */

static void set_pkrs(u64 v)
{
	if (g_run)
		pks_probe_wrmsr(MSR_IA32_PKRS, v);
}

static void set_wp(int wp)
{
	if (g_run)
		write_cr0(wp ? (read_cr0() | CR0_WP) : (read_cr0() & ~CR0_WP));
}

static void set_pte(u64 *pt, unsigned int idx, u64 va, u64 val)
{
	if (!g_run)
		return;
	pt[idx] = val;
	invlpg(va);
}

static void mem_put(u64 pa, u64 v)
{
	if (g_run)
		*(volatile u64 *)pa = v;
}

static u64 mem_get(u64 pa)
{
	return g_run ? *(volatile u64 *)pa : 0;
}

enum op { OP_READ, OP_WRITE, OP_FETCH };
static const char *const op_name[] = { "read", "write", "fetch" };

/* Do one access; the result is in pks_fault (hit = 0: no exception). */
static u64 access(enum op op, u64 va, u64 wval)
{
	u64 v = 0;

	pks_fault_clear();
	if (!g_run)
		return 0;
	switch (op) {
	case OP_READ:
		v = pks_probe_read((const void *)va);
		break;
	case OP_WRITE:
		pks_probe_write((void *)va, wval);
		break;
	case OP_FETCH:
		fetch_target = va;
		pks_probe_call((void *)va);
		fetch_target = 0;
		break;
	}
	return v;
}

/* Text of the observed exception: "no fault", "#PF ec=0x23 cr2=ok", ... */
static void describe_fault(struct buf *b, u64 want_cr2)
{
	if (!pks_fault.hit)
		buf_fmt(b, "no fault");
	else if (pks_fault.vector == X86_PF)
		buf_fmt(b, "#PF ec=0x%llx cr2=%s", pks_fault.ec,
			pks_fault.cr2 == want_cr2 ? "ok" : "bad");
	else if (pks_fault.vector == X86_GP)
		buf_fmt(b, "#GP ec=0x%llx", pks_fault.ec);
	else
		buf_fmt(b, "#vec%llu ec=0x%llx", pks_fault.vector, pks_fault.ec);
	if (pks_fault.count > 1)
		buf_fmt(b, " faults=%u", pks_fault.count);
}

static int fault_is(unsigned int vector, u64 ec, u64 cr2)
{
	return pks_fault.hit && pks_fault.count == 1 && pks_fault.vector == vector &&
	       pks_fault.ec == ec && (vector != X86_PF || pks_fault.cr2 == cr2);
}

/* ---- expectations -------------------------------------------------- */

/*
 * Architecture (SDM vol. 3, 4.6.2): with CR4.PKS = 1 and 4-level paging,
 * a supervisor-mode data access to a supervisor-mode linear address (U/S
 * = 0 at some level) with key k is denied when PKRS.AD[k], and a write
 * also when PKRS.WD[k] and CR0.WP.  Fetches are never checked.
 */
static int expect_fault(int pks, int sup_page, unsigned int key, u32 pkrs, int wp, enum op op)
{
	int ad = !!(pkrs & PKRS_AD(key)), wd = !!(pkrs & PKRS_WD(key));

	if (!pks || !sup_page || op == OP_FETCH)
		return 0;
	return ad || (wd && wp && op == OP_WRITE);
}

static u32 pk_ec(enum op op)
{
	return PFEC_P | PFEC_PK | (op == OP_WRITE ? PFEC_W : 0);
}

static void expected_text(struct buf *b, int should_fault, enum op op)
{
	if (should_fault)
		buf_fmt(b, "#PF ec=0x%x cr2=ok", pk_ec(op));
	else
		buf_fmt(b, "no fault");
}

/* ---- cases: CR4.PKS and IA32_PKRS ----------------------------------- */

static void test_cr4(void)
{
	struct buf o = { .n = 0 };

	buf_fmt(&o, "cr4.pks=%u", (unsigned int)!!(g_cr4_readback & CR4_PKS));
	report(!!(g_cr4_readback & CR4_PKS), "cr4.pks set, read back", o.s, "cr4.pks=1");
}

static void test_pkrs_rw(void)
{
	static const u32 vals[] = {
		0x00000000, 0x00000004, 0x0000000c, 0x55555554, 0xaaaaaaa8,
		0xfffffffc, 0x12345670, 0x80000000, 0xc0000000, 0x00000000,
	};
	unsigned int i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct buf d = { .n = 0 }, o = { .n = 0 }, e = { .n = 0 };
		u64 r = 0;

		buf_fmt(&d, "pkrs wrmsr 0x%08x then rdmsr", vals[i]);
		pks_fault_clear();
		if (g_run) {
			pks_probe_wrmsr(MSR_IA32_PKRS, vals[i]);
			if (!pks_fault.hit)
				r = pks_probe_rdmsr(MSR_IA32_PKRS);
		}
		if (pks_fault.hit)
			describe_fault(&o, 0);
		else
			buf_fmt(&o, "read 0x%llx", r);
		buf_fmt(&e, "read 0x%x", vals[i]);
		report(!pks_fault.hit && r == vals[i], d.s, o.s, e.s);
	}
}

static void test_pkrs_reserved(void)
{
	static const u64 vals[] = {
		0x0000000100000004ull, 0x8000000000000000ull, 0xffffffff00000000ull,
		0x000000010000000cull,
	};
	const u64 before = 0x0000000c;		/* AD and WD on key 1 */
	unsigned int i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct buf d = { .n = 0 }, o = { .n = 0 };
		u64 r = 0;
		int gp;

		buf_fmt(&d, "pkrs wrmsr 0x%llx (reserved bits 63:32)", vals[i]);
		set_pkrs(before);
		pks_fault_clear();
		if (g_run)
			pks_probe_wrmsr(MSR_IA32_PKRS, vals[i]);
		gp = fault_is(X86_GP, 0, 0);
		describe_fault(&o, 0);
		if (g_run)
			r = pks_probe_rdmsr(MSR_IA32_PKRS);
		buf_fmt(&o, ", pkrs after 0x%llx", r);
		report(gp && r == before, d.s, o.s, "#GP ec=0x0, pkrs after 0xc");
	}
	set_pkrs(0);
}

/* ---- cases: the matrix ---------------------------------------------- */

enum page_kind { PAGE_SUP, PAGE_SUPDIR, PAGE_USER };
static const char *const page_name[] = { "sup", "supdir", "user" };

/*
 * key: the PTE key.  For key != 0, PKRS has (ad, wd) on that key only; for
 * key 0, PKRS has (ad, wd) on every key 1..15 (key 0 itself is never
 * restricted, see the top of the file).
 */
static void matrix_case(unsigned int key, enum page_kind page, int wp, int ad, int wd, enum op op)
{
	struct buf d = { .n = 0 }, o = { .n = 0 }, e = { .n = 0 };
	u32 bits = (ad ? 1u : 0) | (wd ? 2u : 0), pkrs = 0;
	u64 pat = 0x5a5a000000000000ull | ((u64)tap_num << 8);
	u64 wval = pat ^ 0xffff;
	u64 pte = (g_data & PTE_ADDR) | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(key);
	u64 va, want_cr2, v, after;
	unsigned int k;
	int should, ok;

	if (key)
		pkrs = bits << (2 * key);
	else
		for (k = 1; k < 16; k++)
			pkrs |= bits << (2 * k);
	buf_fmt(&d, "matrix key=%u ad=%u wd=%u wp=%u page=%s mode=sup op=%s",
		key, ad, wd, wp, page_name[page], op_name[op]);

	/* Set up with PKRS = 0: the identity-map accesses need no alias logic. */
	set_pkrs(0);
	set_wp(wp);
	if (page == PAGE_SUPDIR) {
		va = VA_SUPDIR;
		set_pte(g_pt_b, 0, va, pte | PTE_US);
	} else {
		va = VA_KEYED;
		set_pte(g_pt_a, 0, va, pte | (page == PAGE_USER ? PTE_US : 0));
	}
	mem_put(g_data + OFF_DATA, pat);
	va += op == OP_FETCH ? OFF_RET : OFF_DATA;
	want_cr2 = va;

	set_pkrs(pkrs);
	v = access(op, va, wval);
	set_pkrs(0);
	after = mem_get(g_data + OFF_DATA);

	should = expect_fault(1, page != PAGE_USER, key, pkrs, wp, op);
	describe_fault(&o, want_cr2);
	if (pks_fault.hit) {
		ok = should && fault_is(X86_PF, pk_ec(op), want_cr2);
		if (op == OP_WRITE && after != pat) {
			buf_fmt(&g_detail, "memory 0x%llx, want 0x%llx", after, pat);
			buf_fmt(&o, " mem=changed");
			ok = 0;
		}
	} else {
		ok = !should;
		if (op == OP_READ && v != pat) {
			buf_fmt(&g_detail, "read 0x%llx, want 0x%llx", v, pat);
			buf_fmt(&o, " data=bad");
			ok = 0;
		}
		if (op == OP_WRITE && after != wval) {
			buf_fmt(&g_detail, "memory 0x%llx, want 0x%llx", after, wval);
			buf_fmt(&o, " mem=stale");
			ok = 0;
		}
	}
	expected_text(&e, should, op);
	report(ok, d.s, o.s, e.s);
}

static void test_matrix(void)
{
	static const unsigned int keys[] = { 0, 1, 7, 15 };
	unsigned int ki, page, wp, ad, wd, op;

	if (g_mode == M_RUN)
		say("# matrix: key=0 means a key-0 page with ad/wd set on keys 1-15");
	for (ki = 0; ki < sizeof(keys) / sizeof(keys[0]); ki++)
		for (page = PAGE_SUP; page <= PAGE_USER; page++)
			for (wp = 0; wp < 2; wp++)
				for (ad = 0; ad < 2; ad++)
					for (wd = 0; wd < 2; wd++)
						for (op = OP_READ; op <= OP_FETCH; op++)
							matrix_case(keys[ki], page, wp, ad, wd, op);
	set_wp(1);
	set_pte(g_pt_a, 0, VA_KEYED, 0);
	set_pte(g_pt_b, 0, VA_SUPDIR, 0);
}

/* ---- cases: one physical page through three aliases ----------------- */

/*
 * One step: access va (op, writing wval), expect a PK fault or not; when
 * it did not fault and check_va is set, read check_va (through another
 * alias) and expect check_val; a read that did not fault must return
 * want_read.
 */
static void alias_step(const char *desc, enum op op, u64 va, u64 wval, int should,
		       u64 want_read, u64 check_va, u64 check_val)
{
	struct buf o = { .n = 0 }, e = { .n = 0 };
	u64 v;
	int ok;

	v = access(op, va, wval);
	describe_fault(&o, va);
	if (pks_fault.hit) {
		ok = should && fault_is(X86_PF, pk_ec(op), va);
	} else {
		ok = !should;
		/* (A read that should have faulted has no value to check.) */
		if (op == OP_READ && !should && v != want_read) {
			buf_fmt(&g_detail, "read 0x%llx, want 0x%llx; ", v, want_read);
			buf_fmt(&o, " data=bad");
			ok = 0;
		}
	}
	if (check_va) {
		u64 c = access(OP_READ, check_va, 0);

		if (pks_fault.hit) {
			buf_fmt(&o, ", check ");
			describe_fault(&o, check_va);
			ok = 0;
		} else if (c != check_val) {
			buf_fmt(&g_detail, "check read 0x%llx, want 0x%llx", c, check_val);
			buf_fmt(&o, ", check=bad");
			ok = 0;
		} else {
			buf_fmt(&o, ", check=ok");
		}
	}
	expected_text(&e, should, op);
	report(ok, desc, o.s, e.s);
}

static void test_alias(void)
{
	const unsigned int key = 5;
	const u64 pa = g_data & PTE_ADDR;
	const u64 leaf = pa | PTE_P | PTE_RW | PTE_A | PTE_D;
	const u64 ka = VA_KEYED + OFF_DATA, a0 = VA_ALIAS0 + OFF_DATA, ua = VA_USER + OFF_DATA;
	const u64 id = g_data + OFF_DATA;
	const u64 p0 = 0x1111222233334444ull;

	set_pkrs(0);
	set_wp(1);
	set_pte(g_pt_a, 0, VA_KEYED, leaf | PTE_KEY(key));
	set_pte(g_pt_a, 1, VA_ALIAS0, leaf);
	set_pte(g_pt_a, 2, VA_USER, leaf | PTE_US | PTE_KEY(key));
	mem_put(id, p0);

	set_pkrs(PKRS_AD(key));
	alias_step("alias pkrs=ad(5) keyed-sup read", OP_READ, ka, 0, 1, 0, 0, 0);
	alias_step("alias pkrs=ad(5) key0-sup read", OP_READ, a0, 0, 0, p0, 0, 0);
	alias_step("alias pkrs=ad(5) user(key5) read", OP_READ, ua, 0, 0, p0, 0, 0);
	alias_step("alias pkrs=ad(5) identity read", OP_READ, id, 0, 0, p0, 0, 0);
	alias_step("alias pkrs=ad(5) keyed-sup write", OP_WRITE, ka, 0xdead, 1, 0, a0, p0);
	alias_step("alias pkrs=ad(5) key0-sup write, user read", OP_WRITE, a0, 0x1001, 0, 0, ua, 0x1001);
	alias_step("alias pkrs=ad(5) user write, key0-sup read", OP_WRITE, ua, 0x1002, 0, 0, a0, 0x1002);
	alias_step("alias pkrs=ad(5) keyed-sup read again", OP_READ, ka, 0, 1, 0, 0, 0);
	alias_step("alias pkrs=ad(5) identity write, user read", OP_WRITE, id, 0x1003, 0, 0, ua, 0x1003);
	alias_step("alias pkrs=ad(5) keyed-sup fetch", OP_FETCH, VA_KEYED + OFF_RET, 0, 0, 0, 0, 0);
	alias_step("alias pkrs=ad(5) keyed-sup write again", OP_WRITE, ka, 0xdead, 1, 0, id, 0x1003);

	set_pkrs(PKRS_WD(key));
	alias_step("alias pkrs=wd(5) wp=1 keyed-sup read", OP_READ, ka, 0, 0, 0x1003, 0, 0);
	alias_step("alias pkrs=wd(5) wp=1 keyed-sup write", OP_WRITE, ka, 0xdead, 1, 0, ua, 0x1003);
	alias_step("alias pkrs=wd(5) wp=1 user write, keyed-sup read", OP_WRITE, ua, 0x1004, 0, 0, ka, 0x1004);
	alias_step("alias pkrs=wd(5) wp=1 key0-sup write, keyed-sup read", OP_WRITE, a0, 0x1005, 0, 0, ka, 0x1005);
	set_wp(0);
	alias_step("alias pkrs=wd(5) wp=0 keyed-sup write, user read", OP_WRITE, ka, 0x1006, 0, 0, ua, 0x1006);
	set_wp(1);
	alias_step("alias pkrs=wd(5) wp=1 keyed-sup write again", OP_WRITE, ka, 0xdead, 1, 0, a0, 0x1006);

	set_pkrs(0);
	alias_step("alias pkrs=0 keyed-sup write, key0-sup read", OP_WRITE, ka, 0x1007, 0, 0, a0, 0x1007);
	alias_step("alias pkrs=0 keyed-sup read", OP_READ, ka, 0, 0, 0x1007, 0, 0);

	set_pte(g_pt_a, 0, VA_KEYED, 0);
	set_pte(g_pt_a, 1, VA_ALIAS0, 0);
	set_pte(g_pt_a, 2, VA_USER, 0);
}

/* ---- cases: all 16 keys -------------------------------------------- */

/* Access the 16 key pages (page j has key j); returns the faulting mask. */
static unsigned int keys_sweep(enum op op, int *bad_fault)
{
	unsigned int j, mask = 0;

	*bad_fault = 0;
	for (j = 0; j < 16; j++) {
		u64 va = VA_KEYPAGE(j) + OFF_KEYVAL;
		u64 v = access(op, va, 0x2000 + j);

		if (!g_run)
			continue;
		if (pks_fault.hit) {
			mask |= 1u << j;
			if (!fault_is(X86_PF, pk_ec(op), va)) {
				*bad_fault = 1;
				buf_fmt(&g_detail, "key %u: vector %llu ec 0x%llx; ", j,
					pks_fault.vector, pks_fault.ec);
			}
		} else if (op == OP_READ && v != 0x1000 + j) {
			*bad_fault = 1;
			buf_fmt(&g_detail, "key %u: read 0x%llx; ", j, v);
		}
	}
	return mask;
}

/* Put the values back through the identity map (called with PKRS = 0). */
static void keys_refill(void)
{
	unsigned int j;

	for (j = 0; j < 16; j++)
		mem_put(page_pa(PG_KEY0 + j) + OFF_KEYVAL, 0x1000 + j);
}

static void keys_case(const char *what, unsigned int k, u32 pkrs, int wp, enum op op, unsigned int want)
{
	struct buf d = { .n = 0 }, o = { .n = 0 }, e = { .n = 0 };
	unsigned int mask;
	int bad;

	buf_fmt(&d, "keys %s k=%u wp=%u op=%s", what, k, wp, op_name[op]);
	set_pkrs(0);
	set_wp(wp);
	set_pkrs(pkrs);
	mask = keys_sweep(op, &bad);
	set_pkrs(0);
	keys_refill();
	buf_fmt(&o, "faulting keys 0x%04x%s", mask, bad ? " (bad ec/cr2/data)" : "");
	buf_fmt(&e, "faulting keys 0x%04x, ec 0x%x", want, pk_ec(op));
	report(mask == want && !bad, d.s, o.s, e.s);
}

static void test_all_keys(void)
{
	unsigned int k, j;
	u32 all_ad = 0;

	keys_refill();
	for (j = 0; j < 16; j++) {
		u64 pa = page_pa(PG_KEY0 + j);

		set_pte(g_pt_a, 16 + j, VA_KEYPAGE(j),
			pa | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(j));
	}
	for (k = 1; k < 16; k++)
		all_ad |= PKRS_AD(k);
	for (k = 1; k < 16; k++) {
		keys_case("ad-only", k, PKRS_AD(k), 1, OP_READ, 1u << k);
		keys_case("wd-only", k, PKRS_WD(k), 1, OP_WRITE, 1u << k);
		keys_case("wd-only", k, PKRS_WD(k), 0, OP_WRITE, 0);
		keys_case("ad-all-but", k, all_ad & ~PKRS_AD(k), 1, OP_WRITE,
			  0xfffeu & ~(1u << k));
	}
	set_wp(1);
	for (j = 0; j < 16; j++)
		set_pte(g_pt_a, 16 + j, VA_KEYPAGE(j), 0);
}

/* ---- cases: CR4.PKS off, PKRS across CPUID (VM exits) --------------- */

static void test_pks_toggle(void)
{
	const unsigned int key = 3;
	const u64 leaf = (g_data & PTE_ADDR) | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(key);
	const u32 pkrs = PKRS_AD(key) | PKRS_WD(key);
	const u64 va = VA_KEYED + OFF_DATA;
	struct buf o = { .n = 0 };
	u64 r = 0;

	set_pkrs(0);
	set_wp(1);
	set_pte(g_pt_a, 0, VA_KEYED, leaf);
	mem_put(g_data + OFF_DATA, 0x3003);
	set_pkrs(pkrs);

	if (g_run)
		write_cr4(read_cr4() & ~CR4_PKS);
	alias_step("cr4.pks=0 pkrs=ad|wd(3) keyed-sup read", OP_READ, va, 0, 0, 0x3003, 0, 0);
	alias_step("cr4.pks=0 pkrs=ad|wd(3) keyed-sup write", OP_WRITE, va, 0x3004, 0, 0,
		   g_data + OFF_DATA, 0x3004);
	pks_fault_clear();
	if (g_run)
		r = pks_probe_rdmsr(MSR_IA32_PKRS);
	describe_fault(&o, 0);
	buf_fmt(&o, ", pkrs 0x%llx", r);
	report(!pks_fault.hit && r == pkrs, "cr4.pks=0 pkrs rdmsr keeps the value", o.s,
	       "no fault, pkrs 0xc0");
	/*
	 * QEMU 7.2 TCG keeps TLB entries across a CR4.PKS change (its CR4
	 * update flushes only for PGE/PAE/PSE/SMEP/SMAP/LA57), so an entry
	 * filled while PKS was off would stay unchecked.  A CR3 reload (our
	 * pages are not global) makes the case independent of that.
	 */
	if (g_run) {
		write_cr4(read_cr4() | CR4_PKS);
		write_cr3(read_cr3());
	}
	alias_step("cr4.pks=1 again pkrs=ad|wd(3) keyed-sup read", OP_READ, va, 0, 1, 0, 0, 0);
	alias_step("cr4.pks=1 again pkrs=ad|wd(3) keyed-sup write", OP_WRITE, va, 0xdead, 1, 0,
		   g_data + OFF_DATA, 0x3004);
	set_pkrs(0);
}

static void test_cpuid_loop(void)
{
	const u32 pkrs = 0xa5a5a5a4;	/* key 1: AD; key 2: WD; ...; key 0: none */
	const unsigned int loops = 1000;
	struct buf o = { .n = 0 };
	unsigned int i, bad = 0;
	u64 r = 0;

	set_pkrs(0);
	set_wp(1);
	set_pte(g_pt_a, 0, VA_KEYED,
		(g_data & PTE_ADDR) | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(1));
	set_pkrs(pkrs);
	pks_fault_clear();
	if (g_run) {
		for (i = 0; i < loops; i++) {
			static const u32 leaves[] = { 0, 1, 7, 0x40000000 };

			cpuid(leaves[i & 3], 0);
			if (pks_probe_rdmsr(MSR_IA32_PKRS) != pkrs)
				bad++;
		}
		r = pks_probe_rdmsr(MSR_IA32_PKRS);
	}
	describe_fault(&o, 0);
	buf_fmt(&o, ", mismatches=%u, pkrs after 0x%llx", bad, r);
	report(!pks_fault.hit && !bad && r == pkrs,
	       "pkrs 0xa5a5a5a4 intact across 1000 cpuid (rdmsr after each)", o.s,
	       "no fault, mismatches=0, pkrs after 0xa5a5a5a4");

	alias_step("after cpuid loop pkrs=0xa5a5a5a4 key=1 (ad) read", OP_READ,
		   VA_KEYED + OFF_DATA, 0, 1, 0, 0, 0);
	set_pkrs(0);
	set_pte(g_pt_a, 0, VA_KEYED, 0);
}

/* ---- cases: a write breaking both R/W and the key ------------------ */

/*
 * A supervisor write to a read-only supervisor page (CR0.WP = 1) whose key
 * also denies it.  The access fails either way; the error code must have
 * PK set: SDM Vol. 3A 4.7 sets the PK flag whenever the access is a data
 * access to a supervisor-mode address whose PKRS key denies it (AD, or WD
 * on a write with CR0.WP = 1), whatever other rule is broken too.  QEMU
 * and Bochs both give 0x23.  pksvisor's soft backend runs on a CPU without
 * PKS, which raises the R/W fault with PK clear (0x3) unless pksvisor adds
 * the bit (pks/pks.c, soft_page_fault).
 */
static void order_case(const char *what, u32 pkrs)
{
	struct buf d = { .n = 0 }, o = { .n = 0 };
	u64 pat = 0x0bde000000000000ull | ((u64)tap_num << 8);
	u64 va = VA_KEYED + OFF_DATA, after;
	int ok;

	buf_fmt(&d, "order ro-sup page key=5 %s wp=1 op=write", what);
	set_pkrs(0);
	set_wp(1);
	set_pte(g_pt_a, 0, VA_KEYED, (g_data & PTE_ADDR) | PTE_P | PTE_A | PTE_D | PTE_KEY(5));
	mem_put(g_data + OFF_DATA, pat);
	set_pkrs(pkrs);
	(void)access(OP_WRITE, va, pat ^ 0xffff);
	set_pkrs(0);
	after = mem_get(g_data + OFF_DATA);
	describe_fault(&o, va);
	ok = fault_is(X86_PF, PFEC_P | PFEC_W | PFEC_PK, va);
	if (after != pat) {
		buf_fmt(&o, " mem=changed");
		ok = 0;
	}
	report(ok, d.s, o.s, "#PF ec=0x23 cr2=ok");
	set_pte(g_pt_a, 0, VA_KEYED, 0);
}

static void test_order(void)
{
	order_case("pkrs=ad(5)", PKRS_AD(5));
	order_case("pkrs=wd(5)", PKRS_WD(5));
}

static void run_all(void)
{
	test_cr4();
	test_pkrs_rw();
	test_pkrs_reserved();
	test_matrix();
	test_alias();
	test_all_keys();
	test_pks_toggle();
	test_cpuid_loop();
	test_order();
}

/* ---- setup and teardown -------------------------------------------- */

static int setup_tables(void)
{
	u64 *pd;
	unsigned int idx;

	idx = pks_env_map_region(PG_COUNT, &g_pages, &g_base);
	if (!idx)
		return -1;
	pd = (u64 *)page_pa(PKS_PG_PD);
	g_pt_a = (u64 *)page_pa(PG_PT_A);
	g_pt_b = (u64 *)page_pa(PG_PT_B);
	pd[1] = page_pa(PG_PT_B) | PTE_P | PTE_RW | PTE_A;	/* U/S = 0 here */

	g_data = page_pa(PG_DATA);
	((volatile u8 *)g_data)[OFF_RET] = 0xc3;		/* ret */
	say("# test region at 0x%llx (PML4 slot %u), pages at 0x%llx", g_base, idx, g_pages);
	return 0;
}

/* gnu-efi: efi_main is called through its own wrapper, so no EFIAPI. */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	struct cpuid_regs r;
	int pks = 0;

	InitializeLib(image, st);
	g_st = st;
	pks_env_init(st, "PKSV-PKS-CONF: done", resume_fetch);

	say("PKSV-PKS-CONF: start");
	r = cpuid(0, 0);
	if (r.eax >= 7)
		pks = !!(cpuid(7, 0).ecx & (1u << 31));

	g_mode = M_COUNT;
	g_run = 0;
	tap_num = 0;
	run_all();
	say("KTAP version 1");
	say("1..%u", tap_num);
	tap_num = 0;

	if (!pks) {
		say("# CPUID.(7,0):ECX[31] (PKS) is clear");
		g_mode = M_SKIP;
		run_all();
	} else if (read_cr4() & CR4_LA57) {
		say("Bail out! 5-level paging is active; this app builds 4-level tables");
	} else if (setup_tables() < 0) {
		say("Bail out! could not set up page tables");
	} else {
		say("# PKS present; SMEP, SMAP and PKE are kept off during the cases");
		g_mode = M_RUN;
		pks_env_enter(page_pa(PKS_PG_PML4), (void *)page_pa(PG_IDT), 0);
		g_cr4_readback = read_cr4();
		g_run = 1;
		run_all();
		g_run = 0;
		pks_env_leave();
	}
	say("# %u cases, %u failed", tap_num, tap_failed);
	say("PKSV-PKS-CONF: done");
	power_off(g_st);
	return EFI_SUCCESS;
}
