// SPDX-License-Identifier: MIT
/*
 * Unit tests for pks/pks_rules.c.  The expected verdicts come from tables
 * written out by hand from SDM Vol. 3A 4.6.2, not from a formula that
 * mirrors the implementation: one table says which (AD, WD, CR0.WP, access)
 * combinations deny when PKS applies, one says when PKS applies at all.
 * The test runs the full cross product of both against pks_denies().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <pksvisor/pks.h>
#include <pksvisor/ept.h>

enum acc { RD, WR, FE };
static const char *const acc_name[] = { "read", "write", "fetch" };

/*
 * Rights of a supervisor data access to a keyed supervisor page, PKS on:
 * SDM 4.6.2 -- AD denies every data access; WD denies writes only with
 * CR0.WP = 1; fetches are never key-checked.
 */
static const struct {
	bool ad, wd, wp;
	enum acc acc;
	bool deny;
} rights[] = {
	/* ad  wd     wp     acc  deny */
	{ false, false, false, RD, false },
	{ false, false, false, WR, false },
	{ false, false, false, FE, false },
	{ false, false, true,  RD, false },
	{ false, false, true,  WR, false },
	{ false, false, true,  FE, false },
	{ false, true,  false, RD, false },
	{ false, true,  false, WR, false },	/* WD ignored without WP */
	{ false, true,  false, FE, false },
	{ false, true,  true,  RD, false },
	{ false, true,  true,  WR, true  },
	{ false, true,  true,  FE, false },
	{ true,  false, false, RD, true  },
	{ true,  false, false, WR, true  },
	{ true,  false, false, FE, false },
	{ true,  false, true,  RD, true  },
	{ true,  false, true,  WR, true  },
	{ true,  false, true,  FE, false },
	{ true,  true,  false, RD, true  },
	{ true,  true,  false, WR, true  },
	{ true,  true,  false, FE, false },
	{ true,  true,  true,  RD, true  },
	{ true,  true,  true,  WR, true  },
	{ true,  true,  true,  FE, false },
};

static bool rights_deny(bool ad, bool wd, bool wp, enum acc acc)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rights); i++)
		if (rights[i].ad == ad && rights[i].wd == wd &&
		    rights[i].wp == wp && rights[i].acc == acc)
			return rights[i].deny;
	fail_msg("rights table lacks a row");
	return false;
}

/*
 * When the key is looked at at all (the data-access part is in the
 * rights table above), per SDM Vol. 3A 4.6.2: CR4.PKS, long paging, a
 * supervisor-mode access (user-mode accesses are PKU's), a supervisor-mode
 * page.  Every key, key 0 included: the SDM makes no exception for it.
 */
static bool pks_applies(bool cr4_pks, bool long_paging, bool user_mode,
			bool supervisor_page)
{
	return cr4_pks && long_paging && !user_mode && supervisor_page;
}

/*
 * pksvisor's one documented deviation (pks/pks_rules.c, docs/pks.md): key 0
 * is never restricted.  Asserted on its own (test_key0_deviation), so that
 * the matrix above stays the SDM's.
 */
static bool deviates(unsigned int key)
{
	return key == 0;
}

/*
 * A PKRS with the key's bits as asked and every other key's bits set to
 * the complement, so that reading the wrong key's bits shows.
 */
static u32 pkrs_for(unsigned int key, bool ad, bool wd)
{
	u32 v = 0;
	unsigned int k;

	for (k = 0; k < PKS_NR_KEYS; k++) {
		bool a = k == key ? ad : !ad;
		bool w = k == key ? wd : !wd;

		if (a)
			v |= PKRS_AD(k);
		if (w)
			v |= PKRS_WD(k);
	}
	return v;
}

static void test_deny_matrix(void **state)
{
	unsigned int combos = 0, denied = 0, sdm_key0_denied = 0;
	int ad, wd, wp, sp, um, acc, cr4, lp;
	unsigned int key;

	(void)state;

	for (key = 0; key < PKS_NR_KEYS; key++)
	for (ad = 0; ad < 2; ad++)
	for (wd = 0; wd < 2; wd++)
	for (wp = 0; wp < 2; wp++)
	for (sp = 0; sp < 2; sp++)
	for (um = 0; um < 2; um++)
	for (acc = RD; acc <= FE; acc++)
	for (cr4 = 0; cr4 < 2; cr4++)
	for (lp = 0; lp < 2; lp++) {
		struct pks_access a = {
			.write = acc == WR,
			.fetch = acc == FE,
			.user_mode = um,
			.supervisor_page = sp,
			.key = key,
			.cr4_pks = cr4,
			.cr0_wp = wp,
			.long_paging = lp,
			.pkrs = pkrs_for(key, ad, wd),
		};
		bool want = pks_applies(cr4, lp, um, sp) &&
			    rights_deny(ad, wd, wp, acc);
		bool got = pks_denies(&a);

		if (deviates(key)) {
			sdm_key0_denied += want;
			want = false;	/* the deviation, checked separately */
		}

		if (got != want)
			fail_msg("key %u ad %d wd %d wp %d %s page, %s mode, %s, "
				 "cr4.pks %d long %d: got %d want %d",
				 key, ad, wd, wp, sp ? "sup" : "user",
				 um ? "user" : "sup", acc_name[acc], cr4, lp,
				 got, want);
		combos++;
		denied += want;
	}
	/* 16 keys x 4 AD/WD x 2 WP x 2 page x 2 mode x 3 acc x 2 x 2 */
	assert_int_equal(combos, 16 * 4 * 2 * 2 * 2 * 3 * 2 * 2);
	/* Per key 1..15: AD rd/wr x 2 wd x 2 wp = 8, WD-only wr wp = 1. */
	assert_int_equal(denied, 15 * 9);
	/* The SDM denies key 0 exactly like the others: 9 cases. */
	assert_int_equal(sdm_key0_denied, 9);
}

/*
 * Key 0: the SDM checks it like any key (4.6.2); pksvisor never restricts
 * it (docs/pks.md "key 0 is never restricted").  Both halves asserted: the
 * SDM's verdict from the tables, pksvisor's from pks_denies() and the view
 * permissions.
 */
static void test_key0_deviation(void **state)
{
	int ad, wd, wp, acc;

	(void)state;
	for (ad = 0; ad < 2; ad++)
	for (wd = 0; wd < 2; wd++)
	for (wp = 0; wp < 2; wp++)
	for (acc = RD; acc <= FE; acc++) {
		struct pks_access a = {
			.write = acc == WR, .fetch = acc == FE,
			.supervisor_page = true, .key = 0, .cr4_pks = true,
			.cr0_wp = wp, .long_paging = true,
			.pkrs = pkrs_for(0, ad, wd),
		};
		bool sdm = pks_applies(true, true, false, true) &&
			   rights_deny(ad, wd, wp, acc);

		/* AD on a data access, or WD on a write with WP: SDM denies. */
		assert_int_equal(sdm, (ad && acc != FE) || (wd && wp && acc == WR));
		assert_false(pks_denies(&a));
		assert_int_equal(pks_view_perms(a.pkrs, wp, 0), EPT_RWX);
	}
}

/* Hand-picked rows, so a failure names a familiar case. */
static void test_deny_examples(void **state)
{
	struct pks_access a = {
		.supervisor_page = true, .key = 3, .cr4_pks = true,
		.cr0_wp = true, .long_paging = true, .pkrs = PKRS_AD(3),
	};

	(void)state;

	assert_true(pks_denies(&a));
	a.fetch = true;
	assert_false(pks_denies(&a));
	a.fetch = false;
	a.pkrs = PKRS_WD(3);
	assert_false(pks_denies(&a));
	a.write = true;
	assert_true(pks_denies(&a));
	a.cr0_wp = false;
	assert_false(pks_denies(&a));
	a.cr0_wp = true;
	a.pkrs = PKRS_AD(2) | PKRS_WD(2) | PKRS_AD(4) | PKRS_WD(4);
	assert_false(pks_denies(&a));
	/* Key 15's bits are the top of the 32-bit PKRS. */
	a.key = 15;
	a.pkrs = 0x80000000u;		/* WD(15) */
	assert_true(pks_denies(&a));
	a.write = false;
	assert_false(pks_denies(&a));
	a.pkrs = 0x40000000u;		/* AD(15) */
	assert_true(pks_denies(&a));
}

static void test_error_code(void **state)
{
	struct pks_access a = {
		.supervisor_page = true, .key = 1, .cr4_pks = true,
		.cr0_wp = true, .long_paging = true, .pkrs = PKRS_AD(1),
	};

	(void)state;

	/* SDM 4.7: P | PK for a read, plus W/R for a write; never U or I. */
	assert_int_equal(pks_pf_error_code(&a), 0x21);
	a.write = true;
	assert_int_equal(pks_pf_error_code(&a), 0x23);
	a.pkrs = PKRS_WD(1);
	assert_int_equal(pks_pf_error_code(&a), 0x23);
	assert_int_equal(PFEC_PK, 0x20);
}

static void test_view_perms(void **state)
{
	/* Each key gets AD, WD, both or nothing, in a different pattern. */
	static const u32 pkrs_values[] = {
		0x00000000u, 0xffffffffu, 0x55555555u, 0xaaaaaaaau,
		0x1b1b1b1bu, 0xe4e4e4e4u, 0x0000000fu, 0xc0000000u,
	};
	/* Expected perms indexed by [wd][ad] for WP = 0 and WP = 1. */
	static const u64 want_wp0[2][2] = {
		{ EPT_RWX, EPT_EXEC }, { EPT_RWX, EPT_EXEC },
	};
	static const u64 want_wp1[2][2] = {
		{ EPT_RWX, EPT_EXEC }, { EPT_READ | EPT_EXEC, EPT_EXEC },
	};
	size_t i;
	unsigned int k;
	int wp;

	(void)state;

	for (i = 0; i < ARRAY_SIZE(pkrs_values); i++)
	for (wp = 0; wp < 2; wp++)
	for (k = 0; k < PKS_NR_KEYS; k++) {
		u32 v = pkrs_values[i];
		int ad = (v >> (2 * k)) & 1;
		int wd = (v >> (2 * k + 1)) & 1;
		u64 want = k == 0 ? EPT_RWX :
			   wp ? want_wp1[wd][ad] : want_wp0[wd][ad];
		u64 got = pks_view_perms(v, wp, k);

		if (got != want)
			fail_msg("pkrs %#x wp %d key %u: got %#llx want %#llx",
				 v, wp, k, got, want);
	}
	assert_int_equal(pks_view_perms(PKRS_AD(5), true, 5), EPT_EXEC);
	assert_int_equal(pks_view_perms(PKRS_WD(5), true, 5),
			 EPT_READ | EPT_EXEC);
	assert_int_equal(pks_view_perms(PKRS_WD(5), false, 5), EPT_RWX);
	assert_int_equal(pks_view_perms(PKRS_AD(0) | PKRS_WD(0), true, 0),
			 EPT_RWX);
}

static void test_view_agrees_with_deny(void **state)
{
	/*
	 * The soft backend's promise: in the view of pkrs, an EPT
	 * permission is missing exactly when PKS would deny that access
	 * (for a supervisor-mode access to a supervisor page, PKS on).
	 */
	u32 pkrs;
	unsigned int k;
	int wp;

	(void)state;

	for (pkrs = 0; pkrs < 0x10000u; pkrs += 0x1111u)
	for (wp = 0; wp < 2; wp++)
	for (k = 0; k < PKS_NR_KEYS; k++) {
		u32 v = pkrs | pkrs << 16;
		struct pks_access a = {
			.supervisor_page = true, .key = k, .cr4_pks = true,
			.cr0_wp = wp, .long_paging = true, .pkrs = v,
		};
		u64 perms = pks_view_perms(v, wp, k);

		assert_int_equal(!(perms & EPT_READ), pks_denies(&a));
		a.write = true;
		assert_int_equal(!(perms & EPT_WRITE), pks_denies(&a));
		a.write = false;
		a.fetch = true;
		assert_int_equal(!(perms & EPT_EXEC), pks_denies(&a));
	}
}

#define HW_CPU	"pks=hw: CPU lacks PKS (CPUID.(7,0):ECX[31])"
#define HW_VMX	"pks=hw: VMX lacks the load-IA32_PKRS entry/exit controls"

static void test_backend_matrix(void **state)
{
	static const struct {
		enum pks_request req;
		bool cpu, vmx, ept;
		int want;
		const char *err;	/* NULL: empty; "*": any non-empty */
	} rows[] = {
		/* req          cpu    vmx    ept    result */
		{ PKS_REQ_AUTO, false, false, false, PKS_BACKEND_NONE, NULL },
		{ PKS_REQ_AUTO, false, false, true,  PKS_BACKEND_SOFT, NULL },
		{ PKS_REQ_AUTO, false, true,  false, PKS_BACKEND_NONE, NULL },
		{ PKS_REQ_AUTO, false, true,  true,  PKS_BACKEND_SOFT, NULL },
		{ PKS_REQ_AUTO, true,  false, false, PKS_BACKEND_NONE, NULL },
		{ PKS_REQ_AUTO, true,  false, true,  PKS_BACKEND_SOFT, NULL },
		{ PKS_REQ_AUTO, true,  true,  false, PKS_BACKEND_HW,   NULL },
		{ PKS_REQ_AUTO, true,  true,  true,  PKS_BACKEND_HW,   NULL },
		{ PKS_REQ_HW,   false, false, false, -1, HW_CPU },
		{ PKS_REQ_HW,   false, false, true,  -1, HW_CPU },
		{ PKS_REQ_HW,   false, true,  false, -1, HW_CPU },
		{ PKS_REQ_HW,   false, true,  true,  -1, HW_CPU },
		{ PKS_REQ_HW,   true,  false, false, -1, HW_VMX },
		{ PKS_REQ_HW,   true,  false, true,  -1, HW_VMX },
		{ PKS_REQ_HW,   true,  true,  false, PKS_BACKEND_HW,   NULL },
		{ PKS_REQ_HW,   true,  true,  true,  PKS_BACKEND_HW,   NULL },
		{ PKS_REQ_SOFT, false, false, false, -1, "*" },
		{ PKS_REQ_SOFT, false, false, true,  PKS_BACKEND_SOFT, NULL },
		{ PKS_REQ_SOFT, false, true,  false, -1, "*" },
		{ PKS_REQ_SOFT, false, true,  true,  PKS_BACKEND_SOFT, NULL },
		{ PKS_REQ_SOFT, true,  false, false, -1, "*" },
		{ PKS_REQ_SOFT, true,  false, true,  PKS_BACKEND_SOFT, NULL },
		{ PKS_REQ_SOFT, true,  true,  false, -1, "*" },
		{ PKS_REQ_SOFT, true,  true,  true,  PKS_BACKEND_SOFT, NULL },
		{ PKS_REQ_OFF,  false, false, false, PKS_BACKEND_NONE, NULL },
		{ PKS_REQ_OFF,  false, false, true,  PKS_BACKEND_NONE, NULL },
		{ PKS_REQ_OFF,  false, true,  false, PKS_BACKEND_NONE, NULL },
		{ PKS_REQ_OFF,  false, true,  true,  PKS_BACKEND_NONE, NULL },
		{ PKS_REQ_OFF,  true,  false, false, PKS_BACKEND_NONE, NULL },
		{ PKS_REQ_OFF,  true,  false, true,  PKS_BACKEND_NONE, NULL },
		{ PKS_REQ_OFF,  true,  true,  false, PKS_BACKEND_NONE, NULL },
		{ PKS_REQ_OFF,  true,  true,  true,  PKS_BACKEND_NONE, NULL },
	};
	size_t i;

	(void)state;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		char err[128];
		int got;

		memset(err, 'x', sizeof(err));
		got = pks_select_backend(rows[i].req, rows[i].cpu, rows[i].vmx,
					 rows[i].ept, err, sizeof(err));
		if (got != rows[i].want)
			fail_msg("row %zu: got %d want %d", i, got,
				 rows[i].want);
		assert_non_null(memchr(err, '\0', sizeof(err)));
		if (!rows[i].err)
			assert_string_equal(err, "");
		else if (!strcmp(rows[i].err, "*"))
			assert_true(strlen(err) > 0 &&
				    !strncmp(err, "pks=soft", 8));
		else
			assert_string_equal(err, rows[i].err);
	}
}

static void test_backend_errbuf(void **state)
{
	char small[8];

	(void)state;

	/* Truncated, still terminated; a NULL buffer is fine too. */
	memset(small, 'x', sizeof(small));
	assert_int_equal(pks_select_backend(PKS_REQ_HW, false, false, false,
					    small, sizeof(small)), -1);
	assert_string_equal(small, "pks=hw:");
	assert_int_equal(pks_select_backend(PKS_REQ_HW, false, false, false,
					    NULL, 0), -1);
	assert_int_equal(pks_select_backend(PKS_REQ_AUTO, true, true, true,
					    NULL, 0), PKS_BACKEND_HW);
}

static void test_backend_name(void **state)
{
	(void)state;
	assert_string_equal(pks_backend_name(PKS_BACKEND_NONE), "off");
	assert_string_equal(pks_backend_name(PKS_BACKEND_HW), "hw");
	assert_string_equal(pks_backend_name(PKS_BACKEND_SOFT), "soft");
	/* The hypercall ABI reports the same numbers. */
	assert_int_equal(PKS_BACKEND_NONE, 0);
	assert_int_equal(PKS_BACKEND_HW, 1);
	assert_int_equal(PKS_BACKEND_SOFT, 2);
	assert_non_null(pks_backend_name(-1));
	assert_non_null(pks_backend_name(7));
}

/*
 * hw backend: which PK faults pksvisor may act on.  Written out from SDM
 * Vol. 3A 4.6.2 / 4.7: only a supervisor-mode access (PFEC.U = 0) to a
 * supervisor-mode address is a PKS fault; a PKRU fault (user page) or a
 * fault the walk cannot explain is the guest's.
 */
static void test_hw_fault_is_pkrs(void **state)
{
	static const struct {
		u32 pfec;
		bool walk_ok, sup_page, pkrs;
	} t[] = {
		/* pfec                         walk   sup    PKS? */
		{ PFEC_P | PFEC_PK,             true,  true,  true  },	/* sup read */
		{ PFEC_P | PFEC_W | PFEC_PK,    true,  true,  true  },	/* sup write */
		{ PFEC_P | PFEC_PK,             true,  false, false },	/* PKRU: sup read of a user page */
		{ PFEC_P | PFEC_W | PFEC_PK,    true,  false, false },	/* PKRU: sup write of a user page */
		{ PFEC_P | PFEC_U | PFEC_PK,    true,  false, false },	/* PKRU: user read */
		{ PFEC_P | PFEC_U | PFEC_PK,    true,  true,  false },	/* CPL3 to a sup page (Bochs order) */
		{ PFEC_P | PFEC_PK,             false, false, false },	/* walk failed */
		{ PFEC_P | PFEC_W,              true,  true,  false },	/* not a PK fault */
		{ PFEC_P,                       true,  true,  false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool got = pks_hw_fault_is_pkrs(t[i].pfec, t[i].walk_ok, t[i].sup_page);

		if (got != t[i].pkrs)
			fail_msg("row %zu: pfec 0x%x walk %d sup %d: got %d, want %d", i,
				 t[i].pfec, t[i].walk_ok, t[i].sup_page, got, t[i].pkrs);
	}
}

static void test_pkrs_valid(void **state)
{
	(void)state;
	assert_true(pks_pkrs_valid(0));
	assert_true(pks_pkrs_valid(0xffffffffull));
	assert_false(pks_pkrs_valid(1ull << 32));
	assert_false(pks_pkrs_valid(1ull << 63));
	assert_int_equal(PTE_KEY(0x7800000000000000ull), 15);
	assert_int_equal(PTE_KEY(0x8000000000000000ull), 0);
	assert_int_equal(PTE_KEY(1ull << 59), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deny_matrix),
		cmocka_unit_test(test_key0_deviation),
		cmocka_unit_test(test_deny_examples),
		cmocka_unit_test(test_error_code),
		cmocka_unit_test(test_view_perms),
		cmocka_unit_test(test_view_agrees_with_deny),
		cmocka_unit_test(test_backend_matrix),
		cmocka_unit_test(test_backend_errbuf),
		cmocka_unit_test(test_backend_name),
		cmocka_unit_test(test_pkrs_valid),
		cmocka_unit_test(test_hw_fault_is_pkrs),
	};

	return cmocka_run_group_tests_name("pks_rules", tests, NULL, NULL);
}
