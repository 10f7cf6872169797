// SPDX-License-Identifier: MIT
/*
 * The life of a VM exit, in one place: the stub in vmx_asm.asm saves the
 * guest GPRs and calls vmexit_dispatch(), which records the exit, re-queues
 * an event whose delivery the exit interrupted (vmm/inject.c), calls the
 * handler from the table below, writes the events for the next entry and
 * returns to the stub for VMRESUME.
 */
#include <pksvisor/format.h>
#include <pksvisor/log.h>
#include "exit.h"
#include "host.h"
#include "shootdown.h"
#include "../pks/pks_vmm.h"
#include "vmx.h"

const exit_handler_fn exit_handlers[EXIT_REASON_MAX] = {
	[EXIT_EXCEPTION_NMI]	= handle_exception,
	[EXIT_TRIPLE_FAULT]	= handle_triple_fault,
	[EXIT_INIT]		= handle_init,
	[EXIT_TASK_SWITCH]	= handle_task_switch,
	[EXIT_GETSEC]		= handle_getsec,
	[EXIT_SIPI]		= handle_sipi,
	[EXIT_INTR_WINDOW]	= handle_interrupt_window,
	[EXIT_NMI_WINDOW]	= handle_nmi_window,
	[EXIT_CPUID]		= handle_cpuid,
	[EXIT_INVD]		= handle_invd,
	[EXIT_VMCALL]		= handle_vmcall,
	[EXIT_VMCLEAR]		= handle_vmx_instruction,
	[EXIT_VMLAUNCH]		= handle_vmx_instruction,
	[EXIT_VMPTRLD]		= handle_vmx_instruction,
	[EXIT_VMPTRST]		= handle_vmx_instruction,
	[EXIT_VMREAD]		= handle_vmx_instruction,
	[EXIT_VMRESUME]		= handle_vmx_instruction,
	[EXIT_VMWRITE]		= handle_vmx_instruction,
	[EXIT_VMXOFF]		= handle_vmx_instruction,
	[EXIT_VMXON]		= handle_vmx_instruction,
	[EXIT_INVEPT]		= handle_vmx_instruction,
	[EXIT_INVVPID]		= handle_vmx_instruction,
	[EXIT_VMFUNC]		= handle_vmfunc,
	[EXIT_CR_ACCESS]	= handle_cr_access,
	[EXIT_IO]		= handle_io,
	[EXIT_RDMSR]		= handle_rdmsr,
	[EXIT_WRMSR]		= handle_wrmsr,
	[EXIT_ENTRY_FAIL_GUEST]	= handle_entry_failure,
	[EXIT_ENTRY_FAIL_MSR]	= handle_entry_failure,
	[EXIT_ENTRY_FAIL_MC]	= handle_entry_failure,
	[EXIT_MTF]		= handle_mtf,
	[EXIT_EPT_VIOLATION]	= handle_ept_violation,
	[EXIT_EPT_MISCONFIG]	= handle_ept_misconfig,
	[EXIT_PREEMPTION_TIMER]	= handle_preemption_timer,
	[EXIT_XSETBV]		= handle_xsetbv,
};

/*
 * The current exit is the newest history entry from the start (a fatal
 * dump in its handler lists it last).  The qualification is read on
 * first use (seam.h), so the entry gets it at the end of the exit, and
 * only if a handler read it: a fatal dump names the current exit's
 * qualification itself.
 */
static void record_exit(struct vcpu *vcpu)
{
	struct exit_record *rec = &vcpu->history[vcpu->history_next];

	rec->reason = vcpu->exit_reason;
	rec->rip = vcpu->guest_rip;
	rec->qual = 0;
	vcpu->history_next = (vcpu->history_next + 1) % EXIT_HISTORY;
	vcpu->stats.exits++;
}

/*
 * An exit the table does not name, or a VM-entry failure (bit 31, SDM
 * Vol. 3C 28.2.1; exit reasons 33, 34 and 41): both end in a fatal dump,
 * out of line so that the common exit tests for both with one compare.
 */
static void __attribute__((noreturn, noinline)) exit_unexpected(struct vcpu *vcpu, u32 basic)
{
	record_exit(vcpu);
	if (basic < EXIT_REASON_MAX)
		vcpu->stats.exit_reason[basic]++;
	if (vcpu->exit_reason & EXIT_REASON_ENTRY_FAIL)
		handle_entry_failure(vcpu);
	vcpu_fatal(vcpu, "unexpected VM exit");
}

static void record_exit_done(struct vcpu *vcpu)
{
	if (vcpu->exit_fields & EXIT_FIELD_QUAL)
		vcpu->history[(vcpu->history_next + EXIT_HISTORY - 1) % EXIT_HISTORY].qual =
			vcpu->exit_qual_cached;
}

/*
 * Exits caused by the instruction itself (SDM 26.1.2, 26.1.3).  Such an
 * exit ends a single-step in progress: the handler completes the
 * instruction (or injects its fault) and may change the view, so the
 * step's temporary rights are taken back first.  Exits that interrupt the
 * instruction (EPT violation, #DB/#PF, MTF, NMI, timer) keep the step.
 */
static bool exit_ends_step(u32 basic)
{
	switch (basic) {
	case EXIT_CPUID: case EXIT_INVD: case EXIT_VMCALL: case EXIT_VMCLEAR:
	case EXIT_VMLAUNCH: case EXIT_VMPTRLD: case EXIT_VMPTRST: case EXIT_VMREAD:
	case EXIT_VMRESUME: case EXIT_VMWRITE: case EXIT_VMXOFF: case EXIT_VMXON:
	case EXIT_INVEPT: case EXIT_INVVPID: case EXIT_VMFUNC: case EXIT_CR_ACCESS:
	case EXIT_IO: case EXIT_RDMSR: case EXIT_WRMSR: case EXIT_XSETBV:
		return true;
	}
	return false;
}

/*
 * The fast path: every exit reads two fields (reason, RIP) and then only
 * tests per-vCPU state before and after its handler; each slow case
 * (an MTF probe, a VMFUNC switch to follow, an event to re-queue or
 * deliver, a view to re-select, a stale EPT, periodic statistics) is a
 * call taken only when its test says so.  docs/architecture.md "The life
 * of a VM exit" lists the steps; docs/benchmarks.md what each costs.
 */
void vmexit_dispatch(struct vcpu *vcpu, struct guest_regs *regs)
{
	exit_handler_fn handler;
	u32 basic;

	vcpu->regs = regs;
	vcpu->exit_reason = vmread(VMCS_EXIT_REASON);
	vcpu->guest_rip = vmread(VMCS_GUEST_RIP);
	vcpu->exit_fields = 0;
	/*
	 * One unsigned compare of the basic reason together with the entry-
	 * failure bit (SDM Vol. 3C 28.2.1) catches both a reason outside the
	 * table and a failed VM entry; the other high bits (26: shadow stack,
	 * 27: enclave mode) may come with any exit and do not change it.
	 */
	basic = vcpu->exit_reason & (EXIT_REASON_ENTRY_FAIL | 0xffff);
	if (__builtin_expect(basic >= EXIT_REASON_MAX, 0))
		exit_unexpected(vcpu, vcpu->exit_reason & 0xffff);
	handler = exit_handlers[basic];
	if (__builtin_expect(!handler, 0))
		exit_unexpected(vcpu, basic);
	record_exit(vcpu);
	vcpu->stats.exit_reason[basic]++;

	if (vcpu->mtf_state == MTF_PROBING)
		vcpu_mtf_probe_exit(vcpu);
	pks_exit_sync(vcpu);
	pks_hw_exit_sync(vcpu, basic);
	inject_begin_exit(vcpu, basic);
	if (vcpu->step != STEP_NONE && exit_ends_step(basic))
		vcpu_step_cancel(vcpu);
	handler(vcpu);
	pks_entry_check(vcpu);
	if (vcpu_prot_stale(vcpu)) {	/* after any view (re)built above */
		vcpu_flush_stale(vcpu);
		/* Every shootdown moves the generation: no test of its own. */
		shootdown_entry(vcpu);
	}
	if (vcpu->hv->cfg.stats_interval_s)
		vcpu_stats_tick(vcpu);
	record_exit_done(vcpu);
	inject_finish(vcpu);
}

void vmresume_failed(struct vcpu *vcpu)
{
	/* RSP pointed at the guest_regs block; vcpu comes from GS. */
	u64 error;

	vcpu = this_vcpu();
	error = vmread(VMCS_VM_INSTR_ERROR);
	pksv_log("FATAL: VMRESUME failed, VM-instruction error %llu (%s)",
		 error, vmx_insn_error_str(error));
	vcpu_fatal(vcpu, "VMRESUME failed");
}

void handle_entry_failure(struct vcpu *vcpu)
{
	/* SDM 26.8: the exit qualification says which check failed. */
	pksv_log("FATAL: VM entry failed, reason %u qualification %llu",
		 vcpu->exit_reason & 0xffff, vcpu_exit_qual(vcpu));
	vcpu_fatal(vcpu, "VM entry failure");
}

/* vcpu_skip_instruction() (exit.h) found blocking to clear or TF set. */
void vcpu_skip_finish(struct vcpu *vcpu, u64 intr, bool guest_tf)
{
	if (intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS))
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY,
			intr & ~(INTR_BLOCK_STI | INTR_BLOCK_MOV_SS));
	/* The instruction completed with TF set: its trap is owed. */
	if (guest_tf)
		vcpu_single_step_trap(vcpu);
}

/* Register numbering of SDM Table 28-3; RSP (4) lives in the VMCS. */
static const u8 gpr_slot[16] = {
	0, 1, 2, 3, 0xff, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
};

u64 vcpu_get_gpr(struct vcpu *vcpu, unsigned int index)
{
	index &= 15;
	if (index == 4)
		return vmread(VMCS_GUEST_RSP);
	return ((u64 *)vcpu->regs)[gpr_slot[index]];
}

void vcpu_set_gpr(struct vcpu *vcpu, unsigned int index, u64 value)
{
	index &= 15;
	if (index == 4)
		vmwrite(VMCS_GUEST_RSP, value);
	else
		((u64 *)vcpu->regs)[gpr_slot[index]] = value;
}

/*
 * Exit reason 0: NMIs (NMI exiting, reflected by vmm/inject.c) and the
 * exceptions selected by the exception bitmap (SDM 25.6.3): #DB while
 * single-stepping; #PF for PKS once pks/ enables it.
 */
void handle_exception(struct vcpu *vcpu)
{
	u32 info = vmread(VMCS_EXIT_INTR_INFO);
	u8 vector = info & 0xff;

	if ((info & INTR_TYPE_MASK) == INTR_TYPE_NMI) {
		/*
		 * Another vCPU's shootdown (vmm/shootdown.c): not the guest's.
		 * Its work is done before the next entry (shootdown_entry());
		 * NMIs are unblocked as for a reflected one (inject_nmi_exit()).
		 */
		if (shootdown_nmi_claim(vcpu)) {
			host_unblock_nmis();
			return;
		}
		inject_nmi_exit(vcpu);
		return;
	}
	if ((info & INTR_TYPE_MASK) == INTR_TYPE_HW_EXCEPTION && vector == VEC_DB) {
		step_debug_exception(vcpu);
		return;
	}
	if ((info & INTR_TYPE_MASK) == INTR_TYPE_HW_EXCEPTION && vector == VEC_PF &&
	    pks_page_fault(vcpu))
		return;
	vcpu_fatal(vcpu, "unexpected exception exit");
}
