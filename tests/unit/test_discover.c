// SPDX-License-Identifier: MIT
/*
 * Host tests for the soft backend's key discovery (pks/discover.c), the
 * real file linked with stubs for what it calls outside pks/keymap.c:
 *  - discover_table_written(): a write to a tracked guest table adds the
 *    keys of changed leaves, only those; a changed pointer to a lower
 *    table, or a table whose level is unknown, asks for a full rescan;
 *  - pks_hc_range(): argument checks (never pksvisor's pool, never above
 *    the EPT limit), and the first registration ends discovery and forgets
 *    what it had learnt;
 *  - a table write stepped across the end of discovery adds nothing
 *    (review finding 12).
 *  - discover_rescan() after discovery ended (a fake VMCS gives CR3,
 *    the scan is stubbed) learns nothing (review finding 12).
 * pks_cr3_load() is covered by the Bochs runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pksvisor/hypercall.h>
#include "../../pks/pks_internal.h"

/* ---- stubs ----------------------------------------------------------- */

static unsigned int invalidated, applied, selected;
static u64 fits_limit = ~0ull;	/* keyed bytes a view can restrict */

/* The real one weighs split tables against the pool; here: keyed bytes. */
bool views_keymap_fits(struct hv *hv)
{
	u64 keyed = 0;

	for (unsigned int i = 0; i < hv->pks.keymap.n; i++)
		keyed += hv->pks.keymap.r[i].end - hv->pks.keymap.r[i].start;
	return keyed <= fits_limit;
}

void views_invalidate(struct hv *hv) { (void)hv; invalidated++; }
void views_select(struct vcpu *vcpu) { (void)vcpu; selected++; }
void pks_apply(struct vcpu *vcpu) { (void)vcpu; applied++; }
bool pks_exposed(const struct hv *hv) { return hv->pks.backend != PKS_BACKEND_NONE; }
void pksv_log(const char *fmt, ...) { (void)fmt; }
void vcpu_flush_vpid_nonglobal(struct vcpu *vcpu) { (void)vcpu; }
void vmx_insn_failed(enum vmx_insn insn, u64 operand, u64 value, bool fail_invalid,
		     const char *file, int line)
{
	(void)insn; (void)operand; (void)value; (void)fail_invalid; (void)file; (void)line;
	abort();
}
/* The guest tables a scan finds: one keyed 4 KiB leaf when scan_gpa. */
static u64 scan_gpa;
static unsigned int scan_key;

int guest_scan_current(struct vcpu *vcpu, const struct guest_scan_ops *ops, void *ctx)
{
	(void)vcpu;
	if (scan_gpa)
		ops->keyed(ctx, scan_gpa, PAGE_SIZE, scan_key);
	return 0;
}

/* A fake VMCS (PKSV_HOST_TEST): only the guest CR3 is read. */
u64 vmread_at(u64 field, const char *file, int line)
{
	(void)file; (void)line;
	return field == VMCS_GUEST_CR3 ? 0x7000 : 0;
}

void vmwrite_at(u64 field, u64 value, const char *file, int line)
{
	(void)field; (void)value; (void)file; (void)line;
}

/* ---- fixture ---------------------------------------------------------- */

struct fx {
	struct hv *hv;
	struct vcpu *vcpu;
	u64 *table;		/* a guest page table, identity "mapped" */
	u64 snap[512];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->hv = calloc(1, sizeof(*f->hv));
	f->vcpu = calloc(1, sizeof(*f->vcpu));
	f->table = aligned_alloc(4096, 4096);
	memset(f->table, 0, 4096);
	f->vcpu->hv = f->hv;
	f->hv->pks.backend = PKS_BACKEND_SOFT;
	f->hv->pks.discovery = true;
	keymap_init(&f->hv->pks.keymap);
	f->hv->phys_limit = 512ull << 30;
	f->hv->pool.base = 0x40000000;
	f->hv->pool.size = 0x1000000;
	invalidated = applied = selected = 0;
	scan_gpa = 0;
	fits_limit = ~0ull;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->table);
	free(f->vcpu);
	free(f->hv);
	free(f);
	return 0;
}

static void track(struct fx *f, int level)
{
	struct pks_global *pks = &f->hv->pks;

	pks->tables[pks->nr_tables] = (u64)(uintptr_t)f->table;
	pks->table_level[pks->nr_tables++] = (u8)level;
	memcpy(f->snap, f->table, 4096);
}

#define LEAF(pa, key)	((pa) | 0x3 | ((u64)(key) << 59))

/* ---- discover_table_written ----------------------------------------- */

static void test_leaf_change_adds_key(void **state)
{
	struct fx *f = *state;
	struct pks_global *pks = &f->hv->pks;

	track(f, 1);
	f->table[7] = LEAF(0x1234000ull, 5);
	discover_table_written(f->vcpu, (u64)(uintptr_t)f->table, f->snap);
	assert_int_equal(keymap_lookup(&pks->keymap, 0x1234000ull), 5);
	assert_int_equal(keymap_lookup(&pks->keymap, 0x1235000ull), 0);
	assert_int_equal(invalidated, 1);
	assert_int_equal(f->vcpu->pks.rescan, PKS_RESCAN_NONE);
}

static void test_ad_bits_and_absent_ignored(void **state)
{
	struct fx *f = *state;

	f->table[3] = LEAF(0x5000ull, 2);
	track(f, 1);
	f->table[3] |= 0x60;		/* accessed + dirty only */
	f->table[4] = LEAF(0x6000ull, 4) & ~1ull;	/* not present */
	discover_table_written(f->vcpu, (u64)(uintptr_t)f->table, f->snap);
	assert_int_equal(keymap_lookup(&f->hv->pks.keymap, 0x6000ull), 0);
	assert_int_equal(invalidated, 0);
	assert_int_equal(f->vcpu->pks.rescan, PKS_RESCAN_NONE);
}

static void test_large_leaf(void **state)
{
	struct fx *f = *state;

	track(f, 2);			/* a PD: PS = 1 makes a 2 MiB leaf */
	f->table[1] = LEAF(0x40200000ull, 9) | 0x80;
	discover_table_written(f->vcpu, (u64)(uintptr_t)f->table, f->snap);
	assert_int_equal(keymap_lookup(&f->hv->pks.keymap, 0x40200000ull), 9);
	assert_int_equal(keymap_lookup(&f->hv->pks.keymap, 0x403ff000ull), 9);
	assert_int_equal(keymap_lookup(&f->hv->pks.keymap, 0x40400000ull), 0);
}

static void test_pointer_change_rescans(void **state)
{
	struct fx *f = *state;

	track(f, 2);
	f->table[2] = 0x7000ull | 0x3;	/* PDE pointing to a new PT */
	discover_table_written(f->vcpu, (u64)(uintptr_t)f->table, f->snap);
	assert_int_equal(f->vcpu->pks.rescan, PKS_RESCAN_ALL);
}

static void test_unknown_table_rescans(void **state)
{
	struct fx *f = *state;

	memcpy(f->snap, f->table, 4096);	/* written but not tracked */
	f->table[0] = LEAF(0x8000ull, 1);
	discover_table_written(f->vcpu, (u64)(uintptr_t)f->table, f->snap);
	assert_int_equal(keymap_lookup(&f->hv->pks.keymap, 0x8000ull), 0);
	assert_int_equal(f->vcpu->pks.rescan, PKS_RESCAN_ALL);
}

static void test_alias_with_second_key(void **state)
{
	struct fx *f = *state;
	struct pks_global *pks = &f->hv->pks;

	track(f, 1);
	f->table[0] = LEAF(0x9000ull, 3);
	f->table[1] = LEAF(0x9000ull, 6);	/* same page, another key */
	discover_table_written(f->vcpu, (u64)(uintptr_t)f->table, f->snap);
	assert_int_equal(keymap_lookup(&pks->keymap, 0x9000ull), 3);
	assert_int_equal(pks->nr_multi, 1);
	assert_int_equal(pks->multi[0].keys, (1u << 3) | (1u << 6));
}

/* ---- pks_hc_range ------------------------------------------------------ */

static void test_range_checks(void **state)
{
	struct fx *f = *state;
	struct vcpu *v = f->vcpu;

	assert_int_equal(pks_hc_range(v, 0x1001, 4096, 3, true), -PKSV_EALIGN);
	assert_int_equal(pks_hc_range(v, 0x1000, 0, 3, true), -PKSV_EINVAL);
	assert_int_equal(pks_hc_range(v, 0x1000, 4096, 0, true), -PKSV_EKEY);
	assert_int_equal(pks_hc_range(v, 0x1000, 4096, 16, true), -PKSV_EKEY);
	/* pksvisor's pool, even partly, and beyond the EPT limit */
	assert_int_equal(pks_hc_range(v, 0x40000000 - 4096, 8192, 3, true), -PKSV_EFAULT);
	assert_int_equal(pks_hc_range(v, 0x40fff000, 4096, 3, true), -PKSV_EFAULT);
	assert_int_equal(pks_hc_range(v, f->hv->phys_limit, 4096, 3, true), -PKSV_EFAULT);
	assert_int_equal(pks_hc_range(v, ~0xfffull, 4096, 3, true), -PKSV_EINVAL);
	assert_true(f->hv->pks.discovery);	/* nothing registered yet */
	f->hv->pks.backend = PKS_BACKEND_NONE;
	assert_int_equal(pks_hc_range(v, 0x1000, 4096, 3, true), -PKSV_ENOTSUP);
}

static void test_first_registration_ends_discovery(void **state)
{
	struct fx *f = *state;
	struct pks_global *pks = &f->hv->pks;

	track(f, 1);
	f->table[0] = LEAF(0xa000ull, 2);
	discover_table_written(f->vcpu, (u64)(uintptr_t)f->table, f->snap);
	assert_int_equal(keymap_lookup(&pks->keymap, 0xa000ull), 2);
	/* Registering the same page with another key: discovery forgotten. */
	assert_int_equal(pks_hc_range(f->vcpu, 0xa000, 4096, 7, true), 0);
	assert_false(pks->discovery);
	assert_int_equal(pks->nr_tables, 0);
	assert_int_equal(keymap_lookup(&pks->keymap, 0xa000ull), 7);
	assert_true(applied >= 1);
	assert_int_equal(pks_hc_range(f->vcpu, 0xa000, 4096, 0, false), 0);
	assert_int_equal(keymap_lookup(&pks->keymap, 0xa000ull), 0);
}

/* A keyed range no view could restrict is refused, the keymap unchanged. */
static void test_range_too_big(void **state)
{
	struct fx *f = *state;
	struct pks_global *pks = &f->hv->pks;

	fits_limit = 1ull << 30;
	assert_int_equal(pks_hc_range(f->vcpu, 0x100000000ull, 1ull << 30, 5, true), 0);
	assert_int_equal(pks_hc_range(f->vcpu, 0x200000000ull, 4096, 6, true), -PKSV_ENOSPC);
	assert_int_equal(keymap_lookup(&pks->keymap, 0x200000000ull), 0);
	assert_int_equal(keymap_lookup(&pks->keymap, 0x100000000ull), 5);
	assert_int_equal(pks->keymap.n, 1);
}

/*
 * The first registration forgets discovery and invalidates the views (a
 * pinned view the vCPU runs on may be dropped, out of memory): even when
 * the registration itself then fails, the vCPU's view is re-selected
 * before the guest runs again (it once entered on the freed view).
 */
static void test_failed_first_registration_reselects(void **state)
{
	struct fx *f = *state;
	struct pks_global *pks = &f->hv->pks;
	unsigned int inv0 = invalidated, app0 = applied;

	fits_limit = 4096;
	assert_true(pks->discovery);
	assert_int_equal(pks_hc_range(f->vcpu, 0x100000000ull, 8192, 5, true), -PKSV_ENOSPC);
	assert_false(pks->discovery);
	assert_true(invalidated > inv0);
	assert_true(applied > app0);
}

/* Discovery does not learn what no view could restrict (and warns). */
static void test_discovery_too_big(void **state)
{
	struct fx *f = *state;
	struct pks_global *pks = &f->hv->pks;

	fits_limit = 8192;
	track(f, 1);
	f->table[0] = LEAF(0xb000ull, 4);
	f->table[1] = LEAF(0xc000ull, 4);
	f->table[2] = LEAF(0xe000ull, 4);
	discover_table_written(f->vcpu, (u64)(uintptr_t)f->table, f->snap);
	assert_int_equal(keymap_lookup(&pks->keymap, 0xb000ull), 4);
	assert_int_equal(keymap_lookup(&pks->keymap, 0xc000ull), 4);
	assert_int_equal(keymap_lookup(&pks->keymap, 0xe000ull), 0);
}


/*
 * PKSV_HC_PV_RANGES: discovery ends as at a first registration (learnt
 * keys and tracked tables forgotten, views invalidated), registered
 * ranges are kept, and a second call or a call after registration is a
 * successful no-op.  Reserved flags and an absent PKS are refused.
 */
static void test_pv_ranges_ends_discovery(void **state)
{
	struct fx *f = *state;
	struct pks_global *pks = &f->hv->pks;
	unsigned int inv;

	track(f, 1);
	f->table[0] = LEAF(0xa000ull, 2);
	discover_table_written(f->vcpu, (u64)(uintptr_t)f->table, f->snap);
	assert_int_equal(keymap_lookup(&pks->keymap, 0xa000ull), 2);
	assert_int_equal(pks->nr_tables, 1);

	assert_int_equal(pks_hc_pv_ranges(f->vcpu, 1), -PKSV_EINVAL);
	assert_true(pks->discovery);
	inv = invalidated;
	assert_int_equal(pks_hc_pv_ranges(f->vcpu, 0), 0);
	assert_false(pks->discovery);
	assert_int_equal(pks->nr_tables, 0);
	assert_int_equal(keymap_lookup(&pks->keymap, 0xa000ull), 0);
	assert_int_equal(invalidated, inv + 1);
	assert_true(applied >= 1);

	/* Ranges registered afterwards survive a second call untouched. */
	assert_int_equal(pks_hc_range(f->vcpu, 0xb000, 4096, 5, true), 0);
	inv = invalidated;
	assert_int_equal(pks_hc_pv_ranges(f->vcpu, 0), 0);
	assert_int_equal(keymap_lookup(&pks->keymap, 0xb000ull), 5);
	assert_int_equal(invalidated, inv);
	assert_false(pks->discovery);
}

/*
 * Review finding 12: vCPU B single-steps a write to a tracked table while
 * vCPU A's PV_RANGES ends discovery; B's step ends afterwards.  The
 * discovered key must not come back: the keymap is the guest's now.
 */
static void test_table_write_after_pv_ranges(void **state)
{
	struct fx *f = *state;
	struct pks_global *pks = &f->hv->pks;
	unsigned int inv;

	track(f, 1);				/* B's step begins: snapshot */
	f->table[9] = LEAF(0xe000ull, 6);	/* B's stepped write */
	assert_int_equal(pks_hc_pv_ranges(f->vcpu, 0), 0);	/* A */
	inv = invalidated;
	discover_table_written(f->vcpu, (u64)(uintptr_t)f->table, f->snap);	/* B's step ends */
	assert_int_equal(keymap_lookup(&pks->keymap, 0xe000ull), 0);
	assert_int_equal(pks->keymap.n, 0);
	assert_int_equal(invalidated, inv);
	assert_false(pks->discovery);
	/* A registration of that page under another key still works. */
	assert_int_equal(pks_hc_range(f->vcpu, 0xe000, 4096, 3, true), 0);
	assert_int_equal(keymap_lookup(&pks->keymap, 0xe000ull), 3);
}

/*
 * The same race through the rescan: views_select() saw discovery on and a
 * rescan due, then vCPU A's PV_RANGES ended discovery before B's
 * discover_rescan() took the lock.  The scan must not learn keys.
 */
static void test_rescan_after_pv_ranges(void **state)
{
	struct fx *f = *state;
	struct pks_global *pks = &f->hv->pks;
	unsigned int inv;

	f->vcpu->pks.rescan = PKS_RESCAN_ALL;	/* B: a table write stepped */
	assert_int_equal(pks_hc_pv_ranges(f->vcpu, 0), 0);	/* A */
	inv = invalidated;
	scan_gpa = 0xf000;
	scan_key = 7;
	discover_rescan(f->vcpu);		/* B, past its unlocked check */
	assert_int_equal(keymap_lookup(&pks->keymap, 0xf000ull), 0);
	assert_int_equal(pks->keymap.n, 0);
	assert_int_equal(pks->nr_roots, 0);
	assert_int_equal(invalidated, inv);
	assert_int_equal(f->vcpu->pks.rescan, PKS_RESCAN_NONE);
	assert_int_equal(pks_hc_range(f->vcpu, 0xf000, 4096, 3, true), 0);
}

/* The scan stub itself is live: with discovery on it does learn the key. */
static void test_rescan_learns_during_discovery(void **state)
{
	struct fx *f = *state;

	f->vcpu->pks.rescan = PKS_RESCAN_ALL;
	scan_gpa = 0xf000;
	scan_key = 7;
	discover_rescan(f->vcpu);
	assert_int_equal(keymap_lookup(&f->hv->pks.keymap, 0xf000ull), 7);
}

static void test_pv_ranges_after_registration(void **state)
{
	struct fx *f = *state;
	struct pks_global *pks = &f->hv->pks;
	unsigned int inv;

	assert_int_equal(pks_hc_range(f->vcpu, 0xc000, 8192, 4, true), 0);
	inv = invalidated;
	assert_int_equal(pks_hc_pv_ranges(f->vcpu, 0), 0);
	assert_int_equal(invalidated, inv);
	assert_int_equal(keymap_lookup(&pks->keymap, 0xd000ull), 4);

	f->hv->pks.backend = PKS_BACKEND_NONE;
	assert_int_equal(pks_hc_pv_ranges(f->vcpu, 0), -PKSV_ENOTSUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_leaf_change_adds_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_first_registration_reselects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ad_bits_and_absent_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_leaf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pointer_change_rescans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_table_rescans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias_with_second_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_registration_ends_discovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discovery_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pv_ranges_ends_discovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pv_ranges_after_registration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_write_after_pv_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rescan_after_pv_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rescan_learns_during_discovery, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
