// SPDX-License-Identifier: MIT
/*
 * hw backend: IA32_PKRS pass-through (docs/pks.md, "hw backend: cost").
 * While nothing needs pksvisor between the guest and its PKRS (strict or
 * RELAXED/SILENT without an opening, no locked key, no GRANT), RDMSR and
 * WRMSR of MSR 0x6E1 do not exit: the CPU loads the VMCS guest-PKRS field
 * (0x2818) at VM entry and saves the guest's PKRS there at every VM exit
 * (SDM Vol. 3C 26.3.2.1, 28.3.1), so that field, not vcpu->pkrs, holds
 * the truth until interception is switched on again.  The decision is
 * pks_hw_pkrs_intercept() (pks/pk_decide.c, host unit tested).
 */
#include <pksvisor/pk_decide.h>
#include "../vmm/vmcs.h"
#include "../vmm/vmx.h"
#include "pks_internal.h"

static bool hw_wants_intercept(const struct vcpu *vcpu)
{
	const struct pks_global *pks = &vcpu->hv->pks;

	return pks_hw_pkrs_intercept(pks->mode, pks->lock_bits,
				     vcpu->pkrs_grant, vcpu->pkrs_open);
}

/*
 * Make the MSR bitmap follow the decision.  Called from pks_apply() after
 * the effective value is in the VMCS, i.e. whenever an input changed
 * (WRMSR, SET_MODE, LOCK_KEY, GRANT/REVOKE, a fault opening a key, INIT).
 * Switching interception off is safe then: the effective value just
 * written equals vcpu->pkrs when nothing is locked, granted or opened.
 */
void pks_hw_pkrs_update(struct vcpu *vcpu)
{
	bool passthrough = !hw_wants_intercept(vcpu);

	if (passthrough == vcpu->pkrs_passthrough)
		return;
	msr_bitmap_set(vcpu, MSR_IA32_PKRS, !passthrough, !passthrough);
	vcpu->pkrs_passthrough = passthrough;
}

/*
 * At every exit, before any handler looks at vcpu->pkrs: under
 * pass-through the guest may have written PKRS without exiting, so take
 * its value from the VMCS.  Not while an access to an unprotected page is
 * single-stepped (STEP_PKS_HW): the field then holds the value with that
 * page's key opened by pksvisor, pks_step_done() restores it from
 * vcpu->pkrs, and the stepped access cannot be a WRMSR.  Mode and locked keys are global: when another vCPU changed
 * them, this vCPU's interception and VMCS value follow here, at its next
 * exit of any kind.
 */
void pks_hw_exit_sync(struct vcpu *vcpu)
{
	if (vcpu->hv->pks.backend != PKS_BACKEND_HW || (vcpu->step & STEP_PKS_HW))
		return;
	if (vcpu->pkrs_passthrough)
		vcpu->pkrs = (u32)vmread(VMCS_GUEST_PKRS);
	if (vcpu->pkrs_passthrough == hw_wants_intercept(vcpu))
		pks_apply(vcpu);
}
