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

/*
 * Re-derive one page in every built view (lock held).  Only what the
 * page's transition needs: its view-independent facts are gathered once
 * (the unprotect access is the one the call just set; a page unprotected
 * for writing needs no key lookup),
 * each view costs one EPT walk and is written only when its rights
 * differ (a view whose PKRS leaves the key open has nothing to change).
 *
 * widened: the page only gained rights (UNPROTECT).  Then no INVEPT: a
 * stale cached translation can only deny more than the view now says,
 * and the EPT violation it raises invalidates the cached mappings used
 * for that guest-physical address (SDM Vol. 3C 29.4.3.1 "Operations that
 * Invalidate Cached Mappings"); pks_ept_violation() sees that the view
 * allows the access and lets it retry.  Rights taken away (PROTECT) must
 * be gone before the call returns: INVEPT, once, when some view changed.
 */
static void refresh_page(struct hv *hv, u64 gpa, unsigned int access, bool widened)
{
	struct pks_global *pks = &hv->pks;
	struct view_page_facts f;
	bool changed = false;

	if (pks->backend != PKS_BACKEND_SOFT)
		return;
	view_page_facts_known(hv, gpa, access, &f);
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		struct pks_view *v = &pks->views[i];
		u64 perms, *e;
		int level;

		if (!v->valid)
			continue;
		perms = view_facts_perms(hv, v, &f);
		e = ept_lookup(&v->ept, gpa, &level);
		if (!e || (*e & EPT_RWX) == perms)
			continue;
		changed = true;
		if (level == 1) {
			/* The usual case: one walk, one write. */
			*e = (*e & ~EPT_RWX) | perms;
			continue;
		}
		/*
		 * A large leaf must be split first; when the pool cannot give
		 * the table, the view goes (fail closed: it is rebuilt when
		 * next selected, and a VMFUNC to it exits meanwhile).
		 */
		if (ept_protect_4k(&v->ept, gpa, perms))
			views_drop(hv, i);
	}
	if (changed && !widened)
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
	/* Changed: a new entry, or READ raised to READ|WRITE: access it is. */
	if (!ret && changed)
		refresh_page(hv, gfn << PAGE_SHIFT, (unsigned int)access, true);
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
		refresh_page(hv, gfn << PAGE_SHIFT, 0, false);
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
	/* Every other vCPU's PKRS (hw) holds from before: re-synced now. */
	vcpu_shootdown_owe(vcpu);
	return 0;
}
