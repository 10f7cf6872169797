// SPDX-License-Identifier: MIT
/*
 * Guest-physical space mapped after boot (vmm/exit_ept.c maps MMIO above
 * the boot-time EPT limit on first access): every soft-backend view is a
 * clone of the base EPT, so the same identity range goes into each valid
 * view too; views built later clone it from the base.
 */
#include <pksvisor/mtrr.h>
#include "pks_internal.h"

int pks_views_map(struct hv *hv, u64 gpa)
{
	struct pks_global *pks = &hv->pks;
	u64 start, end;
	int ret = 0;

	if (pks->backend != PKS_BACKEND_SOFT)
		return 0;
	spin_lock(&pks->lock);
	for (unsigned int i = 1; i < PKS_MAX_VIEWS && !ret; i++)
		if (pks->views[i].valid)
			ret = ept_map_mmio_region(&pks->views[i].ept, gpa, &start, &end);
	spin_unlock(&pks->lock);
	return ret;
}

/*
 * vmm/hidden.c points reserved pages of the EPT a vCPU runs on at its
 * scratch page for one instruction.  That EPT is the base EPT (changed
 * under ept_lock) or a view, which another vCPU may rebuild or free under
 * pks.lock at any time (eviction, LOCK_KEY, RANGE_REGISTER): view edits
 * happen under pks.lock here, into the build recorded at the first
 * redirect of the instruction (pks_vcpu.hidden_slot/hidden_seq).  A slot
 * rebuilt meanwhile no longer holds the redirect (apply_restrictions()
 * hides the reservation in every build): writing there would edit tables
 * of another build or freed pages.  first: the instruction's first
 * redirect.  0 and *eptp to flush, or -1 (the caller abandons the access).
 */
int pks_hidden_redirect(struct vcpu *vcpu, u64 gpa, u64 hpa, bool first, u64 *eptp)
{
	struct hv *hv = vcpu->hv;
	struct pks_global *pks = &hv->pks;
	struct pks_view *v;
	int r = -1;

	if (first)
		vcpu->pks.hidden_slot = pks->backend == PKS_BACKEND_SOFT ? (u8)vcpu->pks.view : 0;
	if (!vcpu->pks.hidden_slot) {
		spin_lock(&hv->ept_lock);
		r = ept_set_4k(&hv->ept, gpa, hpa, EPT_READ | EPT_WRITE, MTRR_TYPE_WB);
		spin_unlock(&hv->ept_lock);
		*eptp = hv->eptp;
		return r;
	}
	spin_lock(&pks->lock);
	v = &pks->views[vcpu->pks.hidden_slot];
	if (first)
		vcpu->pks.hidden_seq = v->build_seq;
	if (v->valid && v->build_seq == vcpu->pks.hidden_seq) {
		r = ept_set_4k(&v->ept, gpa, hpa, EPT_READ | EPT_WRITE, MTRR_TYPE_WB);
		*eptp = v->eptp;
	}
	spin_unlock(&pks->lock);
	return r;
}

/*
 * Hide the n redirected pages again in the EPT they were written into.
 * The EPTP to flush, or 0 when that view build is gone (nothing to undo).
 */
u64 pks_hidden_restore(struct vcpu *vcpu, const u64 *gpa, unsigned int n)
{
	struct hv *hv = vcpu->hv;
	struct pks_global *pks = &hv->pks;
	struct pks_view *v;
	u64 eptp = 0;

	if (!vcpu->pks.hidden_slot) {
		spin_lock(&hv->ept_lock);
		for (unsigned int i = 0; i < n; i++)
			ept_protect_4k(&hv->ept, gpa[i], 0);
		spin_unlock(&hv->ept_lock);
		return hv->eptp;
	}
	spin_lock(&pks->lock);
	v = &pks->views[vcpu->pks.hidden_slot];
	if (v->valid && v->build_seq == vcpu->pks.hidden_seq) {
		for (unsigned int i = 0; i < n; i++)
			ept_protect_4k(&v->ept, gpa[i], 0);
		eptp = v->eptp;
	}
	spin_unlock(&pks->lock);
	return eptp;
}
