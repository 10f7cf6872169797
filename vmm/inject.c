// SPDX-License-Identifier: MIT
/*
 * The event-injection queue: everything the next VM entry delivers to the
 * guest goes through here, so that no event overwrites another and none
 * is delivered twice (docs/vm-exits.md "Event injection", "The life of an
 * NMI").
 *
 *   inject_begin_exit()  re-queues the event whose delivery the exit
 *                        interrupted (IDT-vectoring information) and fixes
 *                        up NMI blocking;
 *   vcpu_inject_exception()  a handler's new exception, merged with a
 *                        queued one by inject_merge_decide() (SDM 6.15);
 *   inject_finish()      writes the queued event to the VMCS, delivers a
 *                        pending NMI or deferred interrupt when the guest
 *                        can take it and otherwise asks for the NMI- or
 *                        interrupt-window exit.
 */
#include <pksvisor/log.h>
#include "exit.h"
#include "host.h"
#include "inject.h"
#include "vmx.h"

#define NMI_PENDING_MAX	2	/* one being delivered + one latched */

/* Interruption-information bits VM entry accepts (SDM 25.8.3). */
#define INTR_INFO_ENTRY_MASK	(INTR_INFO_VALID | INTR_INFO_ERROR_CODE | \
				 INTR_TYPE_MASK | 0xffu)

static bool event_valid(const struct vcpu_event *e)
{
	return e->info & INTR_INFO_VALID;
}

/* Called from the host NMI handler too: lock-free, saturating. */
static void nmi_pending_add(struct vcpu *vcpu)
{
	u32 old = __atomic_load_n(&vcpu->nmi_pending, __ATOMIC_RELAXED);

	do {
		if (old >= NMI_PENDING_MAX)
			return;
	} while (!__atomic_compare_exchange_n(&vcpu->nmi_pending, &old, old + 1, false,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

/* While the guest blocks NMIs, hardware holds only one more (SDM 6.7.1). */
static void nmi_pending_clamp_one(struct vcpu *vcpu)
{
	u32 old = __atomic_load_n(&vcpu->nmi_pending, __ATOMIC_RELAXED);

	while (old > 1 &&
	       !__atomic_compare_exchange_n(&vcpu->nmi_pending, &old, 1, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void set_proc_bit(u32 bit)
{
	u64 proc = vmread(VMCS_PROC_CONTROLS);

	if (!(proc & bit))
		vmwrite(VMCS_PROC_CONTROLS, proc | bit);
}

static void clear_proc_bit(u32 bit)
{
	u64 proc = vmread(VMCS_PROC_CONTROLS);

	if (proc & bit)
		vmwrite(VMCS_PROC_CONTROLS, proc & ~bit);
}

/*
 * An NMI arrived while the CPU ran pksvisor (host IDT vector 2, in NMI
 * context).  It belongs to the guest: count it and ask for an NMI-window
 * exit right away, so that it is injected even if the exit being handled
 * already passed inject_finish().
 */
void inject_nmi_from_root(struct vcpu *vcpu)
{
	vcpu->stats.nmi_root++;
	nmi_pending_add(vcpu);
	if (vcpu->vmcs_ready && vcpu->hv->vmx.has_virtual_nmis)
		set_proc_bit(PROC_NMI_WINDOW_EXITING);
}

/*
 * Exit reason 0 with interruption type NMI: with NMI exiting every NMI
 * that arrives in VMX non-root exits here (SDM 26.2).  pksvisor has no
 * use of its own for NMIs (no watchdog, no profiling): reflect it.
 */
void inject_nmi_exit(struct vcpu *vcpu)
{
	vcpu->stats.nmi_reflected++;
	nmi_pending_add(vcpu);
	/*
	 * An NMI-caused VM exit leaves NMIs blocked in VMX root until the
	 * next IRET (SDM Vol. 3C 28.1: "An NMI causes subsequent NMIs to be blocked,
	 * but only after the VM exit completes"; Xen does the same):
	 * unblock them so a second NMI reaches the host handler instead of
	 * staying latched.
	 */
	host_unblock_nmis();
}

static void requeue(struct vcpu *vcpu, u32 idt)
{
	struct vcpu_event *e = &vcpu->event;
	u32 type = idt & INTR_TYPE_MASK;

	vcpu->stats.events_requeued++;
	if (type == INTR_TYPE_NMI) {
		/*
		 * The NMI was not delivered: the guest's (virtual-)NMI blocking
		 * is clear again, as before delivery began, and must be for VM
		 * entry to inject an NMI (SDM 26.3.1.5; KVM clears it for the
		 * same reason).  It goes back into the queue, not behind other
		 * pending NMIs: a single step begun by this exit completes the
		 * very access its delivery made.
		 */
		u64 intr = vmread(VMCS_GUEST_INTERRUPTIBILITY);

		if (intr & INTR_BLOCK_NMI)
			vmwrite(VMCS_GUEST_INTERRUPTIBILITY, intr & ~INTR_BLOCK_NMI);
		vcpu->stats.nmi_requeued++;
	}
	e->info = idt & INTR_INFO_ENTRY_MASK;
	e->error = (idt & INTR_INFO_ERROR_CODE) ? vmread(VMCS_IDT_VECTORING_ERROR) : 0;
	e->instr_len = 0;
	switch (type) {
	case INTR_TYPE_SW_INTR:
	case INTR_TYPE_PRIV_SW_EXC:
	case INTR_TYPE_SW_EXC:
		/* SDM 26.6.1.3: software events need the instruction length. */
		e->instr_len = vcpu_exit_instr_len(vcpu);
		break;
	}
	vcpu->injected = true;
}

/*
 * "NMI unblocking due to IRET" (SDM 28.2.2 / 28.2.3): the exit interrupted
 * an IRET that had already unblocked NMIs.  The IRET will run again (or a
 * fault will be injected in its place): restore the blocking it removed,
 * or an NMI could nest inside the guest's NMI handler: the CPU cleared
 * (virtual-)NMI blocking before the exit commenced (SDM 28.1).  The bit is
 * undefined when the exit interrupted event delivery, and for #DF; a trap
 * after a completed IRET (a single-step #DB) has it clear.
 */
static void restore_iret_nmi_blocking(struct vcpu *vcpu, u32 basic)
{
	bool unblocked = false;

	if (basic == EXIT_EXCEPTION_NMI) {
		u32 info = vmread(VMCS_EXIT_INTR_INFO);

		unblocked = (info & INTR_INFO_NMI_UNBLOCK) &&
			    (info & INTR_TYPE_MASK) == INTR_TYPE_HW_EXCEPTION &&
			    (info & 0xff) != VEC_DF;
	} else if (basic == EXIT_EPT_VIOLATION) {
		unblocked = vcpu_exit_qual(vcpu) & EPTQ_NMI_UNBLOCK;
	}
	if (unblocked)
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY,
			vmread(VMCS_GUEST_INTERRUPTIBILITY) | INTR_BLOCK_NMI);
}

/* inject_begin_exit() (exit.h) emptied the queue and read idt. */
void inject_begin_slow(struct vcpu *vcpu, u32 basic, u32 idt)
{
	if (idt & INTR_INFO_VALID)
		requeue(vcpu, idt);
	else
		restore_iret_nmi_blocking(vcpu, basic);
}

void vcpu_inject_exception(struct vcpu *vcpu, u8 vector, bool has_error, u32 error)
{
	u32 info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector;
	struct vcpu_event *e = &vcpu->event;

	if (has_error)
		info |= INTR_INFO_ERROR_CODE;
	else
		error = 0;
	/*
	 * An exception pksvisor injects ends the instruction being stepped
	 * (a fault: it does not complete; SDM Vol. 3A 6.5).  Its temporary
	 * rights (a PKS override, a hidden-page redirect, opened I/O ports)
	 * must be gone, and pksvisor's RFLAGS.TF cleared, before the guest's
	 * handler runs: event delivery would push that TF in the frame and
	 * the handler would run with the override still open.  (The soft
	 * backend's write-#PF exit and the hw #PF exit arrive in the middle
	 * of a step.)  No-op when no step is armed.
	 */
	vcpu_step_cancel(vcpu);
	vcpu->stats.injected++;
	vcpu->injected = true;
	if (event_valid(e)) {
		vcpu->stats.events_merged++;
		switch (inject_merge_decide(e->info, info)) {
		case MERGE_NEW_THEN_QUEUED:
			/* An NMI waits as a pending NMI (the NMI window). */
			if ((e->info & INTR_TYPE_MASK) == INTR_TYPE_NMI)
				nmi_pending_add(vcpu);
			else if (event_valid(&vcpu->deferred))
				pksv_log("event 0x%x dropped: interrupt 0x%x already deferred",
					 e->info, vcpu->deferred.info);
			else
				vcpu->deferred = *e;
			break;
		case MERGE_NEW:
			break;
		case MERGE_DOUBLE_FAULT:
			info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION |
			       INTR_INFO_ERROR_CODE | VEC_DF;
			error = 0;
			break;
		case MERGE_TRIPLE_FAULT:
			e->info = 0;
			vcpu->triple_fault = true;
			return;
		}
	}
	e->info = info;
	e->error = error;
	e->instr_len = 0;
}

void vcpu_inject_gp(struct vcpu *vcpu)
{
	vcpu_inject_exception(vcpu, VEC_GP, true, 0);
}

void vcpu_inject_ud(struct vcpu *vcpu)
{
	vcpu_inject_exception(vcpu, VEC_UD, false, 0);
}

/* The inputs of inject_nmi_decide(); false if no NMI is pending. */
static bool read_nmi_state(struct vcpu *vcpu, struct nmi_state *st)
{
	st->pending = __atomic_load_n(&vcpu->nmi_pending, __ATOMIC_RELAXED);
	if (!st->pending)
		return false;
	st->event_queued = event_valid(&vcpu->event);
	st->stepping = vcpu->step != STEP_NONE;
	st->virtual_nmis = vcpu->hv->vmx.has_virtual_nmis;
	st->intr_window = vcpu->hv->vmx.has_intr_window;
	st->interruptibility = vmread(VMCS_GUEST_INTERRUPTIBILITY);
	st->activity = vmread(VMCS_GUEST_ACTIVITY);
	return true;
}

/* Inject a pending NMI now, or ask for the exit at which it can be. */
static void deliver_nmi(struct vcpu *vcpu)
{
	struct nmi_state st;

	if (!read_nmi_state(vcpu, &st))
		return;
	if (st.interruptibility & INTR_BLOCK_NMI)
		nmi_pending_clamp_one(vcpu);
	switch (inject_nmi_decide(&st)) {
	case NMI_NOTHING:
	case NMI_NEXT_EXIT:
		return;
	case NMI_NMI_WINDOW:
		set_proc_bit(PROC_NMI_WINDOW_EXITING);
		return;
	case NMI_INTR_WINDOW:
		set_proc_bit(PROC_INTR_WINDOW_EXITING);
		return;
	case NMI_INJECT:
		break;
	}
	vcpu->event.info = INTR_INFO_VALID | INTR_TYPE_NMI | VEC_NMI;
	vcpu->event.error = 0;
	vcpu->event.instr_len = 0;
	vcpu->injected = true;
	vcpu->stats.injected++;
	/* A second one is latched behind it: the window opens at its IRET. */
	if (__atomic_sub_fetch(&vcpu->nmi_pending, 1, __ATOMIC_RELAXED) &&
	    st.virtual_nmis)
		set_proc_bit(PROC_NMI_WINDOW_EXITING);
}

/* The external interrupt a new exception went ahead of (MERGE_NEW_THEN_QUEUED). */
static void deliver_deferred(struct vcpu *vcpu)
{
	u64 intr;

	if (!event_valid(&vcpu->deferred))
		return;
	intr = vmread(VMCS_GUEST_INTERRUPTIBILITY);
	/* SDM 26.3.1.4/26.3.1.5: IF=1 and no STI/MOV-SS blocking to inject it. */
	if (event_valid(&vcpu->event) || vcpu->step != STEP_NONE ||
	    vmread(VMCS_GUEST_ACTIVITY) > ACTIVITY_HLT ||
	    !(vmread(VMCS_GUEST_RFLAGS) & RFLAGS_IF) ||
	    (intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS))) {
		if (vcpu->hv->vmx.has_intr_window && vcpu->step == STEP_NONE)
			set_proc_bit(PROC_INTR_WINDOW_EXITING);
		return;
	}
	vcpu->event = vcpu->deferred;
	vcpu->deferred.info = 0;
	vcpu->injected = true;
}

void inject_finish_slow(struct vcpu *vcpu)
{
	struct vcpu_event *e = &vcpu->event;
	struct nmi_state st;
	enum nmi_action late;

	if (vcpu->triple_fault) {
		vcpu->triple_fault = false;
		handle_triple_fault(vcpu);
	}
	deliver_nmi(vcpu);
	deliver_deferred(vcpu);
	if (event_valid(e)) {
		if ((e->info & INTR_TYPE_MASK) == INTR_TYPE_NMI)
			vcpu->stats.nmi_injected++;
		if (e->info & INTR_INFO_ERROR_CODE)
			vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, e->error);
		if (e->instr_len)
			vmwrite(VMCS_ENTRY_INSTR_LEN, e->instr_len);
		vmwrite(VMCS_ENTRY_INTR_INFO, e->info);
	}
	/*
	 * A host NMI that hit one of the read-modify-writes of the controls
	 * during this exit may have lost its window bit: ask once more.  After
	 * this point no code rewrites the controls before VMRESUME, and the
	 * host NMI handler sets the bit itself.
	 */
	if (!vcpu->hv->vmx.has_virtual_nmis || !read_nmi_state(vcpu, &st))
		return;
	late = inject_nmi_decide(&st);
	if (late == NMI_INJECT || late == NMI_NMI_WINDOW)
		set_proc_bit(PROC_NMI_WINDOW_EXITING);
}

void handle_nmi_window(struct vcpu *vcpu)
{
	/* A step over an event delivery ends here (vmm/single_step.c). */
	vcpu_step_window_exit(vcpu);
	/* inject_finish() injects the NMI or asks for the window again. */
	clear_proc_bit(PROC_NMI_WINDOW_EXITING);
	vcpu->stats.nmi_window++;
}

void handle_interrupt_window(struct vcpu *vcpu)
{
	(void)vcpu;	/* inject_finish() delivers what waited */
	clear_proc_bit(PROC_INTR_WINDOW_EXITING);
}
