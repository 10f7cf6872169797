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

/*
 * A second reason while a step is in progress (an instruction that reads
 * pksvisor memory and a keyed page) joins the step: the stepping itself is
 * already armed, and re-arming it would record pksvisor's own TF as the
 * guest's.  Every reason is completed when the instruction is.
 */
void vcpu_step_begin(struct vcpu *vcpu, enum step_reason why)
{
	/*
	 * Called on a fault-like exit (EPT violation, #PF): the instruction
	 * has not completed, so no single-step trap is due yet.  Bochs 2.7
	 * saves the TF trap of the interrupted instruction as pending (BS in
	 * the pending-debug-exceptions field) and delivers it right after VM
	 * entry, which would end the step before the instruction ran (an
	 * instruction needing two pages at once then never completes); drop
	 * it: the trap comes when the instruction really completes.  Not
	 * under STI or MOV-SS blocking, where VM entry wants BS to match
	 * RFLAGS.TF (SDM Vol. 3C 27.3.1.5).
	 */
	if (vcpu->mtf_state != MTF_WORKS &&
	    !(vmread(VMCS_GUEST_INTERRUPTIBILITY) & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS)))
		vmwrite(VMCS_GUEST_PENDING_DBG, vmread(VMCS_GUEST_PENDING_DBG) & ~DR6_BS);
	if (vcpu->step != STEP_NONE) {
		if (!(vcpu->step & why))
			vcpu->stats.step_merged++;
		vcpu->step |= why;
		return;
	}
	vcpu->step = why;
	if (vcpu->mtf_state == MTF_WORKS) {
		vmwrite(VMCS_PROC_CONTROLS, vmread(VMCS_PROC_CONTROLS) | PROC_MTF);
		return;
	}
	/*
	 * The exit interrupted the delivery of an event (IDT-vectoring
	 * information valid, SDM Vol. 3C 28.2.4): the access to complete is
	 * the delivery, re-injected at this entry.  TF cannot step it - the
	 * delivery clears TF, pushes pksvisor's TF=1 in the guest's frame,
	 * and the step would last until the handler's IRET.  The NMI-window
	 * exit ends it instead: with virtual NMIs and no virtual-NMI blocking
	 * it comes right after the injected event is delivered, before the
	 * handler's first instruction (SDM Vol. 3C 26.7.5 and 27.7.x).  Not
	 * for an NMI's own delivery, which sets NMI blocking, nor inside an
	 * NMI handler (the window would open only at its IRET): TF then.
	 */
	u32 idt = vmread(VMCS_IDT_VECTORING_INFO);

	if ((idt & INTR_INFO_VALID) && (idt & INTR_TYPE_MASK) != INTR_TYPE_NMI &&
	    vcpu->hv->vmx.has_virtual_nmis &&
	    !(vmread(VMCS_GUEST_INTERRUPTIBILITY) & INTR_BLOCK_NMI)) {
		vcpu->step_by_window = true;
		vcpu->step_guest_tf = false;
		vmwrite(VMCS_PROC_CONTROLS,
			vmread(VMCS_PROC_CONTROLS) | PROC_NMI_WINDOW_EXITING);
		return;
	}
	u64 rflags = vmread(VMCS_GUEST_RFLAGS);

	vcpu->step_guest_tf = rflags & RFLAGS_TF;
	vmwrite(VMCS_GUEST_RFLAGS, rflags | RFLAGS_TF);
	vmwrite(VMCS_EXCEPTION_BITMAP, vmread(VMCS_EXCEPTION_BITMAP) | BIT(VEC_DB));
}

/* Disarm MTF or pksvisor's TF; true when the guest itself has RFLAGS.TF. */
static bool step_disarm(struct vcpu *vcpu)
{
	u64 rflags = vmread(VMCS_GUEST_RFLAGS);

	if (vcpu->mtf_state == MTF_WORKS) {
		vmwrite(VMCS_PROC_CONTROLS, vmread(VMCS_PROC_CONTROLS) & ~PROC_MTF);
		return rflags & RFLAGS_TF;
	}
	if (vcpu->step_by_window) {
		/* inject_finish() asks for the window again if NMIs wait. */
		vcpu->step_by_window = false;
		vmwrite(VMCS_PROC_CONTROLS,
			vmread(VMCS_PROC_CONTROLS) & ~PROC_NMI_WINDOW_EXITING);
		return false;	/* delivery cleared the guest's TF itself */
	}
	if (!vcpu->step_guest_tf)
		vmwrite(VMCS_GUEST_RFLAGS, rflags & ~RFLAGS_TF);
	vmwrite(VMCS_EXCEPTION_BITMAP, vmread(VMCS_EXCEPTION_BITMAP) & ~BIT(VEC_DB));
	return vcpu->step_guest_tf;
}

/* Complete every reason of the step (the instruction ran or never will). */
static void step_done(struct vcpu *vcpu)
{
	unsigned int why = vcpu->step;

	vcpu->step = STEP_NONE;
	if (why & STEP_HIDDEN)
		hidden_access_done(vcpu);
	if (why & STEP_IO)
		io_step_done(vcpu);
	if (why & (STEP_PKS_ALLOW | STEP_PKS_TABLE | STEP_PKS_HW))
		pks_step_done(vcpu, why);
	/*
	 * The same instruction also touched the reservation under a step
	 * begun for another reason (vmm/hidden.c): undo that redirect too.
	 */
	if (vcpu->hidden_pending)
		hidden_access_done(vcpu);
}

/*
 * The stepped instruction will not complete (an exception is injected):
 * undo what each reason opened.
 */
void vcpu_step_cancel(struct vcpu *vcpu)
{
	if (vcpu->step == STEP_NONE)
		return;
	step_disarm(vcpu);
	step_done(vcpu);
}

/*
 * pksvisor completed the instruction itself (emulation, vcpu_skip_
 * instruction).  A step in progress ends here: the CPU never executed the
 * instruction, so no trap would end it, and the next instruction must not
 * run with the step's temporary rights.  Returns the guest's RFLAGS.TF.
 */
bool vcpu_step_emulated(struct vcpu *vcpu)
{
	bool guest_tf;

	if (vcpu->step == STEP_NONE)
		return vmread(VMCS_GUEST_RFLAGS) & RFLAGS_TF;
	guest_tf = step_disarm(vcpu);
	step_done(vcpu);
	return guest_tf;
}

/*
 * The single-step trap an emulated instruction owes a guest with
 * RFLAGS.TF = 1 (SDM Vol. 3B 18.3.1.4: a #DB trap with DR6.BS after the
 * instruction).  Injected as a hardware exception like KVM's
 * kvm_vcpu_do_singlestep(); when another event is already queued for
 * this entry, the pending-debug-exceptions field carries BS instead and
 * the CPU delivers the #DB after that event (SDM 27.7.3).
 */
void vcpu_single_step_trap(struct vcpu *vcpu)
{
	vcpu->stats.db_after_emulation++;
	if (vcpu->injected) {
		vmwrite(VMCS_GUEST_PENDING_DBG, vmread(VMCS_GUEST_PENDING_DBG) | DR6_BS);
		return;
	}
	/* A CPU that saved BS as pending at the exit must not deliver it twice. */
	vmwrite(VMCS_GUEST_PENDING_DBG, vmread(VMCS_GUEST_PENDING_DBG) & ~DR6_BS);
	asm volatile("mov %0, %%dr6" : : "r"(DR6_FIXED1 | DR6_BS));
	vcpu_inject_exception(vcpu, VEC_DB, false, 0);
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

/* NMI-window exit: the event delivery a window step covered is done. */
void vcpu_step_window_exit(struct vcpu *vcpu)
{
	if (vcpu->step == STEP_NONE || !vcpu->step_by_window)
		return;
	step_disarm(vcpu);
	step_done(vcpu);
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
	u64 qual = vcpu_exit_qual(vcpu);	/* DR6-style bits (SDM 28.2.1) */
	bool ours = vcpu->step != STEP_NONE && (qual & DR6_BS);

	if (ours) {
		bool guest_tf = step_disarm(vcpu);

		step_done(vcpu);
		/* A guest stepping itself still gets its trap. */
		if (!guest_tf && !(qual & ~DR6_BS))
			return;
	}
	/* The guest's own #DB: DR6 as the CPU would have set it, then deliver. */
	asm volatile("mov %0, %%dr6" : : "r"(DR6_FIXED1 | (qual & 0x600f)));
	vcpu_inject_exception(vcpu, VEC_DB, false, 0);
}
