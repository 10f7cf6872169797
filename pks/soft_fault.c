// SPDX-License-Identifier: MIT
/*
 * Soft backend: EPT violations in a PKS view.  The view denied an access to
 * a keyed (or, in discovery mode, page-table) guest-physical page; EPT only
 * knows the physical page, PKS is about the linear mapping, so pksvisor
 * walks the guest's page tables for the faulting linear address and decides
 * as hardware PKS would (pks_denies()):
 *  - denied: the fault mode decides (pks.c): inject the #PF hardware would
 *    deliver, or open the key for this vCPU until its next PKRS write;
 *  - allowed (key-0 or user alias of a keyed page, WD with CR0.WP = 0, a
 *    read through WD, a fetch): run that one instruction in the base view
 *    (vmm/single_step.c), then return to the view.
 */
#include <pksvisor/format.h>
#include <pksvisor/log.h>
#include <pksvisor/pk_decide.h>
#include "../vmm/seam.h"
#include <pksvisor/page_pool.h>
#include "pks_internal.h"

/* Guest-physical reads for the walker: identity EPT, so a host read, but
 * never of pksvisor's own memory. */
static int read_gpa(void *ctx, u64 gpa, u64 *val)
{
	struct hv *hv = ctx;

	if (gpa >= hv->phys_limit || pool_contains(&hv->pool, gpa))
		return -1;
	*val = *(volatile u64 *)(uintptr_t)gpa;
	return 0;
}

int guest_walk_current(struct vcpu *vcpu, u64 gla, struct guest_walk *w)
{
	u64 cr4 = vmread(VMCS_GUEST_CR4);

	return guest_walk(vmread(VMCS_GUEST_CR3), cr4 & BIT(12), gla,
			  read_gpa, vcpu->hv, w);
}

int guest_scan_current(struct vcpu *vcpu, const struct guest_scan_ops *ops, void *ctx)
{
	u64 cr4 = vmread(VMCS_GUEST_CR4);

	return guest_scan_keys(vmread(VMCS_GUEST_CR3), cr4 & BIT(12),
			       read_gpa, vcpu->hv, ops, ctx, PKS_MAX_TABLES);
}

/*
 * Give the page its rights in the view back (o->slot may not be current),
 * and undo the split of a large page the override needed: its tables came
 * from the pool's reserve (allow_page) and must go back to it.  The
 * caller flushes the view's EPTP.  Lock held.
 *
 * The rights are derived again (view_page_perms()), never the ones seen
 * when the page was opened: meanwhile another vCPU may have narrowed the
 * page in place (PROTECT_PAGE), or opened it for its own step (its
 * override then reads as the page's rights).  If the slot was rebuilt
 * (LOCK_KEY, RANGE_REGISTER, discovery) or freed since, the override is
 * not in it: nothing to restore, nothing to merge (those tables went with
 * the old build, back to the pool).
 */
static void restore_one(struct hv *hv, const struct pks_override *o)
{
	struct pks_view *v = &hv->pks.views[o->slot];

	if (!v->valid || v->build_seq != o->build_seq)
		return;
	ept_protect_4k(&v->ept, o->gpa, view_page_perms(hv, v, o->gpa));
	/*
	 * The merged-away tables (a PT, and a PD for a 1 GiB merge) may sit
	 * in the paging-structure caches of other CPUs on this view: freed
	 * only after the shootdown (vmm/ept_retire.c).  No room to hold
	 * them: the split stays (same rights, finer pages) until the view is
	 * rebuilt.  A table taken out: no page plan may point into it
	 * (unprotect_vmm.c).
	 */
	if (o->split_level > 1 && ept_retire_room(hv) >= 2 &&
	    ept_merge(&v->ept, o->gpa, o->split_level, ept_retire_page, hv))
		hv->pks.view_epoch++;
}

/*
 * The oldest override is closed while younger ones stay open (make_room):
 * a split it made cannot be merged while another open page of the same
 * view lies in the block, so the oldest of those inherits the duty (and
 * merges at its own restore), or the reserve would leak.
 */
static void hand_over_split(struct vcpu *vcpu, const struct pks_override *old)
{
	u64 block = 1ull << (PAGE_SHIFT + 9 * (old->split_level - 1));

	/* The oldest one left in the block: restored last (youngest first). */
	for (unsigned int i = 1; i < vcpu->pks.nr_override; i++) {
		struct pks_override *o = &vcpu->pks.override[i];

		if (o->slot == old->slot && o->build_seq == old->build_seq &&
		    (o->gpa & ~(block - 1)) == (old->gpa & ~(block - 1))) {
			if (o->split_level < old->split_level)
				o->split_level = old->split_level;
			return;
		}
	}
}

/*
 * An instruction that needs more pages than PKS_MAX_OVERRIDES (an AVX2 or
 * AVX-512 gather/scatter over keyed pages through user mappings, each
 * element up to two pages) neither halts nor widens: the oldest override
 * is closed again and its slot reused (step_overflow).  Gathers and
 * scatters record per-element progress in their mask register when an
 * access faults or exits (SDM Vol. 2 VPGATHERDD, VPSCATTERDD: "partially
 * updated"), so the retried instruction no longer needs the elements done
 * and makes progress.  No x86 instruction that restarts from scratch
 * touches more than 16 pages (MOVS: 4, event delivery and XSAVE a few
 * more), so none can livelock on this; opening the whole view instead
 * would let such an instruction reach pages nobody checked.  Lock held.
 */
static void make_room(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	unsigned int slot;

	if (vcpu->pks.nr_override < PKS_MAX_OVERRIDES)
		return;
	vcpu->stats.step_overflow++;
	slot = vcpu->pks.override[0].slot;
	if (vcpu->pks.override[0].split_level > 1)
		hand_over_split(vcpu, &vcpu->pks.override[0]);
	restore_one(hv, &vcpu->pks.override[0]);
	for (unsigned int i = 1; i < PKS_MAX_OVERRIDES; i++)
		vcpu->pks.override[i - 1] = vcpu->pks.override[i];
	vcpu->pks.nr_override--;
	ept_flush(hv, hv->pks.views[slot].eptp);
}

/*
 * The view this vCPU runs on, if it is still the build it chose (lock
 * held); else NULL.  Between pks_exit_sync() and the lock another vCPU may
 * have dropped the slot (its tree retired, pml4 0: a walk would start at
 * host address 0; or parked in the invalid slot for the vCPUs still on
 * it, views.c retire_view(), where no page may be opened) or rebuilt it:
 * the access then retries on the view pks_entry_check() re-selects at
 * entry, never walks or edits the old tree.
 */
static struct pks_view *view_locked(struct vcpu *vcpu)
{
	struct pks_view *v = &vcpu->hv->pks.views[vcpu->pks.view];

	return v->valid && v->build_seq == vcpu->pks.view_seq ? v : NULL;
}

/*
 * Let the current instruction through one page: add the rights it needs to
 * that page in the current view only (not the whole base view, so a second
 * keyed page the same instruction touches is still checked), single-step,
 * then take them back (pks_step_done).  False: the page could not be
 * opened (allow_page() fails closed).
 */
static bool open_page(struct vcpu *vcpu, u64 gpa, u64 add, enum step_reason why)
{
	struct hv *hv = vcpu->hv;
	struct pks_view *v;
	struct pks_override *o;
	int level, r;
	u64 *e, eptp;

	spin_lock(&hv->pks.lock);
	v = view_locked(vcpu);
	if (!v) {
		/* The view went under this exit: retry on the new one (no step). */
		spin_unlock(&hv->pks.lock);
		vcpu->stats.ept_stale++;
		return true;
	}
	make_room(vcpu);
	e = ept_lookup(&v->ept, gpa, &level);
	if (!e) {
		/* Not mapped in this view: pksvisor's bug, not the guest's. */
		spin_unlock(&hv->pks.lock);
		return false;
	}
	o = &vcpu->pks.override[vcpu->pks.nr_override];
	o->gpa = gpa & PAGE_MASK;
	o->perms = *e & EPT_RWX;
	o->slot = (u8)vcpu->pks.view;
	o->build_seq = v->build_seq;
	o->split_level = (u8)level;
	/*
	 * A page inside a block the view restricts as one large page (views.c
	 * restrict_range) needs a split; its tables come from the pool's
	 * reserve (PKS_MAX_OVERRIDES pages' worth per vCPU, views_init())
	 * and go back when the step ends (restore_one).
	 */
	v->ept.alloc = pool_alloc_ept_reserved;
	r = ept_protect_4k(&v->ept, o->gpa, o->perms | add);
	v->ept.alloc = pool_alloc_ept;
	if (r) {
		spin_unlock(&hv->pks.lock);
		return false;
	}
	eptp = v->eptp;
	spin_unlock(&hv->pks.lock);
	vcpu->pks.nr_override++;
	ept_flush(hv, eptp);
	vcpu_step_begin(vcpu, why);
	return true;
}

static void restore_overrides(struct vcpu *vcpu);

/* Log the first few failures per vCPU; a guest must not flood the console. */
#define ALLOW_FAILED_LOG_LIMIT	4

/*
 * Open the page for the access PKS allows.  If that fails (no reserve
 * page to split a large page: a pksvisor sizing bug, or a view without
 * the mapping), fail closed, never halt: end the step in progress (its
 * overrides hand their split tables back to the reserve) and try once
 * more; if that fails too, the instruction is abandoned with #GP(0), as
 * for an over-long access to the reservation (vmm/hidden.c).  A false
 * return here would reach vcpu_fatal() in vmm/exit_ept.c.
 */
static bool allow_page(struct vcpu *vcpu, u64 gpa, u64 add, enum step_reason why)
{
	if (open_page(vcpu, gpa, add, why))
		return true;
	vcpu_step_cancel(vcpu);
	restore_overrides(vcpu);
	if (open_page(vcpu, gpa, add, why))
		return true;
	if (++vcpu->pks.allow_failed <= ALLOW_FAILED_LOG_LIMIT)
		pksv_log("PKS: cannot open gpa 0x%llx in view %d for an allowed access at rip 0x%llx: instruction abandoned with #GP(0)",
			 gpa, vcpu->pks.view, vcpu->guest_rip);
	vcpu_inject_gp(vcpu);
	return true;
}

static void restore_overrides(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	u64 flushed = 0;

	if (!vcpu->pks.nr_override)
		return;
	spin_lock(&hv->pks.lock);
	/* Youngest first: the oldest, which may have split, merges last. */
	while (vcpu->pks.nr_override) {
		struct pks_override *o = &vcpu->pks.override[--vcpu->pks.nr_override];

		restore_one(hv, o);
		flushed |= BIT(o->slot);
	}
	spin_unlock(&hv->pks.lock);
	for (unsigned int i = 0; i < PKS_MAX_VIEWS; i++)
		if (flushed & BIT(i))
			ept_flush(hv, hv->pks.views[i].eptp);
}

void pks_step_done(struct vcpu *vcpu, unsigned int why)
{
	if (why & STEP_PKS_HW)
		pks_apply(vcpu);	/* close the key again */
	if (!(why & (STEP_PKS_ALLOW | STEP_PKS_TABLE)))
		return;
	restore_overrides(vcpu);
	if (why & STEP_PKS_TABLE) {
		if (vcpu->pks.table_gpa)
			discover_table_written(vcpu, vcpu->pks.table_gpa, vcpu->pks.table_snap);
		else
			vcpu->pks.rescan = PKS_RESCAN_ALL;
	}
	views_select(vcpu);
}

static u64 rights_for(u64 qual)
{
	if (qual & EPTQ_FETCH)
		return EPT_EXEC;
	/* EPT has no write-only pages (SDM 29.3.3.1): writes need R too. */
	return qual & EPTQ_WRITE ? EPT_READ | EPT_WRITE : EPT_READ;
}

/*
 * The vCPU's view already gives the access its rights: the CPU used a
 * translation cached before an UNPROTECT widened the page (refresh_page()
 * in unprotect_vmm.c skips the INVEPT for widening).  The EPT violation
 * has already dropped the cached mappings for that guest-physical address
 * (SDM Vol. 3C 29.4.3.1); a single-context INVEPT of the view on this rare
 * path makes sure the retry cannot see the stale rights again.
 */
static bool view_already_allows(struct vcpu *vcpu, u64 gpa, u64 add)
{
	struct hv *hv = vcpu->hv;
	struct pks_view *v;
	bool allows;
	int level;
	u64 *e, eptp;

	spin_lock(&hv->pks.lock);
	v = view_locked(vcpu);
	if (!v) {
		/* Dropped or rebuilt by another vCPU: retry on the re-selected view. */
		spin_unlock(&hv->pks.lock);
		vcpu->stats.ept_stale++;
		return true;
	}
	e = ept_lookup(&v->ept, gpa, &level);
	allows = e && !(add & ~*e & EPT_RWX);
	eptp = v->eptp;
	spin_unlock(&hv->pks.lock);
	if (!allows)
		return false;
	vcpu->stats.ept_stale++;
	ept_flush(hv, eptp);
	return true;
}

/*
 * The walk did not describe this access (the tables changed since the CPU
 * translated, or cannot be read).  Flush this vCPU's translations so that
 * the CPU walks the current tables, and let the instruction retry: it
 * then faults on what the tables say now.  A second retry of the same
 * access in a row means the two walks keep disagreeing: the access is
 * refused with the #PF a PK fault gives, never allowed.
 */
static bool retry_access(struct vcpu *vcpu, u64 gpa, u64 gla, bool write)
{
	vcpu->stats.walk_refused++;
	if (vcpu->pks.retry_rip != vcpu->guest_rip || vcpu->pks.retry_gpa != gpa) {
		vcpu->pks.retry_rip = vcpu->guest_rip;
		vcpu->pks.retry_gpa = gpa;
		vcpu_flush_vpid(vcpu);
		return true;
	}
	vcpu->pks.retry_rip = 0;
	vcpu->pks.retry_gpa = 0;
	vcpu_step_cancel(vcpu);
	restore_overrides(vcpu);
	vcpu->stats.pk_fault_injected++;
	pks_inject_pf(vcpu, gla, PFEC_P | PFEC_PK | (write ? PFEC_W : 0) |
		      (vcpu_cpl() == 3 ? PFEC_U : 0));
	return true;
}

bool pks_ept_violation(struct vcpu *vcpu, u64 gpa, u64 qual)
{
	struct hv *hv = vcpu->hv;
	struct soft_fault_input in = { 0 };
	struct pks_access a;
	u64 add = rights_for(qual);
	struct guest_walk w;
	u64 gla = 0;

	if (hv->pks.backend != PKS_BACKEND_SOFT || vcpu->pks.view == 0)
		return false;
	/*
	 * Never decide about pksvisor's own memory: an override would map it
	 * for the guest.  (A second reservation page within one instruction
	 * reaches here while the first is being refused: the hidden-memory
	 * path of vmm/exit_ept.c owns it.)
	 */
	if (pool_contains(&hv->pool, gpa))
		return false;
	if (view_already_allows(vcpu, gpa, add))
		return true;
	in.write = qual & EPTQ_WRITE;
	in.fetch = qual & EPTQ_FETCH;
	in.linear_valid = qual & EPTQ_LINEAR_VALID;
	in.translated = qual & BIT(8);
	in.fault_gpa = gpa;
	in.table_write = in.write && hv->pks.discovery && views_is_table(hv, gpa);
	in.long_paging = vmread(VMCS_GUEST_EFER) & EFER_LMA;	/* saved on exit */
	in.walk = -1;
	if (in.linear_valid && in.translated && in.long_paging && !in.table_write) {
		gla = vmread(VMCS_GUEST_LINEAR_ADDR);
		in.walk = guest_walk_current(vcpu, gla, &w);
		in.w = &w;
	}
	in.user_mode = vcpu_cpl() == 3;
	in.cr4_pks = vcpu->cr4_shadow & CR4_PKS;
	in.cr0_wp = vcpu->cr0_shadow & CR0_WP;
	in.pkrs = pks_effective_pkrs(vcpu);

	switch (soft_ept_decide(&in, &a)) {
	case SOFT_ALLOW:
		vcpu->pks.retry_rip = 0;
		return allow_page(vcpu, gpa, add, STEP_PKS_ALLOW);
	case SOFT_TABLE:
		if (vcpu->step == STEP_NONE) {
			/* Snapshot the table to see what the write changes. */
			vcpu->pks.table_gpa = gpa & PAGE_MASK;
			pksv_memcpy(vcpu->pks.table_snap, (void *)(uintptr_t)(gpa & PAGE_MASK),
				    PAGE_SIZE);
		} else {
			vcpu->pks.table_gpa = 0;	/* two tables at once: rescan */
		}
		return allow_page(vcpu, gpa, add, STEP_PKS_TABLE);
	case SOFT_RETRY:
		return retry_access(vcpu, gpa, gla, in.write);
	case SOFT_DENY:
		break;
	}
	vcpu->pks.retry_rip = 0;
	/* The instruction does not complete: undo a step in progress. */
	vcpu_step_cancel(vcpu);
	restore_overrides(vcpu);
	if (pks_fault_policy(vcpu, gla, a.key, a.write))
		return true;	/* view switched: the access retries */
	pks_inject_pf(vcpu, gla, pks_pf_error_code(&a));
	return true;
}
