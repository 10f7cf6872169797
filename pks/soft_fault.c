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

/* Give the page its rights in the view back (o->slot may not be current). */
static void restore_one(struct hv *hv, const struct pks_override *o)
{
	ept_protect_4k(&hv->pks.views[o->slot].ept, o->gpa, o->perms);
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
	restore_one(hv, &vcpu->pks.override[0]);
	for (unsigned int i = 1; i < PKS_MAX_OVERRIDES; i++)
		vcpu->pks.override[i - 1] = vcpu->pks.override[i];
	vcpu->pks.nr_override--;
	ept_flush(hv, hv->pks.views[slot].eptp);
}

/*
 * Let the current instruction through one page: add the rights it needs to
 * that page in the current view only (not the whole base view, so a second
 * keyed page the same instruction touches is still checked), single-step,
 * then take them back (pks_step_done).
 */
static bool allow_page(struct vcpu *vcpu, u64 gpa, u64 add, enum step_reason why)
{
	struct hv *hv = vcpu->hv;
	struct pks_view *v = &hv->pks.views[vcpu->pks.view];
	struct pks_override *o;
	int level;
	u64 *e;

	spin_lock(&hv->pks.lock);
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
	if (ept_protect_4k(&v->ept, o->gpa, o->perms | add)) {
		spin_unlock(&hv->pks.lock);
		return false;
	}
	spin_unlock(&hv->pks.lock);
	vcpu->pks.nr_override++;
	ept_flush(hv, v->eptp);
	vcpu_step_begin(vcpu, why);
	return true;
}

static void restore_overrides(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	u64 flushed = 0;

	if (!vcpu->pks.nr_override)
		return;
	spin_lock(&hv->pks.lock);
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
