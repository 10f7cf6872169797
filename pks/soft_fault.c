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
#include <pksvisor/log.h>
#include "../vmm/exit.h"
#include "../vmm/vmx.h"
#include "pks_internal.h"

/* Guest-physical reads for the walker: identity EPT, so a host read, but
 * never of pksvisor's own memory. */
static int read_gpa(void *ctx, u64 gpa, u64 *val)
{
	struct hv *hv = ctx;

	if (gpa >= hv->phys_limit ||
	    (gpa >= hv->pool.base && gpa < hv->pool.base + hv->pool.size))
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

static void step_in_base(struct vcpu *vcpu, enum step_reason why)
{
	views_use_base(vcpu);
	vcpu_step_begin(vcpu, why);
}

void pks_step_done(struct vcpu *vcpu, enum step_reason why)
{
	if (why == STEP_PKS_TABLE)
		vcpu->pks_rescan = true;
	views_select(vcpu);
}

bool pks_ept_violation(struct vcpu *vcpu, u64 gpa, u64 qual)
{
	struct hv *hv = vcpu->hv;
	struct pks_access a = { 0 };
	struct guest_walk w;
	u64 gla;

	if (hv->pks.backend != PKS_BACKEND_SOFT || vcpu->pks_view == 0)
		return false;
	if (vcpu->step != STEP_NONE) {
		/* Already stepping in the base view: cannot be a view denial. */
		return false;
	}
	/*
	 * SDM 28.2.1 Table 28-7: bit 7 = linear address valid, bit 8 = the
	 * access was to the translated address (else to a paging structure:
	 * the walker setting A/D bits in a write-protected table).
	 */
	if ((qual & EPTQ_LINEAR_VALID) && !(qual & BIT(8))) {
		step_in_base(vcpu, STEP_PKS_ALLOW);
		return true;
	}
	if ((qual & EPTQ_WRITE) && hv->pks.discovery && views_is_table(hv, gpa)) {
		step_in_base(vcpu, STEP_PKS_TABLE);
		return true;
	}
	if (!(qual & EPTQ_LINEAR_VALID)) {
		step_in_base(vcpu, STEP_PKS_ALLOW);
		return true;
	}
	gla = vmread(VMCS_GUEST_LINEAR_ADDR);
	if (guest_walk_current(vcpu, gla, &w) != 0) {
		/* The translation changed under us: just retry in the base view. */
		step_in_base(vcpu, STEP_PKS_ALLOW);
		return true;
	}
	a.write = qual & EPTQ_WRITE;
	a.fetch = qual & EPTQ_FETCH;
	a.user_mode = vcpu_cpl() == 3;
	a.supervisor_page = w.supervisor;
	a.key = w.key;
	a.cr4_pks = vcpu->cr4_shadow & CR4_PKS;
	a.cr0_wp = vcpu->cr0_shadow & CR0_WP;
	a.long_paging = vcpu->efer & EFER_LMA;
	a.pkrs = pks_effective_pkrs(vcpu);
	if (!pks_denies(&a)) {
		step_in_base(vcpu, STEP_PKS_ALLOW);
		return true;
	}
	if (pks_fault_policy(vcpu, gla, a.key, a.write))
		return true;	/* view switched: the access retries */
	pks_inject_pf(vcpu, gla, pks_pf_error_code(&a));
	return true;
}
