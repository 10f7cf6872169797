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
 * Where VMFUNC EPTP switching exists, slot i of a *pinned* view is entry i
 * of the EPTP list: a guest that learned the index for a PKRS value
 * (PKSV_HC_VIEW_INDEX) switches with VMFUNC(0, i), without a VM exit.
 * Every other entry - the base EPT (slot 0), views built for exit-based
 * switches, free or stale slots, indices 8..511 - holds an invalid EPTP
 * (view_perms.c), so VMFUNC to it exits and gets #UD (vmm/exit_vmfunc.c):
 * VMFUNC is available at every CPL and must never reach a view the guest
 * kernel did not pin.  Pinned views are built with every locked key closed
 * and CR0.WP = 1 (the stricter WD rule; an access that WP = 0 allows exits
 * and is let through), and are rebuilt before the call that changed the
 * keymap, the tables or the locks returns.
 */
#include <pksvisor/format.h>
#include <pksvisor/hypercall.h>
#include <pksvisor/log.h>
#include <pksvisor/pk_decide.h>
#include "../vmm/seam.h"
#include <pksvisor/page_pool.h>
#include "pks_internal.h"

#define VMFUNC_EPTP_SWITCHING	BIT(0)
/*
 * Pinning keeps two slots besides the base unpinned: one the vCPU may be
 * running on and one that can always be rebuilt for a WRMSR.
 */
#define VIEWS_MAX_PINNED	(PKS_MAX_VIEWS - 3)

int views_init(struct hv *hv)
{
	struct pks_global *pks = &hv->pks;

	/*
	 * A page override (soft_fault.c) may split a large page of a view:
	 * at most a PD and a PT for each of PKS_MAX_OVERRIDES pages, on
	 * every vCPU at once (each steps on its own).  Those come from a
	 * reserve nothing else may take, and are merged back when the step
	 * ends, so an allowed access does not fail for memory (and if it
	 * ever did, soft_fault.c fails closed: allow_failed()).
	 */
	hv->pool.reserve = 2ull * PKS_MAX_OVERRIDES * (hv->nr_vcpus ? hv->nr_vcpus : 1);
	pks->views[0].valid = true;
	pks->views[0].pinned = true;
	pks->views[0].ept = hv->ept;
	pks->views[0].eptp = hv->eptp;
	pks->vmfunc = hv->vmx.has_vmfunc_eptp;
	pks->list_generation = 1;
	pks->view_epoch = 1;		/* 0: "no plan" in an unprotect entry */
	return 0;
}

/*
 * This vCPU's EPTP list.  Entries at PKS_MAX_VIEWS and above never name a
 * view: invalid for good.  The view slots say what views_list_entry()
 * decides, and are rewritten whenever list_generation moved.
 */
int views_vcpu_init(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	u64 *list;

	if (!hv->pks.vmfunc)
		return 0;
	vcpu->pks.eptp_list_pa = pool_alloc_page(&hv->pool);
	if (!vcpu->pks.eptp_list_pa)
		return -1;
	list = (u64 *)(uintptr_t)vcpu->pks.eptp_list_pa;
	for (unsigned int i = 0; i < 512; i++)
		list[i] = EPTP_LIST_INVALID;
	vcpu->pks.list_generation = 0;	/* older than any: filled before entry */
	views_list_refresh(vcpu);
	return 0;
}

void views_vmcs_setup(struct vcpu *vcpu)
{
	if (vcpu->hv->pks.vmfunc) {
		vmwrite(VMCS_VMFUNC_CONTROLS, VMFUNC_EPTP_SWITCHING);
		vmwrite(VMCS_EPTP_LIST_ADDR, vcpu->pks.eptp_list_pa);
	}
}

/*
 * Bring this vCPU's EPTP list up to date (before every VM entry,
 * pks_entry_check()).  A vCPU in VMX root cannot VMFUNC, so its list may
 * lag while it handles an exit; it must not lag when the guest runs.  A
 * vCPU running in the guest while another frees a view it could VMFUNC
 * to is the shootdown's case (docs/architecture.md, "SMP").
 */
void views_list_refresh(struct vcpu *vcpu)
{
	struct pks_global *pks = &vcpu->hv->pks;
	volatile u64 *list = (volatile u64 *)(uintptr_t)vcpu->pks.eptp_list_pa;

	if (!pks->vmfunc ||
	    vcpu->pks.list_generation == __atomic_load_n(&pks->list_generation, __ATOMIC_ACQUIRE))
		return;
	spin_lock(&pks->lock);
	for (unsigned int slot = 0; slot < PKS_MAX_VIEWS; slot++) {
		list[slot] = views_list_entry(pks, slot);
		vcpu->pks.list_pkrs[slot] = pks->views[slot].pkrs;
	}
	vcpu->pks.list_generation = pks->list_generation;
	spin_unlock(&pks->lock);
}

/* An entry changed: every vCPU rewrites its list before it next runs. */
static void list_changed(struct pks_global *pks)
{
	if (pks->vmfunc)
		__atomic_add_fetch(&pks->list_generation, 1, __ATOMIC_RELEASE);
}

/* Set one page of a view to its derived rights (split only on change). */
static int derive_page(struct hv *hv, struct pks_view *v, u64 gpa)
{
	u64 perms = view_page_perms(hv, v, gpa);
	int level;
	u64 *e = ept_lookup(&v->ept, gpa, &level);

	if ((e ? *e & EPT_RWX : 0) == perms)
		return 0;
	if (!e && !perms)
		return 0;
	return ept_protect_4k(&v->ept, gpa, perms);
}

static int derive_range(struct hv *hv, struct pks_view *v, u64 start, u64 end)
{
	for (u64 gpa = start & PAGE_MASK; gpa < end; gpa += PAGE_SIZE)
		if (derive_page(hv, v, gpa))
			return -1;
	return 0;
}

static inline u64 block_size(int level)
{
	return 1ull << (PAGE_SHIFT + 9 * (level - 1));
}

/*
 * Rights of the whole naturally aligned block of level at gpa inside a
 * range of one key: the base EPT must map it with one leaf at least that
 * large (one set of base rights; pksvisor's reservation, split out of the
 * base EPT, never is).  The pages that differ from the block - unprotect
 * entries, multi-key aliases, tracked tables, the reservation - are
 * derived one by one afterwards (apply_restrictions) and split only there.
 */
static bool block_perms(struct hv *hv, const struct pks_view *v, u64 gpa,
			int level, unsigned int key, u64 *perms)
{
	int base_level;
	u64 *base = ept_lookup(&hv->ept, gpa, &base_level);

	if (!base || base_level < level)
		return false;
	*perms = effective_view_perms(hv, (*base & EPT_RWX) & v->key_perms[key]);
	return true;
}

/*
 * Restrict one keyed range at the largest page size it allows: 1 GiB
 * where the range covers a whole aligned GiB the base maps with one leaf,
 * else 2 MiB, 4 KiB only at the edges and where the base is finer.  A view
 * over a 16 GiB range then needs a handful of tables instead of 8192
 * (docs/pks.md "Views at PMEM scale"; tests/unit/test_views.c).
 */
static int restrict_range(struct hv *hv, struct pks_view *v, u64 start, u64 end,
			  unsigned int key)
{
	u64 gpa = start & PAGE_MASK;

	while (gpa < end) {
		int level;

		for (level = 3; level > 1; level--) {
			u64 size = block_size(level), perms;
			int r;

			if ((gpa & (size - 1)) || end - gpa < size ||
			    !block_perms(hv, v, gpa, level, key, &perms))
				continue;
			r = ept_protect_block(&v->ept, gpa, level, perms);
			if (r < 0)
				return -1;
			if (r == 0)
				break;
		}
		if (level == 1 && derive_page(hv, v, gpa))
			return -1;
		gpa += block_size(level);
	}
	return 0;
}

/*
 * Restrict every keyed page (and, in discovery mode, every table page):
 * each page the keymap, the aliases, the unprotect table or the table set
 * names gets view_page_perms(), and the whole reservation is made absent
 * again (the base EPT may be mid-way through a refused access, pointing
 * one reserved page at the scratch page: a clone must not keep that).
 */
static int apply_restrictions(struct hv *hv, struct pks_view *v)
{
	struct pks_global *pks = &hv->pks;

	for (unsigned int i = 0; i < pks->keymap.n; i++) {
		struct keymap_range *r = &pks->keymap.r[i];

		if (v->key_perms[r->key] != EPT_RWX &&
		    restrict_range(hv, v, r->start, r->end, r->key))
			return -1;
	}
	for (unsigned int i = 0; i < pks->nr_multi; i++)
		if (derive_range(hv, v, pks->multi[i].start, pks->multi[i].end))
			return -1;
	for (unsigned int i = 0; i < UNPROTECT_SLOTS; i++) {
		struct unprotect_entry *u = &pks->unprotect.e[i];

		if (u->refs && derive_page(hv, v, u->gfn << PAGE_SHIFT))
			return -1;
	}
	if (pks->discovery)
		for (unsigned int i = 0; i < pks->nr_tables; i++)
			if (derive_page(hv, v, pks->tables[i]))
				return -1;
	for (u64 pa = hv->pool.base; pa < hv->pool.base + hv->pool.size; pa += PAGE_SIZE) {
		int level;
		u64 *e = ept_lookup(&v->ept, pa, &level);

		if (e && (*e & EPT_RWX) && ept_protect_4k(&v->ept, pa, 0))
			return -1;
	}
	return 0;
}

/* No vCPU selects the slot or reaches it by VMFUNC any more (lock held). */
static void unpublish_view(struct hv *hv, struct pks_view *v)
{
	v->valid = false;
	/*
	 * valid goes false before any field changes: view_switch_hinted()
	 * reads the fields without the lock (x86 keeps stores in order, the
	 * fence keeps the compiler from moving them).
	 */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	hv->pks.views_built &= (u8)~BIT(v - hv->pks.views);
	hv->pks.view_epoch++;		/* every page plan names this view */
	v->pinned = false;
	list_changed(&hv->pks);
}

/*
 * Free a view no other CPU can walk: unpinned (in no EPTP list: pinned is
 * cleared only here and in retire_view()) and no other vCPU's users bit.
 * The caller's own vCPU is in VMX root and leaves it before it runs.
 */
static void free_view(struct hv *hv, struct pks_view *v)
{
	unpublish_view(hv, v);
	ept_destroy(&v->ept, pool_free_ept, &hv->pool);
}

/*
 * Drop a view other vCPUs may be running on or reach by VMFUNC: out of
 * reach for selection and lists at once, its tree freed only after every
 * vCPU acknowledged the shootdown (vmm/ept_retire.c).  When that cannot
 * take it now the tree stays in the invalid slot ("parked": v->ept.pml4
 * set) and is handed over again by the next selection or build
 * (retry_parked()), once a shootdown made room.
 */
static void retire_view(struct hv *hv, struct pks_view *v)
{
	unpublish_view(hv, v);
	if (!ept_retire(hv, &v->ept))
		pksv_log("PKS: view %d parked until a shootdown frees room",
			 (int)(v - hv->pks.views));
}

/*
 * Hand parked trees over (lock held): ept_retire() first reaps the
 * entries every target acknowledged, so a tree parked while the list was
 * full goes once any shootdown since drained it, and its slot (invalid,
 * no tree) is free again for view_slot().
 */
static void retry_parked(struct hv *hv)
{
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		struct pks_view *v = &hv->pks.views[i];

		if (!v->valid && v->ept.pml4)
			ept_retire(hv, &v->ept);
	}
}

/*
 * A view that cannot take a change (no memory to split a large page) is
 * dropped rather than left with stale rights (lock held).  Its list entry
 * is invalid at once; a vCPU running on it re-selects before its next VM
 * entry (pks_entry_check()), and its tables are freed after that.
 */
void views_drop(struct hv *hv, unsigned int slot)
{
	struct pks_view *v = &hv->pks.views[slot];

	if (slot == 0 || slot >= PKS_MAX_VIEWS || !v->valid)
		return;
	pksv_log("PKS: view %u (PKRS 0x%x) dropped: out of memory for a page change",
		 slot, v->pkrs);
	retire_view(hv, v);
}

/*
 * Table pages one view needs (an upper bound): the clone; the edges of
 * each keyed range (restricted at the largest page size); every alias
 * range split to 4 KiB; and two tables (a PD and a PT) for each page
 * derived on its own - an unprotected page, which only differs from its
 * block inside a keyed range, so never more than splitting every keyed
 * range would cost; a tracked guest page table (discovery), anywhere.
 */
static u64 view_cost(struct hv *hv)
{
	struct pks_global *pks = &hv->pks;
	u64 need = hv->ept.pages_used, ranges_4k = 0, unprotected;

	for (unsigned int i = 0; i < pks->keymap.n; i++) {
		need += ept_block_cost(pks->keymap.r[i].start, pks->keymap.r[i].end);
		ranges_4k += ept_split_cost(pks->keymap.r[i].start, pks->keymap.r[i].end);
	}
	for (unsigned int i = 0; i < pks->nr_multi; i++)
		need += ept_split_cost(pks->multi[i].start, pks->multi[i].end);
	unprotected = 2ull * pks->unprotect.count;
	need += unprotected < ranges_4k ? unprotected : ranges_4k;
	if (pks->discovery)
		need += 2ull * pks->nr_tables;
	return need;
}

/*
 * Can a view be built now?  An upper bound of the tables it needs against
 * what the pool has left fails a hopeless build at once instead of after
 * millions of page updates.  Lock held.
 */
static bool view_may_fit(struct hv *hv)
{
	return view_cost(hv) <= pool_pages_left(&hv->pool);
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

/*
 * Room for a build next to a tree still in use: views of an older keymap
 * that are neither pinned nor run on would be rebuilt before any use
 * anyway (view_slot()); their pages go first.
 */
static void free_stale_unused(struct hv *hv)
{
	struct pks_global *pks = &hv->pks;

	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		struct pks_view *v = &pks->views[i];

		if (v->valid && !v->pinned && !v->users && v->generation != pks->generation)
			free_view(hv, v);
	}
}

/*
 * May another CPU walk view v's tree now?  A pinned view is in every
 * vCPU's EPTP list (reachable by VMFUNC without an exit); a view with a
 * users bit is the one its vCPUs run on.  With one vCPU, nobody: it is
 * in VMX root here.
 */
static bool view_in_reach(const struct hv *hv, const struct pks_view *v)
{
	return hv->nr_vcpus > 1 && v->valid && (v->pinned || v->users);
}

/*
 * (Re)build slot for (pkrs, wp); pin says whether the guest may reach it by
 * VMFUNC.
 *
 * A view other CPUs may be walking is never rewritten or freed under them
 * (docs/architecture.md "SMP views"): a clone starts as the base EPT, with
 * every right, and a CPU running on it would fill its TLB from the
 * half-built tree.  The new build goes into fresh pages while the old one
 * stays intact and in use; only the complete build is published (EPTP,
 * build_seq, list entry, all under the lock), the vCPUs on the old one
 * move at their next entry or the shootdown this exit owes, and the old
 * tree is freed once they all acknowledged it (ept_retire()).  Memory for
 * two copies or a free retire entry lacking, the old view is dropped
 * instead (its list entry invalid, a VMFUNC to it exits) - never rebuilt
 * in place.  A view nobody else can reach is freed first, and its pages
 * serve the new build.
 */
static int build_view(struct hv *hv, unsigned int slot, u32 pkrs, bool wp, bool pin)
{
	struct pks_global *pks = &hv->pks;
	struct pks_view *v = &pks->views[slot];
	struct pks_view nv = { .pkrs = pkrs, .wp = wp };
	struct ept old;
	int r;

	retry_parked(hv);
	if (v->valid && !view_in_reach(hv, v))
		free_view(hv, v);
	if (!view_may_fit(hv))
		free_stale_unused(hv);
	if (!view_may_fit(hv))
		goto drop_old;
	nv.ept.alloc = pool_alloc_ept;
	nv.ept.alloc_ctx = &hv->pool;
	views_key_perms(&nv);
	/*
	 * The base EPT changes under ept_lock (vmm/exit_ept.c MMIO on demand,
	 * vmm/hidden.c): the clone copies it under that lock too.  Lock
	 * order: pks.lock, then ept_lock (docs/architecture.md, locks).
	 */
	spin_lock(&hv->ept_lock);
	r = ept_clone(&nv.ept, &hv->ept);
	spin_unlock(&hv->ept_lock);
	if (r || apply_restrictions(hv, &nv)) {
		/* Never published: nobody can have walked it. */
		ept_destroy(&nv.ept, pool_free_ept, &hv->pool);
		goto drop_old;
	}
	if (v->valid) {
		/* The old tree is handed over before the new one is published. */
		old = v->ept;
		if (!ept_retire(hv, &old)) {
			ept_destroy(&nv.ept, pool_free_ept, &hv->pool);
			goto drop_old;
		}
	}
	v->pkrs = pkrs;
	v->wp = wp;
	for (unsigned int k = 0; k < PKS_NR_KEYS; k++)
		v->key_perms[k] = nv.key_perms[k];
	v->ept = nv.ept;
	v->generation = pks->generation;
	v->eptp = ept_eptp(&v->ept, false);
	/*
	 * A view in reach stays valid while its fields change: the new
	 * build_seq is stored last (release), so view_switch_hinted(), which
	 * reads build_seq first (acquire), either records the old build (the
	 * entry check then re-selects) or sees every field of the new one.
	 */
	__atomic_store_n(&v->build_seq, ++pks->build_seq, __ATOMIC_RELEASE);
	__atomic_store_n(&v->valid, true, __ATOMIC_RELEASE);
	pks->views_built |= (u8)BIT(slot);
	pks->view_epoch++;
	v->pinned = pin;
	/* A new build may reuse the root (EPTP) of a freed one: translations. */
	ept_flush(hv, v->eptp);
	list_changed(pks);
	return 0;

drop_old:
	if (v->valid)
		retire_view(hv, v);
	return -1;
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

/*
 * The per-vCPU hint: the last two slots this vCPU selected for an exit-
 * based switch (a kernel alternates between two PKRS values, default
 * and open).  A hit is a slot that still holds a current view of exactly
 * (pkrs, wp); anything else - evicted, rebuilt for another value, of an
 * older keymap - falls through to the search.  Lock held.
 */
static int view_hint(struct vcpu *vcpu, u32 pkrs, bool wp)
{
	struct pks_global *pks = &vcpu->hv->pks;

	for (unsigned int h = 0; h < VIEW_HINTS; h++) {
		unsigned int i = vcpu->pks.view_hint[h];
		struct pks_view *v = &pks->views[i];

		if (i && v->valid && v->pkrs == pkrs && v->wp == wp &&
		    v->generation == pks->generation) {
			v->last_used = ++pks->use_clock;
			return (int)i;
		}
	}
	return -1;
}

static void view_hint_add(struct vcpu *vcpu, int slot)
{
	if (vcpu->pks.view_hint[0] == slot)
		return;
	vcpu->pks.view_hint[1] = vcpu->pks.view_hint[0];
	vcpu->pks.view_hint[0] = (u8)slot;
}

/*
 * No slot is free or evictable, but slot i (unpinned, not the thief's
 * own) may be held only as a hint by the other vCPUs with bits in its
 * users: take their bits away, unless one of them runs on it (lock held).
 * The owners switch to a hinted view without the lock
 * (view_switch_hinted()): each publishes pks.view first and reads its
 * bit after a full fence; here the bits go first and pks.view is read
 * after a full fence.  Of two such store-then-load sequences at least one
 * sees the other's store (SDM Vol. 3A 9.2.3.4 lets a load pass an earlier
 * store to another location; MFENCE forbids it): either the owner finds
 * its bit gone and takes the locked path, or this sees it on the view
 * and gives the bits back.  A robbed owner whose hint still names the
 * slot takes the locked path there too, and view_take() sets its bits
 * from scratch.  True if the slot may be evicted.
 */
static bool view_steal(struct hv *hv, const struct vcpu *thief, unsigned int i)
{
	struct pks_view *v = &hv->pks.views[i];
	u64 others = v->users & ~BIT(thief->id);

	if (!v->valid || v->pinned || (int)i == thief->pks.view)
		return false;
	__atomic_store_n(&v->users, v->users & ~others, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned int id = 0; id < hv->nr_vcpus; id++) {
		const struct vcpu *o = hv->vcpus[id];

		if ((others & BIT(id)) && o &&
		    __atomic_load_n(&o->pks.view, __ATOMIC_RELAXED) == (int)i) {
			__atomic_store_n(&v->users, v->users | others, __ATOMIC_RELAXED);
			return false;
		}
	}
	return true;
}

/* Find or build the view for (pkrs, wp); slot index, or -1. Lock held. */
static int view_slot(struct vcpu *vcpu, u32 pkrs, bool wp, bool pin)
{
	struct hv *hv = vcpu->hv;
	struct pks_global *pks = &hv->pks;
	int free_slot = -1, lru = -1;
	u64 others = ~BIT(vcpu->id);
	unsigned int pinned = 0;

	/*
	 * Parked slots count as free once their trees could be handed over
	 * (review3 F4: else a full retire list parked every slot for good).
	 */
	retry_parked(hv);
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		struct pks_view *v = &pks->views[i];

		/*
		 * A stale unpinned view other vCPUs still run on is not
		 * rebuilt under them: they move at their next entry
		 * (pks_entry_check()), this vCPU gets a view of its own.
		 */
		if (v->valid && v->pkrs == pkrs && v->wp == wp &&
		    (v->generation == pks->generation || v->pinned || !(v->users & others))) {
			bool was_pinned = v->pinned;

			if (pin && !was_pinned &&
			    (pinned_count(pks) >= VIEWS_MAX_PINNED || !pin_leaves_room(hv, v)))
				return -1;
			if (v->generation != pks->generation &&
			    build_view(hv, i, pkrs, wp, was_pinned || pin))
				return -1;
			v->last_used = ++pks->use_clock;
			if (pin && !v->pinned) {
				v->pinned = true;
				list_changed(pks);
			}
			return i;
		}
		if (v->valid && v->pinned)
			pinned++;
		if (!v->valid && !v->ept.pml4 && free_slot < 0)
			free_slot = i;
		/*
		 * Never evict a pinned view or one another vCPU runs on or
		 * hints (it may switch there without the lock); this vCPU's
		 * own hinted views may go, not the one it runs on.
		 */
		if (v->valid && !v->pinned && !(v->users & others) && (int)i != vcpu->pks.view &&
		    (lru < 0 || v->last_used < pks->views[lru].last_used))
			lru = i;
	}
	/*
	 * Pinning keeps two slots besides the base unpinned: one the vCPU
	 * may be running on and one that can always be rebuilt for a WRMSR;
	 * and it must leave pool room for one more view.
	 */
	if (pin && (pinned >= VIEWS_MAX_PINNED || !pin_leaves_room(hv, NULL)))
		return -1;
	if (free_slot < 0)
		free_slot = lru;
	/* Every slot held: one only hinted by others will do (view_steal()). */
	for (unsigned int i = 1; free_slot < 0 && i < PKS_MAX_VIEWS; i++)
		if (view_steal(hv, vcpu, i))
			free_slot = (int)i;
	if (free_slot < 0)
		return -1;
	if (build_view(hv, free_slot, pkrs, wp, pin))
		return -1;
	pks->views[free_slot].last_used = ++pks->use_clock;
	vcpu->stats.views_built++;
	return free_slot;
}

static bool guest_cr0_wp(struct vcpu *vcpu)
{
	return vcpu->cr0_shadow & CR0_WP;
}

static inline __attribute__((always_inline)) void use_slot(struct vcpu *vcpu, int slot)
{
	struct pks_view *v = &vcpu->hv->pks.views[slot];

	/* Read by a vCPU stealing a hint (view_steal()), without the lock. */
	__atomic_store_n(&vcpu->pks.view, slot, __ATOMIC_RELAXED);
	if (vcpu->eptp == v->eptp)
		return;
	/*
	 * No INVEPT: EPT-derived translations are tagged by EPTP (SDM 29.4.1),
	 * and build_view() flushes a slot's EPTP whenever it is (re)built.
	 */
	vcpu_set_eptp(vcpu, v->eptp);
}

/*
 * Does the EPT the vCPU runs on (its view, or the base EPT) map gpa?  For
 * MMIO mapped on demand (vmm/exit_ept.c); *eptp = that EPT's EPTP.  A
 * view is looked up under the PKS lock and only as the build the vCPU
 * chose: another vCPU may have dropped it (ept.pml4 0: the walk would
 * start at host address 0, the guest's page 0) or rebuilt it since the
 * exit began (review3 F5).  Then -1: the access retries on the view the
 * entry check re-selects.  The base EPT only ever gains mappings and
 * frees no table: no lock.
 */
int pks_current_ept_maps(struct vcpu *vcpu, u64 gpa, u64 *eptp)
{
	struct hv *hv = vcpu->hv;
	const struct pks_view *v;
	int level, mapped;

	if (hv->pks.backend != PKS_BACKEND_SOFT || !vcpu->pks.view) {
		*eptp = hv->eptp;
		return ept_lookup(&hv->ept, gpa, &level) != NULL;
	}
	spin_lock(&hv->pks.lock);
	v = &hv->pks.views[vcpu->pks.view];
	if (!v->valid || v->build_seq != vcpu->pks.view_seq) {
		mapped = -1;
	} else {
		*eptp = v->eptp;
		mapped = ept_lookup((struct ept *)&v->ept, gpa, &level) != NULL;
	}
	spin_unlock(&hv->pks.lock);
	return mapped;
}

/*
 * CR3 loads exit only while discovery needs them: CR4.PKS set and no
 * paravirtual registration (SDM 25.6.2 "CR3-load exiting").
 */
static void update_cr3_exiting(struct vcpu *vcpu)
{
	bool want = vcpu->hv->pks.discovery && (vcpu->cr4_shadow & CR4_PKS);
	u64 proc;

	/* The control as last written (pks_vmcs_setup() clears it): no VMREAD. */
	if (want == vcpu->pks.cr3_exiting)
		return;
	proc = vmread(VMCS_PROC_CONTROLS);
	vmwrite(VMCS_PROC_CONTROLS, want ? proc | PROC_CR3_LOAD_EXITING :
					   proc & ~PROC_CR3_LOAD_EXITING);
	vcpu->pks.cr3_exiting = want;
}

/*
 * How many keys (1-15) view v restricts at least as much as (pkrs, wp)
 * would: for those, running on v denies nothing the wanted view allows
 * without an exit (the exit is decided against the real PKRS).  15 means
 * v covers the wanted view.  Key 0 pages are never in the keymap.
 */
static unsigned int keys_covered(const struct pks_view *v, u32 pkrs, bool wp)
{
	unsigned int n = 0;

	for (unsigned int k = 1; k < PKS_NR_KEYS; k++)
		n += !(pks_view_perms(v->pkrs, v->wp, k) & ~pks_view_perms(pkrs, wp, k));
	return n;
}

/*
 * No view could be built for (pkrs, wp): the page pool is exhausted (a
 * guest can key enough memory that every view needs thousands of split
 * tables).  Degraded, never fatal, and failing closed (docs/pks.md "Out
 * of view memory"):
 *  1. free every cached view that is neither pinned nor in use, and try
 *     again;
 *  2. else run on the valid view of the current keymap generation that
 *     restricts the most of the wanted keys (ideally all: PKRS a superset,
 *     keys_covered() == 15): every access it denies too much exits and is
 *     decided by walking the guest tables against the real PKRS
 *     (soft_fault.c), so only speed suffers; a key it does not cover is
 *     logged as not enforced.  Never a view of an older keymap (it lacks
 *     the newest keyed ranges) and never the base EPT while any view of
 *     the current keymap exists;
 *  3. else no view of the current keymap exists at all.  With several
 *     vCPUs that happens when every slot is parked behind a full retire
 *     list (review3 F4): the trees wait for acknowledgments the next
 *     shootdown brings.  The vCPU must not run on the base EPT meanwhile
 *     (every key, locked ones included, would be open): slot 0 is
 *     returned for VMX root only, view_wanted is set and a shootdown is
 *     owed.  That shootdown (vmm/shootdown.c shootdown_slow()) arms this
 *     vCPU's retired trees, waits until every target acknowledged (the
 *     preemption timer bounds each wait, vmm/vmx_timer.h; without it
 *     the wait is cut, and a target that never exits keeps this vCPU
 *     waiting here: fail closed), reaps, and then re-syncs this vCPU
 *     (pks_entry_check(), which view_wanted makes re-select:
 *     retry_parked() now finds room).  A selection that still
 *     finds nothing owes another round, so the vCPU spins through
 *     shootdowns in VMX root and never enters the guest without a view.
 *     With one vCPU trees are freed at once: only the page pool can be
 *     short, which the keymap invariant of views_keymap_fits() rules out
 *     after step 1; should it happen anyway, the base EPT, logged as not
 *     enforced (spinning could not free anything there).
 * The result is always a valid slot (never a freed one).  Each use counts
 * view_degraded.  Lock held.
 */
int views_slot_degraded(struct vcpu *vcpu, u32 pkrs, bool wp)
{
	struct hv *hv = vcpu->hv;
	struct pks_global *pks = &hv->pks;
	unsigned int best_keys = 0;
	int slot, best = -1;

	vcpu->stats.view_degraded++;
	/*
	 * Every unpinned view no other vCPU runs on goes, this vCPU's own
	 * included: it is switched to the result before it runs again, and
	 * no step refers to a view here (steps end before views_select()).
	 */
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		struct pks_view *v = &pks->views[i];

		if (v->valid && !v->pinned && !(v->users & ~BIT(vcpu->id))) {
			if ((int)i == vcpu->pks.view)
				vcpu->pks.view = 0;
			free_view(hv, v);
		}
	}
	slot = view_slot(vcpu, pkrs, wp, false);
	if (slot >= 0)
		return slot;
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		struct pks_view *v = &pks->views[i];
		unsigned int n;

		if (!v->valid || v->generation != pks->generation)
			continue;
		n = keys_covered(v, pkrs, wp);
		if (best < 0 || n > best_keys) {
			best = (int)i;
			best_keys = n;
		}
	}
	if (best >= 0) {
		if (best_keys < PKS_NR_KEYS - 1)
			pksv_log("PKS: out of memory for a view of PKRS 0x%x: on view %d (PKRS 0x%x), %u of 15 keys enforced until memory frees",
				 pkrs, best, pks->views[best].pkrs, best_keys);
		return best;
	}
	if (hv->nr_vcpus > 1) {
		/* Not entered: the owed shootdown re-selects (3. above). */
		vcpu->pks.view_wanted = true;
		vcpu_shootdown_owe(vcpu);
		return 0;
	}
	pksv_log("PKS: out of memory for a view of PKRS 0x%x: not enforced until memory frees", pkrs);
	return 0;
}

/*
 * This vCPU now runs on slot (lock held): its bit is in the users of that
 * view and of its hinted views (view_hint[]) and in no other, and it
 * remembers which build it chose and the global inputs the choice was
 * made from, for pks_entry_check().  Only this function writes a vCPU's
 * bit, and only its own: another vCPU never clears it (views freed by
 * views_drop() or rebuilt in place keep it), so a set bit always means
 * "nobody evicts this slot for another PKRS under me".
 */
static void view_take(struct vcpu *vcpu, int slot)
{
	struct pks_global *pks = &vcpu->hv->pks;
	u64 me = BIT(vcpu->id);
	u8 want = (u8)((BIT(slot) | BIT(vcpu->pks.view_hint[0]) |
			BIT(vcpu->pks.view_hint[1])) & ~BIT(0));

	/*
	 * Every slot, not only those user_slots says changed: a thief may
	 * have taken the bit of a hinted view (view_steal()).
	 */
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		struct pks_view *v = &pks->views[i];

		if ((want & BIT(i)) && !(v->users & me))
			__atomic_store_n(&v->users, v->users | me, __ATOMIC_RELAXED);
		else if (!(want & BIT(i)) && (v->users & me))
			__atomic_store_n(&v->users, v->users & ~me, __ATOMIC_RELAXED);
	}
	vcpu->pks.user_slots = want;
	/*
	 * The choice is published under the lock: view_steal() (which runs
	 * under it) must see that this vCPU runs on slot before it may take
	 * the slot's bits (review3 F8; use_slot() stores it again, with the
	 * EPTP, after the unlock).
	 */
	__atomic_store_n(&vcpu->pks.view, slot, __ATOMIC_RELAXED);
	vcpu->pks.view_seq = pks->views[slot].build_seq;
	vcpu->pks.applied_generation = pks->generation;
	vcpu->pks.applied_lock_bits = pks->lock_bits;
	vcpu->pks.applied_mode = pks->mode;
}

/*
 * The lock-free PKRS switch: a hinted slot that holds the view of exactly
 * (effective PKRS, CR0.WP) for the current keymap, and in whose users
 * this vCPU's bit already is, is taken without pks.lock and without
 * writing any shared word.  Why this is safe (docs/architecture.md, "SMP
 * views", rule 6):
 *  - the bit: no other vCPU evicts the slot or rebuilds it for another
 *    PKRS (view_slot(), views_slot_degraded()), and only this vCPU
 *    clears it, under the lock;
 *  - what may still change the slot under us is a free or retirement
 *    (views_drop(), out of memory) or a rebuild of the slot (a pinned
 *    view for the same PKRS after views_invalidate() bumped the
 *    generation; one in reach goes into fresh pages, rule 5).  A free
 *    clears valid first; a rebuild stores its new build_seq after every
 *    other field and before valid (free_view(), build_view()).  build_seq
 *    is read before every
 *    other field and recorded as view_seq, so whatever happened after
 *    that read leaves valid false or build_seq different at the entry
 *    check, which re-selects under the lock (pks_entry_check());
 *    whatever happened before it is what the field compares see;
 *  - the global inputs: the generation is read once and must equal both
 *    the one this vCPU last applied and the view's; lock bits and mode
 *    must equal the applied ones (so cr3_exiting and a pending discovery
 *    rescan are what the last full selection left).  A change after
 *    these reads moves them again and the entry check sees it.
 * Returns false (nothing changed) when the slow path must decide.
 */
static bool view_switch_hinted(struct vcpu *vcpu)
{
	const struct pks_global *pks = &vcpu->hv->pks;
	u64 gen = __atomic_load_n(&pks->generation, __ATOMIC_ACQUIRE);
	u64 me = BIT(vcpu->id);
	u32 pkrs;
	bool wp;

	if (!(vcpu->cr4_shadow & CR4_PKS) || vcpu->pks.applied_generation != gen ||
	    pks_hw_inputs_moved(vcpu) || (pks->mode == PKSV_MODE_OFF && !pks->lock_bits) ||
	    vcpu->pks.cr3_exiting != pks->discovery ||
	    (pks->discovery && vcpu->pks.rescan != PKS_RESCAN_NONE))
		return false;
	pkrs = pks_effective_pkrs(vcpu);
	wp = guest_cr0_wp(vcpu);
	for (unsigned int h = 0; h < VIEW_HINTS; h++) {
		unsigned int i = vcpu->pks.view_hint[h];
		const struct pks_view *v = &pks->views[i];
		u64 seq = __atomic_load_n(&v->build_seq, __ATOMIC_ACQUIRE);

		if (i && v->valid && v->pkrs == pkrs && v->wp == wp &&
		    v->generation == gen && (v->users & me)) {
			vcpu->pks.view_seq = seq;
			use_slot(vcpu, (int)i);
			/*
			 * pks.view is published: is the bit still there?  A
			 * thief may have taken it meanwhile (view_steal(): the
			 * fences on both sides make one of the two see the
			 * other).  If gone, the locked path decides.
			 */
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			return __atomic_load_n(&v->users, __ATOMIC_RELAXED) & me;
		}
	}
	return false;
}

/* The full selection, under the lock (out of line: the hinted path saves no registers). */
static __attribute__((noinline)) void views_select_locked(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	struct pks_global *pks = &hv->pks;
	int slot = 0;

	update_cr3_exiting(vcpu);
	if ((vcpu->cr4_shadow & CR4_PKS) && (pks->mode != PKSV_MODE_OFF || pks->lock_bits) &&
	    pks->discovery && vcpu->pks.rescan != PKS_RESCAN_NONE)
		discover_rescan(vcpu);
	spin_lock(&pks->lock);
	/* Mode OFF still enforces locked keys (pks_effective_pkrs()). */
	if ((vcpu->cr4_shadow & CR4_PKS) &&
	    (pks->mode != PKSV_MODE_OFF || pks->lock_bits)) {
		u32 pkrs = pks_effective_pkrs(vcpu);
		bool wp = guest_cr0_wp(vcpu);

		/*
		 * A hinted slot is safe whoever built it: it is taken only if
		 * it holds this (PKRS, WP) at the current generation, and
		 * view_take() records the build it is.
		 */
		slot = view_hint(vcpu, pkrs, wp);
		if (slot < 0) {
			slot = view_slot(vcpu, pkrs, wp, false);
			if (slot < 0)
				slot = views_slot_degraded(vcpu, pkrs, wp);
			view_hint_add(vcpu, slot);
		}
	}
	view_take(vcpu, slot);
	spin_unlock(&pks->lock);
	use_slot(vcpu, slot);
}

void views_select(struct vcpu *vcpu)
{
	if (!view_switch_hinted(vcpu))
		views_select_locked(vcpu);
}

void views_cr_changed(struct vcpu *vcpu)
{
	/* CR4.PKS 0 -> 1 in discovery mode: learn the keys now. */
	if ((vcpu->cr4_shadow & CR4_PKS) && vcpu->hv->pks.discovery &&
	    vcpu->pks.rescan == PKS_RESCAN_NONE &&
	    vcpu->pks.root != (vmread(VMCS_GUEST_CR3) & 0x000ffffffffff000ull))
		vcpu->pks.rescan = PKS_RESCAN_ROOT;
	views_select(vcpu);
}

/*
 * The keymap, the table set or the key locks changed (lock held).  Views
 * rebuild lazily when next selected; pinned ones now, with every locked
 * key closed, since the guest may VMFUNC to them without an exit.  A
 * pinned view that cannot be rebuilt is dropped: its list entry is then
 * invalid (free_view), so a VMFUNC to it exits instead of reaching a stale
 * view.  The caller re-selects the vCPU's view (pks_apply) before entry.
 */
void views_invalidate(struct hv *hv)
{
	struct pks_global *pks = &hv->pks;

	pks->generation++;
	/*
	 * Every caller may narrow (a range keyed, a key locked, a table the
	 * walk learnt): the vCPUs running guest code must be made to exit and
	 * re-select before the change is in force - whatever the calling
	 * vCPU itself runs on (review2 finding 7: a RANGE_REGISTER from a vCPU
	 * on the base EPT owed no shootdown and others kept writing the range).
	 */
	ept_flush_at_entry(hv);
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		struct pks_view *v = &pks->views[i];

		if (v->valid && v->pinned &&
		    build_view(hv, i, v->pkrs | pks->lock_bits, true, true))
			pksv_log("PKS: pinned view %u (PKRS 0x%x) dropped: out of memory",
				 i, v->pkrs);
	}
}

/*
 * VMFUNC switched views behind pksvisor's back (pks_exit_sync() saw an
 * EPTP that is not the view's, or the view is gone): follow it, before
 * any handler looks at vcpu->pks.view.  The VMCS EPTP field holds the
 * EPTP VMFUNC loaded (SDM 26.5.6.3); which index the guest chose is read
 * from this vCPU's own EPTP list - the one the VMFUNC used, written only
 * by this vCPU at its entries (views_list_refresh()) - with no "EPTP
 * index" field (which exists only with EPT-violation #VE support).  A
 * switch is a PKRS change made by the guest: pksvisor's notion of PKRS
 * becomes the value that list entry stood for (locked keys included),
 * and RELAXED/SILENT openings and grants end as on a WRMSR.
 *
 * The entry may be older than the view in its slot: another vCPU rebuilt
 * the pinned view into fresh pages (docs/architecture.md "SMP views" rule
 * 5) between this vCPU's last entry and its VMFUNC.  The guest still asked
 * for that slot's PKRS (list_pkrs), and the old tree it ran on is not
 * freed before this vCPU acknowledges; the re-selection moves it to the
 * current build.  Matching against the views' current EPTPs instead would
 * miss such a switch and keep the PKRS from before it (a key the guest
 * closed left open).
 */
void pks_exit_follow(struct vcpu *vcpu, u64 eptp)
{
	struct pks_global *pks = &vcpu->hv->pks;
	const volatile u64 *list = (const volatile u64 *)(uintptr_t)vcpu->pks.eptp_list_pa;

	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		const struct pks_view *v = &pks->views[i];
		bool current;

		if (list[i] != eptp || eptp == EPTP_LIST_INVALID)
			continue;
		if ((int)i == vcpu->pks.view) {
			/*
			 * Still the slot it was on (no switch, or VMFUNC to the
			 * same index): only the build moved under it.  Its PKRS,
			 * openings and grants stand; the re-selection takes the
			 * current build.
			 */
			vcpu->pks.followed_lost_view = vcpu->stats.exits;
			views_select(vcpu);
			return;
		}
		vcpu->pks.pkrs = vcpu->pks.list_pkrs[i];
		vcpu->pks.pkrs_open = 0;
		vcpu->pks.pkrs_grant = 0;
		vcpu->stats.view_switch_vmfunc++;
		/* The current build of the slot: take it as it is (under the lock). */
		spin_lock(&pks->lock);
		current = v->valid && v->pinned && v->eptp == eptp &&
			  v->pkrs == vcpu->pks.pkrs;
		if (current)
			view_take(vcpu, (int)i);
		spin_unlock(&pks->lock);
		if (!current) {
			vcpu->pks.followed_lost_view = vcpu->stats.exits;
			views_select(vcpu);
		}
		return;
	}
	/* Only pinned views are in the list: pksvisor lost track itself. */
	pksv_log("PKS: EPTP 0x%llx is in no entry of vCPU %u's EPTP list: re-selecting",
		 eptp, vcpu->id);
	vcpu->pks.followed_lost_view = vcpu->stats.exits;
	vcpu->pks.view = 0;
	views_select(vcpu);
}

/*
 * pks_entry_check() (pks/pks_vmm.h, inline, compares only) found this
 * vCPU's view no longer right: the slot was freed, or holds another build
 * than the one the vCPU chose (a slot rebuilt for another vCPU may even
 * have the same EPTP, so the build sequence decides), or a global input it
 * was chosen from moved (keymap/table generation, locked keys, mode:
 * RANGE_REGISTER, discovery, LOCK_KEY, SET_MODE on any vCPU), or the VMCS
 * EPTP is not the view's, or the EPTP list is behind.  Re-select, which
 * also rebuilds a stale view, then refresh the list.
 */
void pks_entry_fix(struct vcpu *vcpu)
{
	struct pks_global *pks = &vcpu->hv->pks;
	const struct pks_view *v = &pks->views[vcpu->pks.view];

	if (vcpu->pks.view_wanted) {
		/* Set again by views_slot_degraded() if still no view. */
		vcpu->pks.view_wanted = false;
		views_select(vcpu);
	} else if (!v->valid) {
		pksv_log("PKS: view %d no longer valid at VM entry: re-selecting",
			 vcpu->pks.view);
		vcpu->pks.view = 0;
		views_select(vcpu);
	} else if (v->build_seq != vcpu->pks.view_seq || pks_inputs_moved(vcpu) ||
		   vcpu->eptp != v->eptp) {
		views_select(vcpu);
	}
	/* Last: the re-selection above may build a view. */
	views_list_refresh(vcpu);
}

/*
 * The pinned view for a PKRS value: built with every locked key closed and
 * CR0.WP = 1 whatever the guest's CR0.WP, so that no VMFUNC to it, at any
 * CPL, opens a locked key or lets a WD write through.
 */
s64 pks_hc_view_index(struct vcpu *vcpu, u64 pkrs, u64 *index)
{
	struct hv *hv = vcpu->hv;
	int slot;

	if (!pks_pkrs_valid(pkrs))
		return -PKSV_EINVAL;
	if (hv->pks.backend != PKS_BACKEND_SOFT || !hv->pks.vmfunc)
		return -PKSV_ENOTSUP;
	spin_lock(&hv->pks.lock);
	slot = view_slot(vcpu, (u32)pkrs | hv->pks.lock_bits, true, true);
	spin_unlock(&hv->pks.lock);
	if (slot < 0)
		return -PKSV_ENOSPC;
	*index = slot;
	return 0;
}
