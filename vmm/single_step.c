// SPDX-License-Identifier: MIT
/*
 * Let the guest execute exactly one instruction, then exit.  Used to
 * complete an access that pksvisor allowed through a temporary EPT mapping
 * (refused accesses to hidden memory; PKS emulation later).
 *
 * The monitor trap flag (SDM 26.5.2) is the clean way: a VM exit after one
 * instruction, invisible to the guest.  Bochs 2.7 accepts the control but
 * never delivers the exit, so pksvisor probes MTF on the first VM entry
 * (the launch sets it; if the first exit is not an MTF exit, MTF is
 * declared broken) and otherwise single-steps with RFLAGS.TF and #DB
 * interception, the technique used before MTF existed.  Its known
 * visibility: a stepped PUSHF pushes TF=1, and a guest that single-steps
 * itself sees its own #DB delivered after pksvisor's (documented in
 * docs/vm-exits.md).
 */
#include <pksvisor/log.h>
#include "exit.h"
#include "../pks/pks_vmm.h"
#include "vmx.h"

#define DR6_BS		BIT(14)
#define DR6_FIXED1	0xffff0ff0ull

void vcpu_step_begin(struct vcpu *vcpu, enum step_reason why)
{
	vcpu->step = why;
	if (vcpu->mtf_state == MTF_WORKS) {
		vmwrite(VMCS_PROC_CONTROLS, vmread(VMCS_PROC_CONTROLS) | PROC_MTF);
		return;
	}
	u64 rflags = vmread(VMCS_GUEST_RFLAGS);

	vcpu->step_guest_tf = rflags & RFLAGS_TF;
	vmwrite(VMCS_GUEST_RFLAGS, rflags | RFLAGS_TF);
	vmwrite(VMCS_EXCEPTION_BITMAP, vmread(VMCS_EXCEPTION_BITMAP) | BIT(VEC_DB));
}

/* The stepped instruction will not complete (an exception is injected). */
void vcpu_step_cancel(struct vcpu *vcpu)
{
	if (vcpu->step == STEP_NONE)
		return;
	vcpu->step = STEP_NONE;
	if (vcpu->hidden_pending)
		hidden_access_done(vcpu);
	if (vcpu->mtf_state == MTF_WORKS) {
		vmwrite(VMCS_PROC_CONTROLS, vmread(VMCS_PROC_CONTROLS) & ~PROC_MTF);
		return;
	}
	if (!vcpu->step_guest_tf)
		vmwrite(VMCS_GUEST_RFLAGS, vmread(VMCS_GUEST_RFLAGS) & ~RFLAGS_TF);
	vmwrite(VMCS_EXCEPTION_BITMAP, vmread(VMCS_EXCEPTION_BITMAP) & ~BIT(VEC_DB));
}

static void step_done(struct vcpu *vcpu)
{
	enum step_reason why = vcpu->step;

	vcpu->step = STEP_NONE;
	if (why == STEP_HIDDEN)
		hidden_access_done(vcpu);
	else if (why == STEP_PKS_ALLOW || why == STEP_PKS_TABLE || why == STEP_PKS_HW)
		pks_step_done(vcpu, why);
	/* The same instruction also touched the reservation (vmm/hidden.c). */
	if (vcpu->hidden_pending)
		hidden_access_done(vcpu);
}

/* The launch sets MTF: the first exit tells whether the CPU honours it. */
void vcpu_mtf_probe_exit(struct vcpu *vcpu)
{
	if (vcpu->mtf_state != MTF_PROBING)
		return;
	if ((vcpu->exit_reason & 0xffff) == EXIT_MTF) {
		vcpu->mtf_state = MTF_WORKS;
	} else {
		vcpu->mtf_state = MTF_BROKEN;
		vmwrite(VMCS_PROC_CONTROLS, vmread(VMCS_PROC_CONTROLS) & ~PROC_MTF);
		pksv_log("monitor trap flag set but first exit was reason %u: "
			 "single-stepping with RFLAGS.TF instead",
			 vcpu->exit_reason & 0xffff);
	}
}

void handle_mtf(struct vcpu *vcpu)
{
	vmwrite(VMCS_PROC_CONTROLS, vmread(VMCS_PROC_CONTROLS) & ~PROC_MTF);
	if (vcpu->step != STEP_NONE)
		step_done(vcpu);
}

/* #DB intercepted while single-stepping with TF (exception bitmap bit 1). */
void step_debug_exception(struct vcpu *vcpu)
{
	u64 qual = vcpu->exit_qual;	/* DR6-style bits (SDM 28.2.1) */
	u64 rflags = vmread(VMCS_GUEST_RFLAGS);
	bool ours = vcpu->step != STEP_NONE && (qual & DR6_BS);

	if (ours) {
		if (!vcpu->step_guest_tf)
			vmwrite(VMCS_GUEST_RFLAGS, rflags & ~RFLAGS_TF);
		vmwrite(VMCS_EXCEPTION_BITMAP,
			vmread(VMCS_EXCEPTION_BITMAP) & ~BIT(VEC_DB));
		step_done(vcpu);
		/* A guest stepping itself still gets its trap. */
		if (!vcpu->step_guest_tf && !(qual & ~DR6_BS))
			return;
	}
	/* The guest's own #DB: DR6 as the CPU would have set it, then deliver. */
	asm volatile("mov %0, %%dr6" : : "r"(DR6_FIXED1 | (qual & 0x600f)));
	vcpu_inject_exception(vcpu, VEC_DB, false, 0);
}
