// SPDX-License-Identifier: MIT
/*
 * Soft backend: EPT views.  A view is a copy of the guest's base EPT in
 * which every guest-physical page mapped with key k loses the rights that
 * PKRS takes away (pks_view_perms(): AD -> execute only, WD with CR0.WP ->
 * read/execute).  One view per distinct (effective PKRS, CR0.WP), cached:
 * each has its own EPTP, and TLB entries are tagged by EPTP (SDM 29.4.1),
 * so switching back to a cached view needs no INVEPT.  Slot 0 is the base
 * EPT itself, used while CR4.PKS is clear and to complete accesses PKS
 * allows (an alias through a key-0 or user mapping of a keyed page).
 *
 * In discovery mode (no paravirtual registration) the guest's paging
 * structures are also write-protected in every view so that pksvisor sees
 * key changes (pks/discover.c).
 *
 * Where VMFUNC EPTP switching exists, slot i is entry i of the EPTP list:
 * a guest that learned the index for a PKRS value (PKSV_HC_VIEW_INDEX)
 * switches with VMFUNC(0, i), without a VM exit.
 */
#include <pksvisor/format.h>
#include <pksvisor/hypercall.h>
#include <pksvisor/log.h>
#include <pksvisor/pk_decide.h>
#include "../vmm/exit.h"
#include "../vmm/memory.h"
#include "../vmm/vmx.h"
#include "pks_internal.h"

#define VMFUNC_EPTP_SWITCHING	BIT(0)

int views_init(struct hv *hv)
{
	struct pks_global *pks = &hv->pks;

	pks->views[0].valid = true;
	pks->views[0].pinned = true;
	pks->views[0].ept = hv->ept;
	pks->views[0].eptp = hv->eptp;
	pks->vmfunc = hv->vmx.has_vmfunc_eptp;
	if (pks->vmfunc) {
		pks->eptp_list_pa = pool_alloc_page(&hv->pool);
		if (!pks->eptp_list_pa)
			return -1;
		/* Unused slots repeat the base EPTP: VMFUNC to them is harmless. */
		for (unsigned int i = 0; i < 512; i++)
			((u64 *)(uintptr_t)pks->eptp_list_pa)[i] = hv->eptp;
	}
	return 0;
}

void views_vmcs_setup(struct vcpu *vcpu)
{
	struct pks_global *pks = &vcpu->hv->pks;

	if (pks->vmfunc) {
		vmwrite(VMCS_VMFUNC_CONTROLS, VMFUNC_EPTP_SWITCHING);
		vmwrite(VMCS_EPTP_LIST_ADDR, pks->eptp_list_pa);
	}
}

static void set_list(struct pks_global *pks, unsigned int slot, u64 eptp)
{
	if (pks->vmfunc)
		((u64 *)(uintptr_t)pks->eptp_list_pa)[slot] = eptp;
}

/*
 * An AD page is execute-only (fetches are never PKS-checked), which needs
 * execute-only EPT support (IA32_VMX_EPT_VPID_CAP[0], SDM 29.3.3.1);
 * without it the page is not present and the rare fetch exits and is let
 * through like any other allowed access.
 */
u64 effective_view_perms(struct hv *hv, u64 perms)
{
	if (perms == EPT_EXEC && !(hv->msrs.ept_vpid_cap & BIT(0)))
		return 0;
	return perms;
}

/* Restrict every keyed page (and, in discovery mode, every table page). */
static int apply_restrictions(struct hv *hv, struct pks_view *v)
{
	struct pks_global *pks = &hv->pks;

	for (unsigned int i = 0; i < pks->keymap.n; i++) {
		struct keymap_range *r = &pks->keymap.r[i];
		u64 perms = pks_view_perms(v->pkrs, v->wp, r->key);

		if (perms == EPT_RWX)
			continue;
		perms = effective_view_perms(hv, perms);
		for (u64 gpa = r->start; gpa < r->end; gpa += PAGE_SIZE) {
			int level;
			u64 *e = ept_lookup(&v->ept, gpa, &level);

			/* Hidden pksvisor pages stay hidden. */
			if (e && !(*e & EPT_RWX))
				continue;
			if (ept_protect_4k(&v->ept, gpa, perms))
				return -1;
		}
	}
	for (unsigned int i = 0; i < pks->nr_multi; i++) {
		u64 perms = EPT_RWX;

		for (unsigned int k = 1; k < PKS_NR_KEYS; k++)
			if (pks->multi[i].keys & (1u << k))
				perms &= pks_view_perms(v->pkrs, v->wp, k);
		perms = effective_view_perms(hv, perms);
		for (u64 gpa = pks->multi[i].start; perms != EPT_RWX &&
		     gpa < pks->multi[i].end; gpa += PAGE_SIZE)
			if (ept_protect_4k(&v->ept, gpa, perms))
				return -1;
	}
	/* Globally unprotected pages get their rights back in every view. */
	for (unsigned int i = 0; i < UNPROTECT_SLOTS; i++) {
		struct unprotect_entry *u = &pks->unprotect.e[i];

		if (u->refs && ept_protect_4k(&v->ept, u->gfn << PAGE_SHIFT,
					      view_page_perms(hv, v, u->gfn << PAGE_SHIFT)))
			return -1;
	}
	if (pks->discovery)
		for (unsigned int i = 0; i < pks->nr_tables; i++) {
			int level;
			u64 *e = ept_lookup(&v->ept, pks->tables[i], &level);
			u64 perms = e ? *e & EPT_RWX : 0;

			if (perms & EPT_WRITE &&
			    ept_protect_4k(&v->ept, pks->tables[i], perms & ~EPT_WRITE))
				return -1;
		}
	return 0;
}

static void free_view(struct hv *hv, struct pks_view *v)
{
	/* A VMFUNC to this index must never reach freed tables. */
	set_list(&hv->pks, (unsigned int)(v - hv->pks.views), hv->eptp);
	ept_destroy(&v->ept, pool_free_ept, &hv->pool);
	v->valid = false;
	v->pinned = false;
}

/* Table pages one view needs: the clone and the splits of the keyed ranges. */
static u64 view_cost(struct hv *hv)
{
	struct pks_global *pks = &hv->pks;
	u64 need = hv->ept.pages_used;

	for (unsigned int i = 0; i < pks->keymap.n; i++)
		need += ept_split_cost(pks->keymap.r[i].start, pks->keymap.r[i].end);
	for (unsigned int i = 0; i < pks->nr_multi; i++)
		need += ept_split_cost(pks->multi[i].start, pks->multi[i].end);
	return need;
}

/*
 * Can a view be built now?  An upper bound of the tables it needs against
 * what the pool has left fails a hopeless build at once instead of after
 * millions of page updates.  Lock held.
 */
static bool view_may_fit(struct hv *hv, const struct pks_view *replaced)
{
	u64 left = pool_pages_left(&hv->pool);

	if (replaced->valid)
		left += replaced->ept.pages_used;
	return view_cost(hv) <= left;
}

/*
 * Could one view for the current keymap be built if every cached view were
 * freed?  The keymap may only grow while this holds (registration:
 * -PKSV_ENOSPC; discovery: the range is not learnt, with the discovery
 * overflow warning), so that running out of view memory is only ever
 * transient and degraded selection never has to give up enforcement.
 * Lock held.
 */
bool views_keymap_fits(struct hv *hv)
{
	struct pks_global *pks = &hv->pks;
	u64 left = pool_pages_left(&hv->pool);

	if (pks->backend != PKS_BACKEND_SOFT)
		return true;
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++)
		if (pks->views[i].valid)
			left += pks->views[i].ept.pages_used;
	return view_cost(hv) <= left;
}

static int build_view(struct hv *hv, unsigned int slot, u32 pkrs, bool wp)
{
	struct pks_global *pks = &hv->pks;
	struct pks_view *v = &pks->views[slot];

	if (!view_may_fit(hv, v))
		return -1;
	if (v->valid)
		free_view(hv, v);
	v->ept.alloc = pool_alloc_ept;
	v->ept.alloc_ctx = &hv->pool;
	v->pkrs = pkrs;
	v->wp = wp;
	if (ept_clone(&v->ept, &hv->ept) || apply_restrictions(hv, v)) {
		free_view(hv, v);
		return -1;
	}
	v->generation = pks->generation;
	v->eptp = ept_eptp(&v->ept, false);
	v->valid = true;
	set_list(pks, slot, v->eptp);
	/* A rebuilt slot may reuse an EPTP whose translations are cached. */
	ept_flush(hv, v->eptp);
	return 0;
}

static unsigned int pinned_count(const struct pks_global *pks)
{
	unsigned int n = 0;

	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++)
		n += pks->views[i].valid && pks->views[i].pinned;
	return n;
}

/*
 * Pinning a view must leave room for one more view once every unpinned
 * view is freed, so that out-of-view-memory stays transient (the degraded
 * selection frees unpinned views, never pinned ones).  found: the view to
 * pin if it exists unpinned already (its pages stop being freeable), else
 * NULL (one more view gets built).  Lock held.
 */
static bool pin_leaves_room(struct hv *hv, const struct pks_view *found)
{
	struct pks_global *pks = &hv->pks;
	u64 cost = view_cost(hv), freeable = pool_pages_left(&hv->pool);

	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++)
		if (pks->views[i].valid && !pks->views[i].pinned)
			freeable += pks->views[i].ept.pages_used;
	freeable -= found ? found->ept.pages_used : 0;
	return freeable >= (found ? 0 : cost) + cost;
}

/* Find or build the view for (pkrs, wp); slot index, or -1. Lock held. */
static int view_slot(struct vcpu *vcpu, u32 pkrs, bool wp, bool pin)
{
	struct hv *hv = vcpu->hv;
	struct pks_global *pks = &hv->pks;
	int free_slot = -1, lru = -1;

	unsigned int pinned = 0;

	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		struct pks_view *v = &pks->views[i];

		if (v->valid && v->pkrs == pkrs && v->wp == wp) {
			if (pin && !v->pinned && (pinned_count(pks) >= PKS_MAX_VIEWS - 3 ||
						   !pin_leaves_room(hv, v)))
				return -1;
			if (v->generation != pks->generation && build_view(hv, i, pkrs, wp))
				return -1;
			v->last_used = ++pks->use_clock;
			v->pinned |= pin;
			return i;
		}
		if (v->valid && v->pinned)
			pinned++;
		if (!v->valid && free_slot < 0)
			free_slot = i;
		/* Never evict a pinned view or the one this vCPU runs on. */
		if (v->valid && !v->pinned && (int)i != vcpu->pks_view &&
		    (lru < 0 || v->last_used < pks->views[lru].last_used))
			lru = i;
	}
	/*
	 * Pinning keeps two slots besides the base unpinned: one the vCPU
	 * may be running on and one that can always be rebuilt for a WRMSR.
	 */
	if (pin && (pinned >= PKS_MAX_VIEWS - 3 || !pin_leaves_room(hv, NULL)))
		return -1;
	if (free_slot < 0)
		free_slot = lru;
	if (free_slot < 0)
		return -1;
	if (build_view(hv, free_slot, pkrs, wp))
		return -1;
	pks->views[free_slot].last_used = ++pks->use_clock;
	pks->views[free_slot].pinned = pin;
	vcpu->stats.views_built++;
	return free_slot;
}

static bool guest_cr0_wp(struct vcpu *vcpu)
{
	return vcpu->cr0_shadow & CR0_WP;
}

static void use_slot(struct vcpu *vcpu, int slot)
{
	struct pks_view *v = &vcpu->hv->pks.views[slot];

	if (vcpu->pks_view == slot && vmread(VMCS_EPTP) == v->eptp)
		return;
	vcpu->pks_view = slot;
	/*
	 * No INVEPT: EPT-derived translations are tagged by EPTP (SDM 29.4.1),
	 * and build_view() flushes a slot's EPTP whenever it is (re)built.
	 */
	vmwrite(VMCS_EPTP, v->eptp);
}

/* The EPT the vCPU runs on: its view, or the base EPT. */
struct ept *pks_current_ept(struct vcpu *vcpu, u64 *eptp)
{
	struct hv *hv = vcpu->hv;

	if (hv->pks.backend == PKS_BACKEND_SOFT && vcpu->pks_view) {
		*eptp = hv->pks.views[vcpu->pks_view].eptp;
		return &hv->pks.views[vcpu->pks_view].ept;
	}
	*eptp = hv->eptp;
	return &hv->ept;
}

/*
 * CR3 loads exit only while discovery needs them: CR4.PKS set and no
 * paravirtual registration (SDM 25.6.2 "CR3-load exiting").
 */
static void update_cr3_exiting(struct vcpu *vcpu)
{
	bool want = vcpu->hv->pks.discovery && (vcpu->cr4_shadow & CR4_PKS);
	u64 proc = vmread(VMCS_PROC_CONTROLS);
	u64 next = want ? proc | PROC_CR3_LOAD_EXITING : proc & ~PROC_CR3_LOAD_EXITING;

	if (next != proc)
		vmwrite(VMCS_PROC_CONTROLS, next);
}

/*
 * No view could be built for (pkrs, wp): the page pool is exhausted (a
 * guest can key enough memory that every view needs thousands of split
 * tables).  Degraded, never fatal (docs/pks.md "Out of view memory"):
 *  1. free every cached view that is neither pinned nor in use, and try
 *     again;
 *  2. else run on a valid view that restricts at least as much (its PKRS a
 *     superset of the wanted one, same WP, current generation): every
 *     access it denies too much exits and is decided by walking the guest
 *     tables against the real PKRS (soft_fault.c), so only speed suffers;
 *  3. else, nothing enforceable fits in memory: the current view if valid,
 *     otherwise the base EPT, logged (PKS not enforced for this PKRS).
 * Each use counts view_degraded.  Lock held.
 */
static int view_slot_degraded(struct vcpu *vcpu, u32 pkrs, bool wp)
{
	struct hv *hv = vcpu->hv;
	struct pks_global *pks = &hv->pks;
	int slot;

	vcpu->stats.view_degraded++;
	/*
	 * Every unpinned view goes, the one in use included: the vCPU is
	 * switched to the result before it runs again, and no step refers to
	 * a view here (steps end before views_select()).
	 */
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		struct pks_view *v = &pks->views[i];

		if (v->valid && !v->pinned) {
			if ((int)i == vcpu->pks_view)
				vcpu->pks_view = 0;
			free_view(hv, v);
		}
	}
	slot = view_slot(vcpu, pkrs, wp, false);
	if (slot >= 0)
		return slot;
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		struct pks_view *v = &pks->views[i];

		if (v->valid && v->generation == pks->generation &&
		    pk_view_covers(v->pkrs, v->wp, pkrs, wp))
			return i;
	}
	pksv_log("PKS: out of memory for a view of PKRS 0x%x: not enforced until memory frees", pkrs);
	if (vcpu->pks_view && pks->views[vcpu->pks_view].valid)
		return vcpu->pks_view;
	return 0;
}

void views_select(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	struct pks_global *pks = &hv->pks;
	int slot = 0;

	update_cr3_exiting(vcpu);
	if ((vcpu->cr4_shadow & CR4_PKS) && pks->mode != PKSV_MODE_OFF) {
		if (pks->discovery && vcpu->pks_rescan != PKS_RESCAN_NONE)
			discover_rescan(vcpu);
		spin_lock(&pks->lock);
		slot = view_slot(vcpu, pks_effective_pkrs(vcpu), guest_cr0_wp(vcpu), false);
		if (slot < 0)
			slot = view_slot_degraded(vcpu, pks_effective_pkrs(vcpu),
						  guest_cr0_wp(vcpu));
		spin_unlock(&pks->lock);
	}
	use_slot(vcpu, slot);
}

void views_cr_changed(struct vcpu *vcpu)
{
	/* CR4.PKS 0 -> 1 in discovery mode: learn the keys now. */
	if ((vcpu->cr4_shadow & CR4_PKS) && vcpu->hv->pks.discovery &&
	    vcpu->pks_rescan == PKS_RESCAN_NONE &&
	    vcpu->pks_root != (vmread(VMCS_GUEST_CR3) & 0x000ffffffffff000ull))
		vcpu->pks_rescan = PKS_RESCAN_ROOT;
	views_select(vcpu);
}

/*
 * The keymap or the table set changed (lock held).  Views rebuild lazily
 * when next selected; pinned ones now, since the guest may VMFUNC to them
 * without an exit.
 */
void views_invalidate(struct hv *hv)
{
	struct pks_global *pks = &hv->pks;

	pks->generation++;
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		struct pks_view *v = &pks->views[i];

		if (v->valid && v->pinned &&
		    build_view(hv, i, v->pkrs, v->wp) == 0)
			v->pinned = true;
	}
}

bool views_is_table(struct hv *hv, u64 gpa)
{
	struct pks_global *pks = &hv->pks;

	for (unsigned int i = 0; i < pks->nr_tables; i++)
		if (pks->tables[i] == (gpa & PAGE_MASK))
			return true;
	return false;
}

/* VMFUNC may have switched views behind pksvisor's back: follow it. */
void pks_exit_sync(struct vcpu *vcpu)
{
	struct pks_global *pks = &vcpu->hv->pks;
	u64 eptp;

	if (pks->backend != PKS_BACKEND_SOFT || !pks->vmfunc)
		return;
	eptp = vmread(VMCS_EPTP);
	if (eptp == pks->views[vcpu->pks_view].eptp)
		return;
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++)
		if (pks->views[i].valid && pks->views[i].eptp == eptp) {
			vcpu->pks_view = i;
			vcpu->pkrs = pks->views[i].pkrs;
			vcpu->pkrs_open = 0;
			vcpu->stats.view_switch_vmfunc++;
			return;
		}
}

s64 pks_hc_view_index(struct vcpu *vcpu, u64 pkrs, u64 *index)
{
	struct hv *hv = vcpu->hv;
	int slot;

	if (!pks_pkrs_valid(pkrs))
		return -PKSV_EINVAL;
	if (hv->pks.backend != PKS_BACKEND_SOFT || !hv->pks.vmfunc)
		return -PKSV_ENOTSUP;
	spin_lock(&hv->pks.lock);
	slot = view_slot(vcpu, (u32)pkrs, guest_cr0_wp(vcpu), true);
	spin_unlock(&hv->pks.lock);
	if (slot < 0)
		return -PKSV_ENOSPC;
	*index = slot;
	return 0;
}
