// SPDX-License-Identifier: MIT
/*
 * Unit tests for the soft backend's EPT views: the real pks/views.c,
 * pks/view_perms.c and pks/unprotect_vmm.c (LOCK_KEY), linked with the
 * real EPT, keymap, unprotect-table and PKS-rule code and small stubs for
 * the vmm/ functions they call (tests/unit/stub_vmm.c).  Nothing here
 * executes a VMX instruction: the paths tested (views_init,
 * PKSV_HC_VIEW_INDEX, views_invalidate, LOCK_KEY, view_page_perms) never
 * touch the VMCS.
 *
 * The guest-physical space is abstract: [0, 64 MiB) identity mapped, the
 * "reservation" (page pool) at [16 MiB, 17 MiB) hidden in the base EPT as
 * vmm/build.c does.  What is checked:
 *  - hidden pages have no right in any view, for every key mix (keymap
 *    ranges and multi-key aliases over the reservation, unprotect entries,
 *    tracked tables, a base EPT mid-way through a refused access);
 *  - every other page gets exactly base & key rules & unprotect;
 *  - the EPTP list holds an invalid EPTP everywhere but at pinned views;
 *  - pinned views honour locked keys, before and after the lock;
 *  - a rebuilt or dropped view is never reachable through a stale entry;
 *  - each vCPU's list catches up at its own refresh (VM entry).
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
#include <pksvisor/page_pool.h>
#include "stub_vmm.h"

#define MiB		(1ull << 20)
#define POOL_BASE	(16 * MiB)
#define POOL_SIZE	(1 * MiB)
#define NORMAL_PAGE	(8 * MiB)		/* keyed page outside the pool */
#define ALIAS_PAGE	(9 * MiB)		/* multi-key alias outside the pool */

static struct hv *hv;
static struct vcpu *vcpu;

/* SDM 26.2.1.1 / 27.2.1.1 EPTP checks that VMFUNC applies (26.5.6.3). */
static bool eptp_valid(u64 eptp)
{
	u64 mt = eptp & 7, walk = (eptp >> 3) & 7;

	return (mt == 0 || mt == 6) && walk == 3 && !(eptp & 0xf80);
}

/* The vCPU's EPTP list as its next VM entry sees it (pks_entry_check()). */
static u64 *list(void)
{
	views_list_refresh(vcpu);
	return (u64 *)(uintptr_t)vcpu->pks.eptp_list_pa;
}

static u64 perms_in(struct ept *e, u64 gpa)
{
	int level;
	u64 *p = ept_lookup(e, gpa, &level);

	return p ? *p & EPT_RWX : 0;
}

static int setup(void **state)
{
	(void)state;
	hv = calloc(1, sizeof(*hv));
	vcpu = calloc(1, sizeof(*vcpu));
	assert_non_null(hv);
	assert_non_null(vcpu);
	vcpu->hv = hv;
	hv->pool.base = POOL_BASE;
	hv->pool.size = POOL_SIZE;
	hv->phys_limit = 64 * MiB;
	hv->msrs.ept_vpid_cap = BIT(0);		/* execute-only EPT pages */
	hv->vmx.has_vmfunc_eptp = true;
	assert_int_equal(ept_init(&hv->ept, pool_alloc_ept, &hv->pool, false), 0);
	assert_int_equal(ept_map_identity(&hv->ept, 0, hv->phys_limit, NULL), 0);
	for (u64 pa = POOL_BASE; pa < POOL_BASE + POOL_SIZE; pa += PAGE_SIZE)
		assert_int_equal(ept_protect_4k(&hv->ept, pa, 0), 0);
	hv->eptp = ept_eptp(&hv->ept, false);
	hv->scratch_hpa = stub_alloc_page();
	hv->pks.backend = PKS_BACKEND_SOFT;
	hv->pks.mode = PKSV_MODE_STRICT;
	hv->pks.generation = 1;
	keymap_init(&hv->pks.keymap);
	unprotect_init(&hv->pks.unprotect);
	assert_int_equal(views_init(hv), 0);
	assert_int_equal(views_vcpu_init(vcpu), 0);
	stub_reset();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(vcpu);
	free(hv);
	return 0;
}

/* Every list entry: the view's EPTP iff the slot holds a pinned view. */
static void assert_list_consistent(void)
{
	struct pks_global *pks = &hv->pks;

	for (unsigned int i = 0; i < 512; i++) {
		bool reachable = i > 0 && i < PKS_MAX_VIEWS && pks->views[i].valid &&
				 pks->views[i].pinned;

		if (reachable) {
			assert_int_equal(list()[i], pks->views[i].eptp);
			assert_true(eptp_valid(list()[i]));
		} else {
			assert_false(eptp_valid(list()[i]));
		}
		assert_int_not_equal(list()[i], hv->eptp);	/* never the base */
	}
}

static void test_list_invalid_at_start(void **state)
{
	(void)state;
	assert_false(eptp_valid(EPTP_LIST_INVALID));
	assert_true(eptp_valid(hv->eptp));
	for (unsigned int i = 0; i < 512; i++)
		assert_int_equal(list()[i], EPTP_LIST_INVALID);
	assert_list_consistent();
}

static void test_pin_publishes_only_pinned(void **state)
{
	u64 idx0 = 99, idx1 = 99;

	(void)state;
	assert_int_equal(keymap_add(&hv->pks.keymap, NORMAL_PAGE, PAGE_SIZE, 3, KEYMAP_PV), 0);
	assert_int_equal(pks_hc_view_index(vcpu, 0, &idx0), 0);
	assert_int_equal(pks_hc_view_index(vcpu, PKRS_AD(3), &idx1), 0);
	assert_true(idx0 >= 1 && idx0 < PKS_MAX_VIEWS);
	assert_true(idx1 >= 1 && idx1 < PKS_MAX_VIEWS && idx1 != idx0);
	assert_list_consistent();
	assert_int_equal(perms_in(&hv->pks.views[idx0].ept, NORMAL_PAGE), EPT_RWX);
	assert_int_equal(perms_in(&hv->pks.views[idx1].ept, NORMAL_PAGE), EPT_EXEC);
	/* Asking again gives the same slot; invalid PKRS changes nothing. */
	assert_int_equal(pks_hc_view_index(vcpu, 0, &idx1), 0);
	assert_int_equal(idx1, idx0);
	assert_int_equal(pks_hc_view_index(vcpu, 1ull << 32, &idx1), -PKSV_EINVAL);
	assert_list_consistent();
}

/* Pinned views are built with CR0.WP = 1 whatever the guest's CR0.WP. */
static void test_pinned_view_uses_wp(void **state)
{
	u64 idx = 0;

	(void)state;
	vcpu->cr0_shadow = 0;		/* guest WP clear */
	assert_int_equal(keymap_add(&hv->pks.keymap, NORMAL_PAGE, PAGE_SIZE, 3, KEYMAP_PV), 0);
	assert_int_equal(pks_hc_view_index(vcpu, PKRS_WD(3), &idx), 0);
	assert_true(hv->pks.views[idx].wp);
	assert_int_equal(perms_in(&hv->pks.views[idx].ept, NORMAL_PAGE), EPT_READ | EPT_EXEC);
}

static void test_pin_limit(void **state)
{
	u64 idx;
	unsigned int n = 0;

	(void)state;
	for (unsigned int k = 1; k <= 15; k++) {
		s64 r = pks_hc_view_index(vcpu, PKRS_AD(k), &idx);

		if (r == 0)
			n++;
		else
			assert_int_equal(r, -PKSV_ENOSPC);
		assert_list_consistent();
	}
	assert_int_equal(n, PKS_MAX_VIEWS - 3);	/* docs/hypercalls.md: 5 */
}

/* LOCK_KEY after pinning: the pinned view is rebuilt with the key closed. */
static void test_lock_closes_pinned_views(void **state)
{
	u64 idx0, idx_again;

	(void)state;
	assert_int_equal(keymap_add(&hv->pks.keymap, NORMAL_PAGE, PAGE_SIZE, 3, KEYMAP_PV), 0);
	assert_int_equal(pks_hc_view_index(vcpu, 0, &idx0), 0);
	assert_int_equal(perms_in(&hv->pks.views[idx0].ept, NORMAL_PAGE), EPT_RWX);
	assert_int_equal(pks_hc_lock_key(vcpu, 3), 0);
	assert_list_consistent();
	/* The index handed out still works, and no longer opens key 3. */
	assert_true(hv->pks.views[idx0].valid && hv->pks.views[idx0].pinned);
	assert_int_equal(hv->pks.views[idx0].pkrs & (PKRS_AD(3) | PKRS_WD(3)),
			 PKRS_AD(3) | PKRS_WD(3));
	assert_int_equal(perms_in(&hv->pks.views[idx0].ept, NORMAL_PAGE), EPT_EXEC);
	/* Pinning PKRS = 0 after the lock gives a view with key 3 closed. */
	assert_int_equal(pks_hc_view_index(vcpu, 0, &idx_again), 0);
	assert_int_equal(idx_again, idx0);
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++)
		if (hv->pks.views[i].valid && hv->pks.views[i].pinned)
			assert_int_equal(perms_in(&hv->pks.views[i].ept, NORMAL_PAGE) &
					 (EPT_READ | EPT_WRITE), 0);
	assert_int_equal(stub_apply_calls(), 1);	/* LOCK_KEY re-selects */
	/* The lock is global: the other vCPUs are shot down before it returns. */
	assert_int_equal(stub_shootdown_calls(), 1);
}

/* A rebuilt view: its entry changes with it; a failed rebuild drops it. */
static void test_rebuild_and_drop(void **state)
{
	u64 idx;

	(void)state;
	assert_int_equal(pks_hc_view_index(vcpu, PKRS_AD(3), &idx), 0);
	assert_int_equal(keymap_add(&hv->pks.keymap, NORMAL_PAGE, PAGE_SIZE, 3, KEYMAP_PV), 0);
	views_invalidate(hv);
	assert_list_consistent();
	assert_int_equal(hv->pks.views[idx].generation, hv->pks.generation);
	assert_int_equal(perms_in(&hv->pks.views[idx].ept, NORMAL_PAGE), EPT_EXEC);
	/* Out of memory while rebuilding: the slot becomes unreachable. */
	stub_fail_allocs_after(0);
	views_invalidate(hv);
	stub_fail_allocs_after(-1);
	assert_false(hv->pks.views[idx].valid);
	assert_false(eptp_valid(list()[idx]));
	assert_list_consistent();
}

static u64 *raw_list(struct vcpu *v)
{
	return (u64 *)(uintptr_t)v->pks.eptp_list_pa;
}

/*
 * Each vCPU has its own EPTP list: a change made during one vCPU's exit
 * reaches another vCPU's list at that vCPU's next refresh (its VM entry),
 * not before; a refresh of a current list is one compare and no write.
 */
static void test_lists_per_vcpu(void **state)
{
	struct vcpu *other = calloc(1, sizeof(*other));
	u64 idx;

	(void)state;
	assert_non_null(other);
	other->hv = hv;
	assert_int_equal(views_vcpu_init(other), 0);
	assert_int_not_equal(other->pks.eptp_list_pa, vcpu->pks.eptp_list_pa);

	assert_int_equal(pks_hc_view_index(vcpu, PKRS_AD(3), &idx), 0);
	assert_int_equal(list()[idx], hv->pks.views[idx].eptp);
	/* The other vCPU has not entered since: its list lags. */
	assert_int_equal(raw_list(other)[idx], EPTP_LIST_INVALID);
	assert_int_not_equal(other->pks.list_generation, hv->pks.list_generation);
	views_list_refresh(other);
	assert_int_equal(raw_list(other)[idx], hv->pks.views[idx].eptp);
	assert_int_equal(other->pks.list_generation, hv->pks.list_generation);

	/* Current: no rewrite (a poisoned entry stays as it is). */
	raw_list(other)[PKS_MAX_VIEWS - 1] = 0x1234;
	views_list_refresh(other);
	assert_int_equal(raw_list(other)[PKS_MAX_VIEWS - 1], 0x1234);
	raw_list(other)[PKS_MAX_VIEWS - 1] = EPTP_LIST_INVALID;

	/* Dropped by a failed rebuild: unreachable from both after refresh. */
	stub_fail_allocs_after(0);
	views_invalidate(hv);
	stub_fail_allocs_after(-1);
	assert_false(hv->pks.views[idx].valid);
	views_list_refresh(other);
	assert_false(eptp_valid(raw_list(other)[idx]));
	assert_false(eptp_valid(list()[idx]));
	for (unsigned int i = PKS_MAX_VIEWS; i < 512; i++)
		assert_int_equal(raw_list(other)[i], EPTP_LIST_INVALID);
	free(other);
}

/* pks_exit_sync() and friends are vmread-based; the slot state is not. */
static void check_hidden_everywhere(void)
{
	struct pks_global *pks = &hv->pks;

	/* Slot 0 is the base itself, mid-way through a refused access. */
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		if (!pks->views[i].valid)
			continue;
		for (u64 pa = POOL_BASE; pa < POOL_BASE + POOL_SIZE; pa += PAGE_SIZE) {
			assert_int_equal(perms_in(&pks->views[i].ept, pa), 0);
			assert_int_equal(view_page_perms(hv, &pks->views[i], pa), 0);
		}
	}
}

/*
 * Discovery found the reservation mapped with keys 1 and 2 (an alias the
 * guest built on purpose) and as a page table; the unprotect table names
 * a reserved page; the base EPT points a reserved page at the scratch page
 * (a refused access in progress).  No view may give any reserved page a
 * right, for any PKRS.
 */
static void test_hidden_stays_hidden(void **state)
{
	struct pks_global *pks = &hv->pks;
	bool changed;

	(void)state;
	pks->discovery = true;
	assert_int_equal(keymap_add(&pks->keymap, POOL_BASE - 2 * PAGE_SIZE, 8 * PAGE_SIZE, 1,
				    KEYMAP_DISCOVERED), 0);
	pks->multi[0].start = POOL_BASE;
	pks->multi[0].end = POOL_BASE + 4 * PAGE_SIZE;
	pks->multi[0].keys = BIT(1) | BIT(2);
	pks->multi[1].start = ALIAS_PAGE;
	pks->multi[1].end = ALIAS_PAGE + PAGE_SIZE;
	pks->multi[1].keys = BIT(1) | BIT(2);
	pks->nr_multi = 2;
	pks->tables[0] = POOL_BASE + 5 * PAGE_SIZE;
	pks->nr_tables = 1;
	/* (check_gfn() refuses this from the guest; the table must not care) */
	assert_int_equal(unprotect_get(&pks->unprotect, (POOL_BASE >> PAGE_SHIFT) + 6,
				       PKSV_ACCESS_READ | PKSV_ACCESS_WRITE, &changed), 0);
	assert_int_equal(ept_set_4k(&hv->ept, POOL_BASE + 7 * PAGE_SIZE, hv->scratch_hpa,
				    EPT_READ | EPT_WRITE, MTRR_TYPE_WB), 0);

	/* Every AD/WD combination of keys 1 and 2 (WD-only ones leave R+X). */
	for (u32 k1 = 0; k1 < 4; k1++)
		for (u32 k2 = 0; k2 < 4; k2++) {
			u32 pkrs = (k1 << 2) | (k2 << 4);
			u64 idx;
			struct pks_view v = { .pkrs = pkrs, .wp = true };
			u64 want = pks_view_perms(pkrs, true, 1) & pks_view_perms(pkrs, true, 2);

			/* The alias outside the pool: restricted by both keys. */
			views_key_perms(&v);	/* as build_view() does */
			assert_int_equal(view_page_perms(hv, &v, ALIAS_PAGE), want);
			v.wp = false;
			views_key_perms(&v);
			for (u64 pa = POOL_BASE; pa < POOL_BASE + POOL_SIZE; pa += PAGE_SIZE)
				assert_int_equal(view_page_perms(hv, &v, pa), 0);
			if (pks_hc_view_index(vcpu, pkrs, &idx) == 0) {
				assert_int_equal(perms_in(&pks->views[idx].ept, ALIAS_PAGE), want);
				check_hidden_everywhere();
			}
			/* Unpin to make room for the next combination. */
			for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++)
				pks->views[i].pinned = false;
		}
	check_hidden_everywhere();
}

/* Every page outside the pool: base & key rules & unprotect, exactly. */
static void test_perms_exhaustive(void **state)
{
	struct pks_global *pks = &hv->pks;
	bool changed;

	(void)state;
	assert_int_equal(keymap_add(&pks->keymap, NORMAL_PAGE, 2 * PAGE_SIZE, 5, KEYMAP_PV), 0);
	assert_int_equal(unprotect_get(&pks->unprotect, (NORMAL_PAGE >> PAGE_SHIFT) + 1,
				       PKSV_ACCESS_READ, &changed), 0);
	for (u32 bits = 0; bits < 4; bits++)
		for (int wp = 0; wp < 2; wp++) {
			struct pks_view v = { .pkrs = bits << 10, .wp = wp };
			u64 p0;
			u64 p1;
			u64 want = pks_view_perms(v.pkrs, wp, 5);

			views_key_perms(&v);	/* as build_view() does */
			p0 = view_page_perms(hv, &v, NORMAL_PAGE);
			p1 = view_page_perms(hv, &v, NORMAL_PAGE + PAGE_SIZE);

			assert_int_equal(p0, want);
			/* READ unprotect gives R (and X) back, never W. */
			assert_int_equal(p1, want | EPT_READ | EPT_EXEC);
			assert_int_equal(view_page_perms(hv, &v, 2 * MiB), EPT_RWX);
		}
	/* Without execute-only EPT an AD page is absent, not X-only. */
	hv->msrs.ept_vpid_cap = 0;
	{
		struct pks_view v = { .pkrs = PKRS_AD(5), .wp = true };

		views_key_perms(&v);
		assert_int_equal(view_page_perms(hv, &v, NORMAL_PAGE), 0);
	}
}

/*
 * Out of view memory (views_slot_degraded): the result is never a freed
 * slot, never a view of an older keymap, and never the unrestricted base
 * EPT while a view of the current keymap exists - the one restricting the
 * most wanted keys is used (fail closed).  The old last resort returned
 * the current view or slot 0 (base EPT, nothing enforced).
 */
static void test_degraded_fails_closed(void **state)
{
	u64 idx1, idx13;
	int slot, unpinned;

	(void)state;
	assert_int_equal(keymap_add(&hv->pks.keymap, NORMAL_PAGE, PAGE_SIZE, 3, KEYMAP_PV), 0);
	views_invalidate(hv);
	assert_int_equal(pks_hc_view_index(vcpu, PKRS_AD(1), &idx1), 0);
	/* An unpinned view the vCPU runs on (built by the degraded path). */
	unpinned = views_slot_degraded(vcpu, PKRS_AD(2), true);
	assert_true(unpinned > 0);
	assert_false(hv->pks.views[unpinned].pinned);
	vcpu->pks.view = unpinned;

	/* Pool empty: only the pinned AD(1) view is left; it beats the base. */
	stub_fail_allocs_after(0);
	slot = views_slot_degraded(vcpu, PKRS_AD(3), true);
	stub_fail_allocs_after(-1);
	assert_int_equal(slot, (int)idx1);
	assert_true(hv->pks.views[slot].valid);
	assert_false(hv->pks.views[unpinned].valid);
	assert_int_not_equal(vcpu->pks.view, unpinned);	/* never a freed slot */
	assert_list_consistent();

	/* A view covering the wanted one wins over one that does not. */
	assert_int_equal(pks_hc_view_index(vcpu, PKRS_AD(1) | PKRS_AD(3), &idx13), 0);
	stub_fail_allocs_after(0);
	slot = views_slot_degraded(vcpu, PKRS_AD(3), true);
	stub_fail_allocs_after(-1);
	assert_int_equal(slot, (int)idx13);
	assert_int_equal(perms_in(&hv->pks.views[slot].ept, NORMAL_PAGE), EPT_EXEC);

	/* A view of an older keymap is never chosen. */
	hv->pks.generation++;
	stub_fail_allocs_after(0);
	slot = views_slot_degraded(vcpu, PKRS_AD(3), true);
	stub_fail_allocs_after(-1);
	assert_int_equal(slot, 0);
	assert_list_consistent();
}

#define GiB		(1ull << 30)

/*
 * A guest of limit bytes identity mapped as boot does (1 GiB pages when
 * allow_1g), the reservation hidden, and one keyed range of key 1 at
 * [start, start + len): build the view PKRS = AD(1) (pinned, VIEW_INDEX)
 * and return its table pages.  *base_pages: the base EPT's.
 */
static u64 keyed_view_pages(u64 limit, bool allow_1g, u64 start, u64 len,
			    u64 *base_pages, u64 *idx)
{
	hv->phys_limit = limit;
	assert_int_equal(ept_init(&hv->ept, pool_alloc_ept, &hv->pool, allow_1g), 0);
	assert_int_equal(ept_map_identity(&hv->ept, 0, limit, NULL), 0);
	for (u64 pa = POOL_BASE; pa < POOL_BASE + POOL_SIZE; pa += PAGE_SIZE)
		assert_int_equal(ept_protect_4k(&hv->ept, pa, 0), 0);
	hv->eptp = ept_eptp(&hv->ept, false);
	hv->pks.views[0].ept = hv->ept;
	hv->pks.views[0].eptp = hv->eptp;
	assert_int_equal(keymap_add(&hv->pks.keymap, start, len, 1, KEYMAP_PV), 0);
	views_invalidate(hv);
	assert_int_equal(pks_hc_view_index(vcpu, PKRS_AD(1), idx), 0);
	*base_pages = hv->ept.pages_used;
	return hv->pks.views[*idx].ept.pages_used;
}

/*
 * Views at PMEM scale: a 16 GiB keyed range (a PMEM namespace; here host
 * memory simulates the guest-physical space, only the tables are real)
 * costs its view the clone of the base EPT plus at most 4 tables at its
 * edges, where splitting every 4 KiB page cost 8210 tables (32 MiB) and
 * did not fit the pool.  Every page keeps exactly its rights: keyed pages
 * execute-only under AD(1), their neighbours untouched; an UNPROTECT in
 * the middle splits that page alone (a PD and a PT), PROTECT closes it.
 */
static void test_pmem_scale_16g(void **state)
{
	/* Unaligned at both ends: partial 2 MiB and 1 GiB blocks. */
	u64 start = 4 * GiB - 6 * MiB + 0x3000, len = 16 * GiB;
	u64 end = start + len, base_pages, idx, pages, mid = 11 * GiB + 0x7000;
	struct ept *v;
	int level;

	(void)state;
	pages = keyed_view_pages(24 * GiB, true, start, len, &base_pages, &idx);
	v = &hv->pks.views[idx].ept;
	print_message("16 GiB keyed, 24 GiB guest, 1 GiB EPT pages: base EPT %llu tables, view %llu tables (%llu KiB); split to 4 KiB it needed %llu more\n",
		      (unsigned long long)base_pages, (unsigned long long)pages,
		      (unsigned long long)pages * 4, (unsigned long long)ept_split_cost(start, end));
	assert_true(pages <= base_pages + 4);
	assert_int_equal(perms_in(v, start - PAGE_SIZE), EPT_RWX);
	assert_int_equal(perms_in(v, start), EPT_EXEC);
	assert_int_equal(perms_in(v, 4 * GiB - 2 * MiB), EPT_EXEC);
	assert_int_equal(perms_in(v, mid), EPT_EXEC);
	assert_int_equal(perms_in(v, end - PAGE_SIZE), EPT_EXEC);
	assert_int_equal(perms_in(v, end), EPT_RWX);
	assert_non_null(ept_lookup(v, mid, &level));
	assert_int_equal(level, 3);		/* a whole GiB: one leaf */
	for (u64 pa = start - 4 * PAGE_SIZE; pa < start + 4 * PAGE_SIZE; pa += PAGE_SIZE)
		assert_int_equal(perms_in(v, pa), pa < start ? EPT_RWX : EPT_EXEC);

	assert_int_equal(pks_hc_unprotect(vcpu, mid >> PAGE_SHIFT,
					  PKSV_ACCESS_READ | PKSV_ACCESS_WRITE), 0);
	assert_int_equal(perms_in(v, mid), EPT_RWX);
	assert_int_equal(perms_in(v, mid - PAGE_SIZE), EPT_EXEC);
	assert_int_equal(perms_in(v, mid + PAGE_SIZE), EPT_EXEC);
	assert_int_equal(perms_in(v, mid + 2 * MiB), EPT_EXEC);
	assert_int_equal(v->pages_used, pages + 2);
	assert_int_equal(pks_hc_protect(vcpu, mid >> PAGE_SHIFT), 0);
	assert_int_equal(perms_in(v, mid), EPT_EXEC);
	assert_list_consistent();
}

/*
 * The facts an unprotect entry caches (pks/unprotect_vmm.c entry_facts())
 * must not outlive a keymap change: a page unprotected before its range
 * was registered is protected with the new key, and one whose range went
 * away (RANGE_UNREGISTER) gets its base rights back.  With the stamp
 * ignored, PROTECT would leave the first page open in the closed view
 * (a widened access) and close the second one.
 */
static void test_unprotect_facts_follow_keymap(void **state)
{
	struct pks_global *pks = &hv->pks;
	u64 gfn = NORMAL_PAGE >> PAGE_SHIFT, idx;
	struct ept *v;

	(void)state;
	assert_int_equal(pks_hc_view_index(vcpu, PKRS_AD(3), &idx), 0);
	v = &pks->views[idx].ept;
	/* Unprotected while unkeyed, then keyed: PROTECT closes it. */
	assert_int_equal(pks_hc_unprotect(vcpu, gfn, PKSV_ACCESS_READ), 0);
	assert_int_equal(perms_in(v, NORMAL_PAGE), EPT_RWX);
	assert_int_equal(keymap_add(&pks->keymap, NORMAL_PAGE, PAGE_SIZE, 3, KEYMAP_PV), 0);
	views_invalidate(hv);
	assert_int_equal(perms_in(v, NORMAL_PAGE), EPT_READ | EPT_EXEC);
	assert_int_equal(pks_hc_protect(vcpu, gfn), 0);
	assert_int_equal(perms_in(v, NORMAL_PAGE), EPT_EXEC);
	/* Unprotected while keyed, then the range goes: base rights. */
	assert_int_equal(pks_hc_unprotect(vcpu, gfn, PKSV_ACCESS_READ), 0);
	assert_int_equal(perms_in(v, NORMAL_PAGE), EPT_READ | EPT_EXEC);
	assert_int_equal(keymap_remove(&pks->keymap, NORMAL_PAGE, PAGE_SIZE, KEYMAP_PV), 0);
	views_invalidate(hv);
	assert_int_equal(pks_hc_protect(vcpu, gfn), 0);
	assert_int_equal(perms_in(v, NORMAL_PAGE), EPT_RWX);
	/* And again keyed: the same page, the same answer as a fresh view. */
	assert_int_equal(keymap_add(&pks->keymap, NORMAL_PAGE, PAGE_SIZE, 3, KEYMAP_PV), 0);
	views_invalidate(hv);
	assert_int_equal(pks_hc_unprotect(vcpu, gfn, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE), 0);
	assert_int_equal(pks_hc_protect(vcpu, gfn), 0);
	assert_int_equal(perms_in(v, NORMAL_PAGE), EPT_EXEC);
	assert_list_consistent();
}

/*
 * Review finding 9: a READ reference must not keep a page writable after
 * its READ|WRITE references went.  Taken READ, then READ|WRITE: the first
 * PROTECT drops the writer (widest first) and the page is read-only in the
 * view again at once; the second protects it.
 */
static void test_unprotect_mixed_access_narrows(void **state)
{
	struct pks_global *pks = &hv->pks;
	u64 gfn = NORMAL_PAGE >> PAGE_SHIFT, idx;
	struct ept *v;

	(void)state;
	assert_int_equal(keymap_add(&pks->keymap, NORMAL_PAGE, PAGE_SIZE, 3, KEYMAP_PV), 0);
	views_invalidate(hv);
	assert_int_equal(pks_hc_view_index(vcpu, PKRS_AD(3), &idx), 0);
	v = &pks->views[idx].ept;
	assert_int_equal(perms_in(v, NORMAL_PAGE), EPT_EXEC);
	assert_int_equal(pks_hc_unprotect(vcpu, gfn, PKSV_ACCESS_READ), 0);
	assert_int_equal(perms_in(v, NORMAL_PAGE), EPT_READ | EPT_EXEC);
	assert_int_equal(pks_hc_unprotect(vcpu, gfn, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE), 0);
	assert_int_equal(perms_in(v, NORMAL_PAGE), EPT_RWX);
	assert_int_equal(pks_hc_protect(vcpu, gfn), 0);
	assert_int_equal(perms_in(v, NORMAL_PAGE), EPT_READ | EPT_EXEC);
	assert_int_equal(pks_hc_protect(vcpu, gfn), 0);
	assert_int_equal(perms_in(v, NORMAL_PAGE), EPT_EXEC);
	assert_int_equal(pks_hc_protect(vcpu, gfn), -PKSV_ENOENT);
	assert_int_equal(keymap_remove(&pks->keymap, NORMAL_PAGE, PAGE_SIZE, KEYMAP_PV), 0);
	views_invalidate(hv);
	assert_list_consistent();
}

/* The EPT a vCPU runs on after views_select() (its slot's, and the VMCS's). */
static struct pks_view *selected(u32 pkrs)
{
	struct pks_view *v;

	vcpu->pks.pkrs = pkrs;
	views_select(vcpu);
	v = &hv->pks.views[vcpu->pks.view];
	assert_true(v->valid);
	assert_int_equal(vcpu->eptp, v->eptp);
	return v;
}

/*
 * The per-vCPU view hint (views.c view_hint()) names a slot, not a view:
 * after the slot was freed and rebuilt for another PKRS, or the keymap
 * changed under it, the hint must not be taken.  Without its PKRS check
 * the switch back to AD lands on the WD view (reads allowed where AD
 * denies them); without its generation check, on a view of the old
 * keymap.
 */
static void test_view_hint_follows_slots(void **state)
{
	struct pks_global *pks = &hv->pks;
	struct pks_view *v;
	int ad_slot;

	(void)state;
	vcpu->cr4_shadow = CR4_PKS;
	vcpu->cr0_shadow = CR0_WP;
	assert_int_equal(keymap_add(&pks->keymap, NORMAL_PAGE, PAGE_SIZE, 1, KEYMAP_PV), 0);
	views_invalidate(hv);
	v = selected(PKRS_AD(1));
	ad_slot = vcpu->pks.view;
	assert_int_equal(perms_in(&v->ept, NORMAL_PAGE), EPT_EXEC);
	v = selected(0);
	assert_int_equal(perms_in(&v->ept, NORMAL_PAGE), EPT_RWX);
	/* The AD view's slot is freed and reused for WD. */
	views_drop(hv, ad_slot);
	v = selected(PKRS_WD(1));
	assert_int_equal(vcpu->pks.view, ad_slot);
	assert_int_equal(perms_in(&v->ept, NORMAL_PAGE), EPT_READ | EPT_EXEC);
	v = selected(PKRS_AD(1));
	assert_int_equal(v->pkrs, PKRS_AD(1));
	assert_int_equal(perms_in(&v->ept, NORMAL_PAGE), EPT_EXEC);
	/* The key's range goes: the hinted AD view is of the old keymap. */
	v = selected(0);
	assert_int_equal(keymap_remove(&pks->keymap, NORMAL_PAGE, PAGE_SIZE, KEYMAP_PV), 0);
	views_invalidate(hv);
	v = selected(PKRS_AD(1));
	assert_int_equal(v->generation, pks->generation);
	assert_int_equal(perms_in(&v->ept, NORMAL_PAGE), EPT_RWX);
}

/*
 * EPT memory per view for the guests make bench boots (docs/benchmarks.md):
 * 512 MiB and 4 GiB of RAM with the largest keyed range that leaves the
 * low 64 MiB to the firmware and kernel, with and without 1 GiB EPT pages
 * (Bochs has them: VMX EPT 1G).
 */
static void test_view_pages_per_guest(void **state)
{
	static const struct { u64 limit; bool allow_1g; } guests[] = {
		{ 512 * MiB, true }, { 4 * GiB, true }, { 4 * GiB, false },
	};

	(void)state;
	for (unsigned int i = 0; i < 3; i++) {
		u64 base_pages, idx, pages, start = 64 * MiB;
		u64 len = guests[i].limit - start;

		keymap_init(&hv->pks.keymap);
		pages = keyed_view_pages(guests[i].limit, guests[i].allow_1g, start, len,
					 &base_pages, &idx);
		print_message("guest %llu MiB, keyed %llu MiB, %s: base EPT %llu KiB, view %llu KiB (4 KiB split: +%llu KiB)\n",
			      (unsigned long long)(guests[i].limit >> 20),
			      (unsigned long long)(len >> 20),
			      guests[i].allow_1g ? "1 GiB pages" : "2 MiB pages",
			      (unsigned long long)base_pages * 4, (unsigned long long)pages * 4,
			      (unsigned long long)ept_split_cost(start, start + len) * 4);
		assert_true(pages <= base_pages + 4);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_invalid_at_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_publishes_only_pinned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinned_view_uses_wp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_closes_pinned_views, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_and_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lists_per_vcpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hidden_stays_hidden, setup, teardown),
		cmocka_unit_test_setup_teardown(test_perms_exhaustive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_degraded_fails_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pmem_scale_16g, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_pages_per_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unprotect_mixed_access_narrows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unprotect_facts_follow_keymap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_hint_follows_slots, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
