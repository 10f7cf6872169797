// SPDX-License-Identifier: MIT
/*
 * Global unprotect, grants and key locks: the hypercalls the guest's
 * kmap()/DAX code uses (docs/hypercalls.md), on top of the pure table in
 * pks/unprotect.c.
 *
 * A globally unprotected page is reachable from every vCPU and context
 * until its last reference is dropped.  Soft backend: the page keeps its
 * base EPT rights in every view, so no access to it ever exits.  hw
 * backend: the CPU enforces keys from PKRS alone, so an access to such a
 * page still raises a PK #PF; pksvisor sees it (exception bitmap), finds
 * the page in the table and lets that one access through with the key
 * open for a single step - correct, but one exit plus one step per access
 * (the trade-off: hardware PKS has no per-page exception).
 *
 * Changes reach every vCPU before the hypercall returns: views are edited
 * in place under the PKS lock and INVEPT all-context drops every cached
 * translation (with all-CPU support this becomes an INVEPT on each CPU).
 */
#include <pksvisor/format.h>
#include <pksvisor/hypercall.h>
#include <pksvisor/log.h>
#include "../vmm/seam.h"
#include <pksvisor/page_pool.h>
#include "pks_internal.h"

bool unprotect_allows(struct hv *hv, u64 gpa, bool write)
{
	unsigned int acc;

	spin_lock(&hv->pks.lock);
	acc = unprotect_lookup(&hv->pks.unprotect, gpa >> PAGE_SHIFT);
	spin_unlock(&hv->pks.lock);
	if (!acc)
		return false;
	return !write || (acc & PKSV_ACCESS_WRITE);
}

/* Re-derive one page in every built view (lock held), then flush all. */
static void refresh_page(struct hv *hv, u64 gpa)
{
	struct pks_global *pks = &hv->pks;

	if (pks->backend != PKS_BACKEND_SOFT)
		return;
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		struct pks_view *v = &pks->views[i];

		if (v->valid)
			ept_protect_4k(&v->ept, gpa, view_page_perms(hv, v, gpa));
	}
	ept_flush_all(hv);
}

/* Common checks of UNPROTECT_PAGE and PROTECT_PAGE. */
static s64 check_gfn(struct hv *hv, u64 gfn)
{
	u64 gpa = gfn << PAGE_SHIFT;

	if (!pks_exposed(hv))
		return -PKSV_ENOTSUP;
	if (gfn >> (52 - PAGE_SHIFT) || gpa >= hv->phys_limit ||
	    pool_contains(&hv->pool, gpa))
		return -PKSV_EFAULT;
	return 0;
}

s64 pks_hc_unprotect(struct vcpu *vcpu, u64 gfn, u64 access)
{
	struct hv *hv = vcpu->hv;
	bool changed;
	s64 ret;

	ret = check_gfn(hv, gfn);
	if (ret)
		return ret;
	if (access >> 32)
		return -PKSV_EINVAL;
	spin_lock(&hv->pks.lock);
	ret = unprotect_get(&hv->pks.unprotect, gfn, (unsigned int)access, &changed);
	if (!ret && changed)
		refresh_page(hv, gfn << PAGE_SHIFT);
	spin_unlock(&hv->pks.lock);
	return ret;
}

s64 pks_hc_protect(struct vcpu *vcpu, u64 gfn)
{
	struct hv *hv = vcpu->hv;
	bool gone;
	s64 ret;

	ret = check_gfn(hv, gfn);
	if (ret)
		return ret;
	spin_lock(&hv->pks.lock);
	ret = unprotect_put(&hv->pks.unprotect, gfn, &gone);
	if (!ret && gone)
		refresh_page(hv, gfn << PAGE_SHIFT);
	spin_unlock(&hv->pks.lock);
	return ret;
}

static s64 check_key(u64 key)
{
	return key >= 1 && key <= 15 ? 0 : -PKSV_EKEY;
}

s64 pks_hc_grant(struct vcpu *vcpu, u64 key, u64 access)
{
	if (!pks_exposed(vcpu->hv))
		return -PKSV_ENOTSUP;
	if (check_key(key))
		return -PKSV_EKEY;
	/* Like UNPROTECT_PAGE: READ or READ|WRITE (no write-only access). */
	if (access == PKSV_ACCESS_READ)
		vcpu->pks.pkrs_grant |= PKRS_AD((unsigned int)key);
	else if (access == (PKSV_ACCESS_READ | PKSV_ACCESS_WRITE))
		vcpu->pks.pkrs_grant |= PKRS_KEY_MASK((unsigned int)key);
	else
		return -PKSV_EINVAL;
	pks_apply(vcpu);
	return 0;
}

s64 pks_hc_revoke(struct vcpu *vcpu, u64 key)
{
	if (!pks_exposed(vcpu->hv))
		return -PKSV_ENOTSUP;
	if (check_key(key))
		return -PKSV_EKEY;
	if (!(vcpu->pks.pkrs_grant & PKRS_KEY_MASK((unsigned int)key)))
		return -PKSV_ENOENT;
	vcpu->pks.pkrs_grant &= ~PKRS_KEY_MASK((unsigned int)key);
	pks_apply(vcpu);
	return 0;
}

s64 pks_hc_lock_key(struct vcpu *vcpu, u64 key)
{
	struct pks_global *pks = &vcpu->hv->pks;

	if (!pks_exposed(vcpu->hv))
		return -PKSV_ENOTSUP;
	if (check_key(key))
		return -PKSV_EKEY;
	spin_lock(&pks->lock);
	pks->lock_bits |= PKRS_KEY_MASK((unsigned int)key);
	/* Pinned views are reachable without an exit: close the key there now. */
	if (pks->backend == PKS_BACKEND_SOFT)
		views_invalidate(vcpu->hv);
	spin_unlock(&pks->lock);
	pksv_log("PKS: key %llu locked: PKRS writes can no longer open it", key);
	pks_apply(vcpu);
	return 0;
}
