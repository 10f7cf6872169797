// SPDX-License-Identifier: MIT
/*
 * Unit tests for pks/pk_decide.c: the soft backend's EPT-violation verdict
 * (pks/soft_fault.c calls soft_ept_decide()) and the hw backend's #PF(PK)
 * action (pks/pks.c calls hw_pf_decide()).  Expected results are written
 * from SDM Vol. 3A 4.6.2 (PKS checks supervisor pages against IA32_PKRS,
 * PKU checks user pages against PKRU) and docs/pks.md (fault modes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pksvisor/hypercall.h>
#include <pksvisor/pk_decide.h>

#define GPA	0x12345000ull

static struct guest_walk walk_to(u64 gpa, bool supervisor, unsigned int key)
{
	return (struct guest_walk){ .gpa = gpa + 0x128, .page_gpa = gpa,
				    .page_size = 4096, .supervisor = supervisor,
				    .writable = true, .key = key };
}

/* A supervisor read of a key-3 supervisor page with AD(3): PKS denies. */
static struct soft_fault_input denied_read(const struct guest_walk *w)
{
	return (struct soft_fault_input){
		.linear_valid = true, .translated = true, .fault_gpa = GPA + 0x128,
		.long_paging = true, .walk = 0, .w = w, .cr4_pks = true,
		.cr0_wp = true, .pkrs = PKRS_AD(3),
	};
}

static void test_soft_verdicts(void **state)
{
	struct guest_walk w = walk_to(GPA, true, 3);
	struct soft_fault_input in = denied_read(&w);
	struct pks_access a;

	(void)state;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_DENY);
	assert_int_equal(a.key, 3);
	assert_false(a.write);
	/* Open key: allowed. */
	in.pkrs = 0;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_ALLOW);
	/* WD: reads allowed, writes denied with WP, allowed without. */
	in.pkrs = PKRS_WD(3);
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_ALLOW);
	in.write = true;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_DENY);
	assert_true(a.write);
	in.cr0_wp = false;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_ALLOW);
	/* A user alias (U/S = 1 at every level) is PKU's: allowed. */
	in = denied_read(&w);
	w.supervisor = false;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_ALLOW);
	w.supervisor = true;
	/* CPL 3 access: never PKS-checked. */
	in.user_mode = true;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_ALLOW);
	in.user_mode = false;
	/* A key-0 alias: allowed (the key-0 deviation, docs/pks.md). */
	w.key = 0;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_ALLOW);
	w.key = 3;
	/* Fetches are never key-checked. */
	in.fetch = true;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_ALLOW);
}

/* The verdict must be about the page that faulted. */
static void test_soft_tied_to_translation(void **state)
{
	struct guest_walk w = walk_to(GPA + 0x1000, true, 0);
	struct soft_fault_input in = denied_read(&w);
	struct pks_access a;

	(void)state;
	/* The walk now reaches another page (key 0, allowed there): retry. */
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_RETRY);
	/* Same page, other offset: the verdict counts. */
	w = walk_to(GPA, true, 0);
	w.gpa = GPA + 0xff8;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_ALLOW);
	/* A failed walk never allows: not present, unreadable, none at all. */
	in.walk = 1;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_RETRY);
	in.walk = -1;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_RETRY);
	in.walk = 0;
	in.w = NULL;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_RETRY);
}

static void test_soft_no_walk_needed(void **state)
{
	struct soft_fault_input in = { .fault_gpa = GPA, .walk = -1, .long_paging = true,
				       .cr4_pks = true, .pkrs = ~0u };
	struct pks_access a;

	(void)state;
	/* The CPU's own page walk writing A/D bits (bit 7 set, bit 8 clear). */
	in.linear_valid = true;
	in.translated = false;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_ALLOW);
	/* No linear address: a physical access, not PKS-checked. */
	in.linear_valid = false;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_ALLOW);
	/* A write to a tracked table: allowed, then learnt. */
	in.write = true;
	in.table_write = true;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_TABLE);
	/* PKS only exists with 4/5-level paging. */
	in.write = false;
	in.table_write = false;
	in.linear_valid = true;
	in.translated = true;
	in.long_paging = false;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_ALLOW);
	in.long_paging = true;
	assert_int_equal(soft_ept_decide(&in, &a), SOFT_RETRY);	/* walk failed */
}

/*
 * hw backend: every mode x page type x access.  A user page is a PKU
 * fault: re-injected unchanged whatever the mode (before the fix RELAXED,
 * SILENT and OFF "opened" the PKS key and retried forever).  A supervisor
 * page is PKS: unprotect table first, then the mode.
 */
static void test_hw_matrix(void **state)
{
	static const int modes[] = { PKSV_MODE_STRICT, PKSV_MODE_RELAXED,
				     PKSV_MODE_SILENT, PKSV_MODE_OFF };
	unsigned int n = 0;

	(void)state;
	for (unsigned int m = 0; m < 4; m++)
	for (int sup = 0; sup < 2; sup++)
	for (int write = 0; write < 2; write++)
	for (int unprot = 0; unprot < 2; unprot++)
	for (int locked = 0; locked < 2; locked++) {
		struct guest_walk w = walk_to(GPA, sup, 5);
		enum hw_pf_action want, got;

		(void)write;	/* the access kind changes nothing but the error code */
		if (!sup)
			want = HW_PF_REINJECT;
		else if (unprot)
			want = HW_PF_UNPROTECTED;
		else if (locked || modes[m] == PKSV_MODE_STRICT)
			want = HW_PF_INJECT;
		else
			want = HW_PF_OPEN_KEY;
		got = hw_pf_decide(0, &w, unprot, modes[m], locked);
		if (got != want)
			fail_msg("mode %d %s page %s unprot %d locked %d: got %d want %d",
				 modes[m], sup ? "sup" : "user", write ? "write" : "read",
				 unprot, locked, got, want);
		n++;
	}
	assert_int_equal(n, 4 * 2 * 2 * 2 * 2);
}

/*
 * The PKRS of the step that lets an unprotected access through: a read
 * opens reads only (AD cleared, WD kept: SDM Vol. 3A 4.6.2, WD blocks
 * supervisor writes with CR0.WP), so a MOVS from a read-unprotected page
 * cannot write a protected page of the same key; only a write opens both.
 */
static void test_hw_step_pkrs(void **state)
{
	u32 pkrs = PKRS_AD(3) | PKRS_WD(3) | PKRS_AD(5);

	(void)state;
	assert_int_equal(hw_pf_step_pkrs(pkrs, 3, false), PKRS_WD(3) | PKRS_AD(5));
	assert_int_equal(hw_pf_step_pkrs(pkrs, 3, true), PKRS_AD(5));
	assert_int_equal(hw_pf_step_pkrs(PKRS_WD(3), 3, false), PKRS_WD(3));
	assert_int_equal(hw_pf_step_pkrs(pkrs, 0, true), pkrs);
	assert_int_equal(hw_pf_step_pkrs(pkrs, 16, true), pkrs);
}

static void test_hw_unattributable(void **state)
{
	struct guest_walk w = walk_to(GPA, true, 5);

	(void)state;
	/* Walk failed, or key 0: the CPU's #PF goes to the guest unchanged. */
	for (int mode = PKSV_MODE_STRICT; mode <= PKSV_MODE_OFF; mode++) {
		assert_int_equal(hw_pf_decide(1, &w, false, mode, false), HW_PF_REINJECT);
		assert_int_equal(hw_pf_decide(-1, &w, false, mode, false), HW_PF_REINJECT);
		assert_int_equal(hw_pf_decide(0, NULL, false, mode, false), HW_PF_REINJECT);
	}
	w.key = 0;
	assert_int_equal(hw_pf_decide(0, &w, true, PKSV_MODE_OFF, false), HW_PF_REINJECT);
}

static void test_mode_opens(void **state)
{
	(void)state;
	assert_false(pk_mode_opens(PKSV_MODE_STRICT, false));
	assert_true(pk_mode_opens(PKSV_MODE_RELAXED, false));
	assert_true(pk_mode_opens(PKSV_MODE_SILENT, false));
	assert_true(pk_mode_opens(PKSV_MODE_OFF, false));
	for (int mode = PKSV_MODE_STRICT; mode <= PKSV_MODE_OFF; mode++)
		assert_false(pk_mode_opens(mode, true));
	assert_false(pk_mode_opens(99, false));
}

/*
 * What the hw backend enforces for a guest PKRS value (docs/pks.md, fault
 * modes; pks/pks.c pks_effective_pkrs()), written here from the docs as
 * the oracle: OFF enforces only locked keys; otherwise the guest's value
 * plus locked keys, minus openings of unlocked keys, minus grants.
 */
static u32 oracle_effective(int mode, u32 pkrs, u32 lock, u32 grant, u32 open)
{
	if (mode == PKSV_MODE_OFF)
		return lock & ~grant;
	return ((pkrs | lock) & ~(open & ~lock)) & ~grant;
}

/*
 * hw pass-through decision over every mode x lock x grant x opening
 * combination: PKRS RDMSR/WRMSR may pass through only in STRICT, RELAXED
 * or SILENT with nothing locked, granted or opened -- and then what the
 * CPU enforces must be exactly what the guest writes (the VMCS field is
 * the truth), for every guest value sampled.
 */
static void test_hw_pkrs_intercept(void **state)
{
	static const u32 masks[] = {
		0, PKRS_AD(1), PKRS_WD(1), PKRS_KEY_MASK(1), PKRS_KEY_MASK(15),
		PKRS_AD(3) | PKRS_KEY_MASK(7), 0xfffffffcu,
	};
	static const u32 guest_values[] = {
		0, PKRS_AD(1), PKRS_WD(1) | PKRS_AD(3), 0x55555554u, 0xfffffffcu,
	};
	const unsigned int n = sizeof(masks) / sizeof(masks[0]);
	unsigned int passthrough = 0;

	(void)state;
	for (int mode = PKSV_MODE_STRICT; mode <= PKSV_MODE_OFF; mode++)
		for (unsigned int l = 0; l < n; l++)
			for (unsigned int g = 0; g < n; g++)
				for (unsigned int o = 0; o < n; o++) {
					u32 lock = masks[l], grant = masks[g], open = masks[o];
					bool want = mode == PKSV_MODE_OFF || lock || grant || open;
					bool got = pks_hw_pkrs_intercept(mode, lock, grant, open);

					if (got != want)
						fail_msg("mode %d lock 0x%x grant 0x%x open 0x%x: intercept %d, want %d",
							 mode, lock, grant, open, got, want);
					if (got)
						continue;
					passthrough++;
					for (unsigned int v = 0; v < sizeof(guest_values) / sizeof(guest_values[0]); v++)
						assert_int_equal(oracle_effective(mode, guest_values[v], lock, grant, open),
								 guest_values[v]);
				}
	/* STRICT, RELAXED, SILENT with nothing pending. */
	assert_int_equal(passthrough, 3);
	/* Each input alone switches interception on. */
	assert_true(pks_hw_pkrs_intercept(PKSV_MODE_STRICT, PKRS_WD(2), 0, 0));
	assert_true(pks_hw_pkrs_intercept(PKSV_MODE_STRICT, 0, PKRS_AD(2), 0));
	assert_true(pks_hw_pkrs_intercept(PKSV_MODE_RELAXED, 0, 0, PKRS_KEY_MASK(2)));
	assert_true(pks_hw_pkrs_intercept(PKSV_MODE_OFF, 0, 0, 0));
	assert_false(pks_hw_pkrs_intercept(PKSV_MODE_STRICT, 0, 0, 0));
}

/*
 * A stand-in view must deny everything the wanted one denies: checked
 * against pks_view_perms() page by page for every key, not by formula.
 */
static void test_view_covers(void **state)
{
	static const u32 values[] = { 0, PKRS_AD(3), PKRS_WD(3), PKRS_AD(3) | PKRS_WD(3),
				      PKRS_AD(3) | PKRS_AD(7), 0x55555554u, 0xfffffffcu,
				      PKRS_WD(1) | PKRS_AD(15) };
	unsigned int n = sizeof(values) / sizeof(values[0]);

	(void)state;
	for (unsigned int i = 0; i < n; i++)
	for (unsigned int j = 0; j < n; j++)
	for (int vwp = 0; vwp < 2; vwp++)
	for (int wp = 0; wp < 2; wp++) {
		bool restricts_as_much = true;

		for (unsigned int k = 1; k < PKS_NR_KEYS; k++) {
			u64 view = pks_view_perms(values[i], vwp, k);
			u64 want = pks_view_perms(values[j], wp, k);

			if (view & ~want)
				restricts_as_much = false;
		}
		/* covers => restricts as much (never wider). */
		if (pk_view_covers(values[i], vwp, values[j], wp) && !restricts_as_much)
			fail_msg("view %#x wp %d covers %#x wp %d but allows more",
				 values[i], vwp, values[j], wp);
	}
	assert_true(pk_view_covers(0xfffffffcu, true, PKRS_AD(3), true));
	assert_true(pk_view_covers(PKRS_WD(3), true, PKRS_WD(3), false));
	assert_false(pk_view_covers(PKRS_WD(3), false, PKRS_WD(3), true));
	assert_false(pk_view_covers(PKRS_AD(3), true, PKRS_AD(4), true));
	assert_true(pk_view_covers(0, false, 0, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_soft_verdicts),
		cmocka_unit_test(test_soft_tied_to_translation),
		cmocka_unit_test(test_soft_no_walk_needed),
		cmocka_unit_test(test_hw_matrix),
		cmocka_unit_test(test_hw_step_pkrs),
		cmocka_unit_test(test_hw_unattributable),
		cmocka_unit_test(test_mode_opens),
		cmocka_unit_test(test_hw_pkrs_intercept),
		cmocka_unit_test(test_view_covers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
