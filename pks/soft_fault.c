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
#include "../vmm/exit.h"
#include "../vmm/memory.h"
#include "../vmm/vmx.h"
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
 * Let the current instruction through one page: add the rights it needs to
 * that page in the current view only (not the whole base view, so a second
 * keyed page the same instruction touches is still checked), single-step,
 * then take them back (pks_step_done).
 */
static bool allow_page(struct vcpu *vcpu, u64 gpa, u64 add, enum step_reason why)
{
	struct hv *hv = vcpu->hv;
	struct pks_view *v = &hv->pks.views[vcpu->pks_view];
	struct pks_override *o;
	int level;
	u64 *e;

	if (vcpu->pks_nr_override == PKS_MAX_OVERRIDES)
		return false;
	spin_lock(&hv->pks.lock);
	e = ept_lookup(&v->ept, gpa, &level);
	o = &vcpu->pks_override[vcpu->pks_nr_override];
	o->gpa = gpa & PAGE_MASK;
	o->perms = e ? *e & EPT_RWX : 0;
	if (ept_protect_4k(&v->ept, o->gpa, o->perms | add)) {
		spin_unlock(&hv->pks.lock);
		return false;
	}
	spin_unlock(&hv->pks.lock);
	vcpu->pks_nr_override++;
	ept_flush(hv, v->eptp);
	if (vcpu->step == STEP_NONE)
		vcpu_step_begin(vcpu, why);
	else if (why == STEP_PKS_TABLE)
		vcpu->step = why;	/* remember to rescan at the end */
	return true;
}

static void restore_overrides(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	struct pks_view *v = &hv->pks.views[vcpu->pks_view];

	if (!vcpu->pks_nr_override)
		return;
	spin_lock(&hv->pks.lock);
	while (vcpu->pks_nr_override) {
		struct pks_override *o = &vcpu->pks_override[--vcpu->pks_nr_override];

		ept_protect_4k(&v->ept, o->gpa, o->perms);
	}
	spin_unlock(&hv->pks.lock);
	ept_flush(hv, v->eptp);
}

void pks_step_done(struct vcpu *vcpu, enum step_reason why)
{
	if (why == STEP_PKS_HW) {
		pks_apply(vcpu);	/* close the key again */
		return;
	}
	restore_overrides(vcpu);
	if (why == STEP_PKS_TABLE) {
		if (vcpu->pks_table_gpa)
			discover_table_written(vcpu, vcpu->pks_table_gpa, vcpu->pks_table_snap);
		else
			vcpu->pks_rescan = PKS_RESCAN_ALL;
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

bool pks_ept_violation(struct vcpu *vcpu, u64 gpa, u64 qual)
{
	struct hv *hv = vcpu->hv;
	struct pks_access a = { 0 };
	u64 add = rights_for(qual);
	struct guest_walk w;
	u64 gla;

	if (hv->pks.backend != PKS_BACKEND_SOFT || vcpu->pks_view == 0)
		return false;
	if (vcpu->step != STEP_NONE && vcpu->step != STEP_PKS_ALLOW &&
	    vcpu->step != STEP_PKS_TABLE)
		return false;
	/*
	 * SDM 28.2.1 Table 28-7: bit 7 = linear address valid, bit 8 = the
	 * access was to the translated address (else to a paging structure:
	 * the walker setting A/D bits in a write-protected table).
	 */
	if ((qual & EPTQ_LINEAR_VALID) && !(qual & BIT(8)))
		return allow_page(vcpu, gpa, add, STEP_PKS_ALLOW);
	if ((qual & EPTQ_WRITE) && hv->pks.discovery && views_is_table(hv, gpa)) {
		if (vcpu->step == STEP_NONE) {
			/* Snapshot the table to see what the write changes. */
			vcpu->pks_table_gpa = gpa & PAGE_MASK;
			pksv_memcpy(vcpu->pks_table_snap, (void *)(uintptr_t)(gpa & PAGE_MASK),
				    PAGE_SIZE);
		} else {
			vcpu->pks_table_gpa = 0;	/* two tables at once: rescan */
		}
		return allow_page(vcpu, gpa, add, STEP_PKS_TABLE);
	}
	if (!(qual & EPTQ_LINEAR_VALID))
		return allow_page(vcpu, gpa, add, STEP_PKS_ALLOW);
	gla = vmread(VMCS_GUEST_LINEAR_ADDR);
	if (guest_walk_current(vcpu, gla, &w) != 0)
		return allow_page(vcpu, gpa, add, STEP_PKS_ALLOW);
	a.write = qual & EPTQ_WRITE;
	a.fetch = qual & EPTQ_FETCH;
	a.user_mode = vcpu_cpl() == 3;
	a.supervisor_page = w.supervisor;
	a.key = w.key;
	a.cr4_pks = vcpu->cr4_shadow & CR4_PKS;
	a.cr0_wp = vcpu->cr0_shadow & CR0_WP;
	a.long_paging = vcpu->efer & EFER_LMA;
	a.pkrs = pks_effective_pkrs(vcpu);
	if (!pks_denies(&a))
		return allow_page(vcpu, gpa, add, STEP_PKS_ALLOW);
	/* The instruction does not complete: undo a step in progress. */
	if (vcpu->step != STEP_NONE) {
		vcpu_step_cancel(vcpu);
		restore_overrides(vcpu);
	}
	if (pks_fault_policy(vcpu, gla, a.key, a.write))
		return true;	/* view switched: the access retries */
	pks_inject_pf(vcpu, gla, pks_pf_error_code(&a));
	return true;
}
