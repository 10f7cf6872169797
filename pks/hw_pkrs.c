// SPDX-License-Identifier: MIT
/*
 * hw backend: IA32_PKRS pass-through (docs/pks.md, "hw backend: cost").
 * While nothing needs pksvisor between the guest and its PKRS (strict or
 * RELAXED/SILENT without an opening, no locked key, no GRANT), RDMSR and
 * WRMSR of MSR 0x6E1 do not exit: the CPU loads the VMCS guest-PKRS field
 * (0x2818) at VM entry and saves the guest's PKRS there at every VM exit
 * (SDM Vol. 3C 26.3.2.1, 28.3.1), so that field, not vcpu->pks.pkrs, holds
 * the truth until interception is switched on again.  The decision is
 * pks_hw_pkrs_intercept() (pks/pk_decide.c, host unit tested).
 */
#include <pksvisor/pk_decide.h>
#include "../vmm/seam.h"
#include "pks_internal.h"

static bool hw_wants_intercept(const struct vcpu *vcpu)
{
	const struct pks_global *pks = &vcpu->hv->pks;

	return pks_hw_pkrs_intercept(pks->mode, pks->lock_bits,
				     vcpu->pks.pkrs_grant, vcpu->pks.pkrs_open);
}

/*
 * Make the MSR bitmap follow the decision.  Called from pks_apply() after
 * the effective value is in the VMCS, i.e. whenever an input changed
 * (WRMSR, SET_MODE, LOCK_KEY, GRANT/REVOKE, a fault opening a key, INIT).
 * Switching interception off is safe then: the effective value just
 * written equals vcpu->pks.pkrs when nothing is locked, granted or opened.
 */
void pks_hw_pkrs_update(struct vcpu *vcpu)
{
	bool passthrough = !hw_wants_intercept(vcpu);

	if (passthrough == vcpu->pks.pkrs_passthrough)
		return;
	msr_bitmap_set(vcpu, MSR_IA32_PKRS, !passthrough, !passthrough);
	vcpu->pks.pkrs_passthrough = passthrough;
}

/*
 * The exits whose handlers may look at vcpu->pks.pkrs under pks=hw: #PF(PK)
 * (pks_page_fault), hypercalls (GRANT, LOCK_KEY, SET_MODE...), INIT/SIPI/
 * triple fault (pks_init_signal), MSR exits and EPT violations (rare, kept
 * for safety).  CPUID, I/O, CR, interrupt and MTF exits never do, and they
 * are the frequent ones: they skip the VMREAD.  A new handler that reads
 * vcpu->pks.pkrs under hw must add its exit reason here.
 */
#define HW_PKRS_READERS	(BIT(EXIT_EXCEPTION_NMI) | BIT(EXIT_TRIPLE_FAULT) | \
			 BIT(EXIT_INIT) | BIT(EXIT_SIPI) | BIT(EXIT_VMCALL) | \
			 BIT(EXIT_RDMSR) | BIT(EXIT_WRMSR) | BIT(EXIT_EPT_VIOLATION))

/*
 * At every exit, before any handler looks at vcpu->pks.pkrs: under
 * pass-through the guest may have written PKRS without exiting, so take
 * its value from the VMCS (for the exits above, and before any re-apply).
 * Not while an access to an unprotected page is single-stepped
 * (STEP_PKS_HW): the field then holds the value with that page's key
 * opened by pksvisor, pks_step_done() restores it from vcpu->pks.pkrs, and the
 * stepped access cannot be a WRMSR.  Mode and locked keys are global: when
 * another vCPU changed them, this vCPU's interception and VMCS value
 * follow here, at its next exit of any kind.
 */
void pks_hw_exit_sync_slow(struct vcpu *vcpu, u32 basic)
{
	const struct pks_global *pks = &vcpu->hv->pks;
	bool reapply;

	if (!vcpu->pks.pkrs_passthrough) {
		/*
		 * Another vCPU may have left OFF (interception may go off) or
		 * changed the locks or the mode: the VMCS value follows.
		 */
		if (!(vcpu->step & STEP_PKS_HW) &&
		    (!hw_wants_intercept(vcpu) || pks_hw_inputs_moved(vcpu)))
			pks_apply(vcpu);
		return;
	}
	/*
	 * Hot path (every exit): pass-through was decided with no grant and
	 * no opening, and only pks_apply() on this vCPU adds either, so
	 * pks_hw_pkrs_intercept() reduces to the global inputs here (unit
	 * test: with grants = openings = 0 it is "OFF or a lock").
	 */
	reapply = pks->mode == PKSV_MODE_OFF || pks->lock_bits;
	if (!reapply && (basic >= 64 || !(BIT(basic) & HW_PKRS_READERS)))
		return;
	if (vcpu->step & STEP_PKS_HW)
		return;
	vcpu->pks.pkrs = (u32)vmread(VMCS_GUEST_PKRS);
	if (reapply)
		pks_apply(vcpu);
}

/*
 * A shootdown reached this vCPU (vmm/shootdown.c): another vCPU changed
 * the mode, a locked key, the unprotect table or a view.  hw: the PKRS
 * value in the VMCS and the MSR bitmap were computed from the old global
 * inputs, whether or not PKRS passes through, so the effective value is
 * computed again (the guest's own value first taken from the VMCS under
 * pass-through).  A stepped access to an unprotected page (STEP_PKS_HW)
 * still has its key open in the VMCS, decided against the table before
 * the change: the step is cancelled (pks_step_done() closes the key), so
 * the instruction runs again, faults again and is decided against the
 * table as it is now.  Keeping the step would let a write to a page that
 * PROTECT_PAGE just took out of the table land after that call returned
 * on the other vCPU (review2 finding 9).  soft: the view in use and the
 * VMFUNC list (pks_entry_check()).
 */
void pks_remote_sync(struct vcpu *vcpu)
{
	switch (vcpu->hv->pks.backend) {
	case PKS_BACKEND_HW:
		if (vcpu->step & STEP_PKS_HW) {
			vcpu_step_cancel(vcpu);
			return;
		}
		if (vcpu->pks.pkrs_passthrough)
			vcpu->pks.pkrs = (u32)vmread(VMCS_GUEST_PKRS);
		pks_apply(vcpu);
		break;
	case PKS_BACKEND_SOFT:
		pks_entry_check(vcpu);
		break;
	}
}
