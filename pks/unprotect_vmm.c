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

/* facts_rights of an unprotect entry: the base rights, and this bit. */
#define FACTS_TABLE	0x80

/*
 * A page's plan (unprotect_entry.plan): for every view whose rights for
 * the page differ between "closed" (not in the table) and "open" (in it
 * with access), both rights, 3 bits per slot.  It is what refresh_page()
 * computed the last time the page went from closed to open or back, and
 * holds while the inputs of that computation hold:
 *  - the page's facts and the keymap: facts_gen equals facts_stamp();
 *  - the views (which are built, their PKRS, CR0.WP and key rights):
 *    plan_epoch equals pks->view_epoch, which every build and every free
 *    of a view moves (views.c);
 *  - the access it was made for: PLAN_ACCESS.
 * Then the next transition visits only the views in PLAN_MASK and writes
 * the rights the plan names, without deriving anything: a view outside
 * the mask gives the page the same rights both ways (refresh_page()'s
 * skip), and the EPT entry itself is still compared, so a large page is
 * split and an entry already right is not written, as in refresh_page().
 *
 * When exactly one view differs (a kernel's default PKRS view; the open
 * one leaves the key alone) and its entry for the page was a 4 KiB leaf,
 * the plan also keeps that entry's address (plan_leaf): the walk is
 * skipped too.  The epoch moves whenever a table of any view is freed
 * (free_view(), an override's merge in soft_fault.c: nothing else frees
 * EPT tables), and a 4 KiB leaf is never split, so while the epoch holds
 * the address is the page's entry in that view.
 */
#define PLAN_OPEN_SHIFT		0	/* bits 3i..3i+2: open rights of slot i */
#define PLAN_CLOSED_SHIFT	24	/* 24 + 3i: closed rights of slot i */
#define PLAN_MASK_SHIFT		48	/* bit 48 + i: slot i differs */
#define PLAN_ACCESS_SHIFT	56	/* PKSV_ACCESS_* the open rights are for */

static inline u8 plan_mask(u64 plan)
{
	return (u8)(plan >> PLAN_MASK_SHIFT);
}

static inline unsigned int plan_access(u64 plan)
{
	return (unsigned int)(plan >> PLAN_ACCESS_SHIFT) & 3;
}

static inline u64 plan_perms(u64 plan, unsigned int slot, bool open)
{
	return (plan >> ((open ? PLAN_OPEN_SHIFT : PLAN_CLOSED_SHIFT) + 3 * slot)) & EPT_RWX;
}

/*
 * What the cached facts of an unprotect entry must match: every input of
 * view_page_facts() other than the base EPT - the keymap (its own
 * generation counts every change, a failed registration's undo
 * included) and whatever views_invalidate() announces (pks->generation).
 * Both only grow, so their sum is unchanged only if neither moved.
 * Never while discovering: its aliases and tables change on scans.
 */
static u64 facts_stamp(const struct pks_global *pks)
{
	return pks->discovery ? 0 : pks->generation + pks->keymap.generation;
}

/*
 * A new entry takes what its page had when it was last protected, if
 * still current (pks->facts_recent: kmap() and kunmap() of the same page
 * again and again): its facts and its plan.
 */
static inline void entry_recall(struct pks_global *pks, struct unprotect_entry *e, u64 stamp)
{
	const struct pks_facts_recent *r = &pks->facts_recent[e->gfn & (PKS_FACTS_RECENT - 1)];

	if (stamp && e->facts_gen != stamp && r->stamp == stamp && r->gfn == e->gfn) {
		e->facts_rights = r->rights;
		e->facts_keys = r->keys;
		e->facts_gen = stamp;
		e->plan_epoch = r->plan_epoch;
		e->plan = r->plan;
		e->plan_leaf = r->plan_leaf;
	}
}

/* Does e's plan hold for a transition between closed and access? */
static inline bool plan_holds(const struct pks_global *pks, const struct unprotect_entry *e,
			      u64 stamp, unsigned int access)
{
	return stamp && e->facts_gen == stamp && e->plan_epoch == pks->view_epoch &&
	       plan_access(e->plan) == access;
}

/*
 * The page's view-independent facts (lock held): the ones cached in its
 * unprotect entry while current (entry_recall() brought back those of
 * its last protection); else gathered - keys included, which PROTECT
 * needs.  Only a mapped page's facts are kept: the base EPT changes
 * after launch only by mapping MMIO that was absent (vmm/exit_ept.c) and
 * by redirecting pksvisor's own pages (vmm/hidden.c, never an unprotect
 * entry: check_gfn()), so mapped base rights stay.
 */
static inline void entry_facts(struct hv *hv, u64 gpa, struct unprotect_entry *e,
			       u64 stamp, unsigned int access, struct view_page_facts *f)
{
	f->access = access;
	if (stamp && e->facts_gen == stamp) {
		f->rights = e->facts_rights & EPT_RWX;
		f->table = e->facts_rights & FACTS_TABLE;
		f->keys = e->facts_keys;
		return;
	}
	view_page_facts_known(hv, gpa, 0, f);	/* access 0: keys looked up */
	f->access = access;
	e->plan_epoch = 0;			/* made from other facts */
	if (!f->rights)
		return;
	e->facts_rights = (u8)(f->rights | (f->table ? FACTS_TABLE : 0));
	e->facts_keys = f->keys;
	e->facts_gen = stamp;
}

/* PROTECT: the entry is gone; its facts and plan stay for the page's next UNPROTECT. */
static void facts_keep(struct pks_global *pks, const struct unprotect_entry *e)
{
	struct pks_facts_recent *r = &pks->facts_recent[e->gfn & (PKS_FACTS_RECENT - 1)];

	if (!e->facts_gen)
		return;
	r->gfn = e->gfn;
	r->stamp = e->facts_gen;
	r->rights = e->facts_rights;
	r->keys = e->facts_keys;
	r->plan_epoch = e->plan_epoch;
	r->plan = e->plan;
	r->plan_leaf = e->plan_leaf;
}

/*
 * Give gpa the rights perms in view slot i (lock held): one walk, and a
 * write when they differ.  True if the entry changed.  *leaf: the
 * page's entry when it is a 4 KiB leaf (stays one), else NULL.
 */
static inline __attribute__((always_inline)) bool
set_page(struct hv *hv, unsigned int i, u64 gpa, u64 perms, u64 **leaf)
{
	struct pks_view *v = &hv->pks.views[i];
	int level;
	u64 *e = ept_lookup(&v->ept, gpa, &level);

	*leaf = e && level == 1 ? e : NULL;
	if (!e || (*e & EPT_RWX) == perms)
		return false;
	if (level == 1) {
		/* The usual case: one walk, one write. */
		*e = (*e & ~EPT_RWX) | perms;
		return true;
	}
	/*
	 * A large leaf must be split first; when the pool cannot give the
	 * table, the view goes (fail closed: it is rebuilt when next
	 * selected, and a VMFUNC to it exits meanwhile).
	 */
	if (ept_protect_4k(&v->ept, gpa, perms)) {
		/*
		 * Other vCPUs may run on the view: they must leave it before
		 * the call returns, UNPROTECT too (review2 finding 3).
		 */
		views_drop(hv, i);
		ept_flush_at_entry(hv);
	}
	return true;
}

/*
 * Re-derive one page in every built view (lock held) after its unprotect
 * access changed from old_access to f->access.  A view in which the two
 * accesses give the page the same rights (its PKRS leaves the page's keys
 * open, say) already has them - views are derived from the same facts
 * and the same table - and is neither walked nor written.  Every other
 * view costs one EPT walk and a write when its rights differ.  When one
 * of the two accesses is 0 (closed), *plan gets the page's plan (both
 * rights of every view that differs) for its next transition.
 *
 * Widened rights (UNPROTECT) need no INVEPT: a stale cached translation
 * can only deny more than the view now says, and the EPT violation it
 * raises invalidates the cached mappings used for that guest-physical
 * address (SDM Vol. 3C 29.4.3.1 "Operations that Invalidate Cached
 * Mappings"); pks_ept_violation() sees that the view allows the access
 * and lets it retry.  Rights taken away (PROTECT) must be gone before the
 * call returns: protect_flush().  True if some view changed.  Always
 * inline: a call here cost UNPROTECT and PROTECT about 35 instructions
 * each in saved registers (docs/benchmarks.md).
 */
static inline __attribute__((always_inline)) bool
refresh_page(struct hv *hv, u64 gpa, const struct view_page_facts *f, unsigned int old_access,
	     u64 *plan, u64 *plan_leaf)
{
	struct pks_global *pks = &hv->pks;
	struct view_page_facts before = *f;
	struct view_page_rule now, was;
	unsigned int keys = f->keys, key = keys ? (unsigned int)__builtin_ctz(keys) : 0;
	bool one_key = !(keys & (keys - 1));	/* no key (key_perms[0] is RWX) or one */
	bool opening = !old_access;
	u64 p = (u64)(opening ? f->access : old_access) << PLAN_ACCESS_SHIFT;
	u64 *leaf = NULL;
	bool changed = false;

	before.access = old_access;
	view_facts_rule(f, &now);
	view_facts_rule(&before, &was);
	for (unsigned int built = pks->views_built; built; built &= built - 1) {
		unsigned int i = (unsigned int)__builtin_ctz(built);
		struct pks_view *v = &pks->views[i];
		u64 kp, perms, old;

		kp = one_key ? v->key_perms[key] : view_keys_perms(v, keys);
		perms = view_rule_perms(hv, &now, kp);
		old = view_rule_perms(hv, &was, kp);
		if (perms == old)
			continue;
		p |= BIT(PLAN_MASK_SHIFT + i) |
		     (opening ? perms : old) << (PLAN_OPEN_SHIFT + 3 * i) |
		     (opening ? old : perms) << (PLAN_CLOSED_SHIFT + 3 * i);
		changed |= set_page(hv, i, gpa, perms, &leaf);
	}
	*plan = p;
	/* One view differs: its 4 KiB entry; several: none (plan_leaf). */
	*plan_leaf = plan_mask(p) & (plan_mask(p) - 1) ? 0 : (u64)(uintptr_t)leaf;
	return changed;
}

/* The transition by plan (plan_holds()): only the views that differ. */
static inline __attribute__((always_inline)) bool
follow_plan(struct hv *hv, u64 gpa, const struct unprotect_entry *ue, bool open)
{
	u64 plan = ue->plan, *leaf = (u64 *)(uintptr_t)ue->plan_leaf;
	bool changed = false;

	if (leaf) {
		u64 perms = plan_perms(plan, (unsigned int)__builtin_ctz(plan_mask(plan)), open);

		if ((*leaf & EPT_RWX) == perms)
			return false;
		*leaf = (*leaf & ~EPT_RWX) | perms;
		return true;
	}
	for (unsigned int m = plan_mask(plan); m; m &= m - 1) {
		unsigned int i = (unsigned int)__builtin_ctz(m);

		changed |= set_page(hv, i, gpa, plan_perms(plan, i, open), &leaf);
	}
	return changed;
}

/*
 * The one place that decides how PROTECT's narrowed rights reach the
 * TLBs.  Single CPU: no INVEPT here - the protection generation moves and
 * this vCPU's vcpu_flush_stale() invalidates every EPTP before the VM
 * entry that returns from the call (vmm/flush.c), one INVEPT instead of
 * two; every other vCPU does the same before its next entry (a vCPU
 * running guest code meanwhile is the shootdown's case,
 * docs/architecture.md "SMP").
 */
static void protect_flush(struct hv *hv)
{
	ept_flush_at_entry(hv);
}

/* Common checks of UNPROTECT_PAGE and PROTECT_PAGE. */
static s64 check_gfn(struct hv *hv, u64 gfn)
{
	u64 gpa = gfn << PAGE_SHIFT;

	if (hv->pks.backend == PKS_BACKEND_NONE)	/* pks_exposed(), inline */
		return -PKSV_ENOTSUP;
	if (gfn >> (52 - PAGE_SHIFT) || gpa >= hv->phys_limit ||
	    view_gpa_hidden(hv, gpa))
		return -PKSV_EFAULT;
	return 0;
}

s64 pks_hc_unprotect(struct vcpu *vcpu, u64 gfn, u64 access)
{
	struct hv *hv = vcpu->hv;
	struct pks_global *pks = &hv->pks;
	struct unprotect_entry *entry;
	struct view_page_facts f;
	bool changed;
	s64 ret;

	ret = check_gfn(hv, gfn);
	if (ret)
		return ret;
	if (access >> 32)
		return -PKSV_EINVAL;
	spin_lock(&pks->lock);
	ret = unprotect_get_entry(&pks->unprotect, gfn, (unsigned int)access,
				  &changed, &entry);
	/* Changed: a new entry, or READ raised to READ|WRITE: access it is. */
	if (!ret && changed && pks->backend == PKS_BACKEND_SOFT) {
		u64 gpa = gfn << PAGE_SHIFT, stamp = facts_stamp(pks);
		unsigned int old = entry->refs == 1 ? 0 : PKSV_ACCESS_READ;
		u64 plan;

		entry_recall(pks, entry, stamp);
		if (!old && plan_holds(pks, entry, stamp, entry->access)) {
			follow_plan(hv, gpa, entry, true);
		} else {
			u64 epoch = pks->view_epoch, leaf;

			entry_facts(hv, gpa, entry, stamp, entry->access, &f);
			/* Changed with one reference: new.  With more: READ became READ|WRITE. */
			refresh_page(hv, gpa, &f, old, &plan, &leaf);
			if (!old && entry->facts_gen) {
				/* A view dropped meanwhile moved the epoch: no plan. */
				entry->plan = plan;
				entry->plan_leaf = leaf;
				entry->plan_epoch = epoch;
			}
		}
	}
	spin_unlock(&pks->lock);
	return ret;
}

s64 pks_hc_protect(struct vcpu *vcpu, u64 gfn)
{
	struct hv *hv = vcpu->hv;
	struct pks_global *pks = &hv->pks;
	struct unprotect_entry last;
	struct view_page_facts f;
	enum unprotect_drop drop;
	bool changed;
	s64 ret;

	ret = check_gfn(hv, gfn);
	if (ret)
		return ret;
	spin_lock(&pks->lock);
	ret = unprotect_put_entry(&pks->unprotect, gfn, &drop, &last);
	if (ret || pks->backend != PKS_BACKEND_SOFT) {
		/* Nothing to derive: hw enforces from the table itself. */
	} else if (drop == UNPROTECT_GONE) {
		u64 gpa = gfn << PAGE_SHIFT, stamp = facts_stamp(pks);

		if (plan_holds(pks, &last, stamp, last.access)) {
			changed = follow_plan(hv, gpa, &last, false);
		} else {
			u64 epoch = pks->view_epoch, plan, leaf;

			entry_facts(hv, gpa, &last, stamp, 0, &f);
			changed = refresh_page(hv, gpa, &f, last.access, &plan, &leaf);
			last.plan = plan;
			last.plan_leaf = leaf;
			last.plan_epoch = epoch;
		}
		facts_keep(pks, &last);
		if (changed)
			protect_flush(hv);
	} else if (drop == UNPROTECT_NARROWED) {
		u64 gpa = gfn << PAGE_SHIFT, plan, leaf;

		/*
		 * Writers done, readers left: READ in every view (pks.h).  Not
		 * a transition between closed and open: no plan is made (the
		 * entry's plan, made for READ|WRITE, no longer matches its
		 * access).
		 */
		entry_facts(hv, gpa, &last, facts_stamp(pks), PKSV_ACCESS_READ, &f);
		if (refresh_page(hv, gpa, &f, last.access, &plan, &leaf))
			protect_flush(hv);
	}
	spin_unlock(&pks->lock);
	/*
	 * hw: another vCPU may be stepping an access to this page with its
	 * key open (pks.c HW_PF_UNPROTECTED).  The shootdown makes it cancel
	 * the step before the call returns (hw_pkrs.c pks_remote_sync();
	 * review3 F1: nothing else owes one on hw).
	 */
	if (!ret && drop != UNPROTECT_KEPT && pks->backend == PKS_BACKEND_HW)
		vcpu_shootdown_owe(vcpu);
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
