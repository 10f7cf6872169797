/* SPDX-License-Identifier: MIT */
/*
 * VM-exit handling: the dispatch table (vmm/exit.c) and the helpers every
 * handler uses.  docs/vm-exits.md walks through the life of an exit.
 */
#ifndef PKSVISOR_EXIT_H
#define PKSVISOR_EXIT_H

#include "vcpu.h"
#include "seam.h"

typedef void (*exit_handler_fn)(struct vcpu *vcpu);

/* The table, indexed by basic exit reason; NULL slots are unexpected exits. */
extern const exit_handler_fn exit_handlers[EXIT_REASON_MAX];

/*
 * Move past the exiting instruction (clears STI/MOV-SS blocking; owes
 * the #DB of a guest RFLAGS.TF).  Inline: every emulated instruction
 * ends here; blocking or TF take the call.
 */
void vcpu_skip_finish(struct vcpu *vcpu, u64 intr, bool guest_tf);
bool vcpu_step_emulated(struct vcpu *vcpu);

static inline void vcpu_skip_instruction(struct vcpu *vcpu)
{
	u64 intr = vmread(VMCS_GUEST_INTERRUPTIBILITY);
	/* No step in progress (the common exit): TF is the guest's own. */
	bool guest_tf = vcpu->step == STEP_NONE ?
			vmread(VMCS_GUEST_RFLAGS) & RFLAGS_TF : vcpu_step_emulated(vcpu);

	/*
	 * The length is read here, not through vcpu_exit_instr_len(): the
	 * exit ends here, so caching it would save nothing, and its test and
	 * two stores cost more than the VMREAD a handler that read it too
	 * pays again (SDM Vol. 3C 28.2.4: the field holds until VM entry).
	 */
	vmwrite(VMCS_GUEST_RIP, vcpu->guest_rip + vmread(VMCS_EXIT_INSTR_LEN));
	if ((intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS)) || guest_tf)
		vcpu_skip_finish(vcpu, intr, guest_tf);
}
/*
 * Start of every exit: re-queue an interrupted event, NMI-unblocking
 * fixup.  The queue starts empty; the IDT-vectoring field (SDM Vol. 3C
 * 28.2.4) is the one VMREAD every exit pays, and only an event in it, an
 * NMI exit or an EPT violation (the two that report "NMI unblocking due
 * to IRET", 28.2.2/28.2.3) take the call.
 */
void inject_begin_slow(struct vcpu *vcpu, u32 basic, u32 idt);

static inline void inject_begin_exit(struct vcpu *vcpu, u32 basic)
{
	u32 idt = (u32)vmread(VMCS_IDT_VECTORING_INFO);

	vcpu->event.info = 0;
	vcpu->injected = false;
	vcpu->triple_fault = false;
	if ((idt & INTR_INFO_VALID) || basic == EXIT_EXCEPTION_NMI ||
	    basic == EXIT_EPT_VIOLATION)
		inject_begin_slow(vcpu, basic, idt);
}

/*
 * End of every exit: write the queued event, deliver NMIs/deferred
 * events.  With nothing queued, deferred or pending (the common exit)
 * there is nothing to write or ask for: no call, no VMREAD.  A host NMI
 * arriving after the test sets its window bit itself
 * (inject_nmi_from_root()).
 */
void inject_finish_slow(struct vcpu *vcpu);

static inline void inject_finish(struct vcpu *vcpu)
{
	if (vcpu->triple_fault || vcpu->event.info || vcpu->deferred.info ||
	    __atomic_load_n(&vcpu->nmi_pending, __ATOMIC_RELAXED))
		inject_finish_slow(vcpu);
}
/* An NMI exit (exit reason 0, type NMI) and a host NMI in VMX root. */
void inject_nmi_exit(struct vcpu *vcpu);
void inject_nmi_from_root(struct vcpu *vcpu);
/* MAXPHYADDR the guest is told (CPUID 0x80000008), at most 48. */
unsigned int vcpu_guest_phys_bits(void);
u64 vcpu_get_gpr(struct vcpu *vcpu, unsigned int index);
void vcpu_set_gpr(struct vcpu *vcpu, unsigned int index, u64 value);

/* Fatal: dump the vCPU (reason, qualification, state, last exits) and halt. */
void __attribute__((noreturn)) vcpu_fatal(struct vcpu *vcpu, const char *why);
/* Print the human table and the machine line of this vCPU. */
void vcpu_print_stats(struct vcpu *vcpu, const char *why);
/* vcpu's statistics, then every other vCPU's (power-off, reset). */
void vcpu_print_all_stats(struct vcpu *vcpu, const char *why);
/*
 * Arm the preemption timer: the next periodic statistics print and, with
 * several vCPUs, the shootdown's backstop (vmm/vmx_timer.h).
 */
void vcpu_arm_timer(struct vcpu *vcpu);
#ifdef PKSV_TEST_HOOKS
/* vmm/test_hooks.c: test builds only.  CPUID leaf + ECX magic. */
#define PKSV_TEST_HOOK_LEAF	0x400000feu
#define PKSV_TEST_HOOK_FATAL	0x46415441u	/* "FATA" */
#define PKSV_TEST_HOOK_VMREAD	0x564d5244u	/* "VMRD" */
#define PKSV_TEST_HOOK_VMCLEAR	0x564d434cu	/* "VMCL" */
/* Natural-width host-state field, index 0x1ff: no VMCS has it (SDM Vol. 3C B.4). */
#define PKSV_TEST_HOOK_BAD_FIELD	0x6ffeu
bool test_hook_cpuid(struct vcpu *vcpu);
/*
 * Built with -DPKSV_TEST_AP_FAIL=PKSV_TEST_AP_FAIL_VMXON or _VMLAUNCH:
 * vCPU 1's VMXON or VMLAUNCH fails for real (tests/harness/
 * run-smp-bochs.sh apfail-*: what becomes of an AP pksvisor cannot launch).
 */
#define PKSV_TEST_AP_FAIL_VMXON		1
#define PKSV_TEST_AP_FAIL_VMLAUNCH	2
void test_hook_vmxon_region(struct vcpu *vcpu);
void test_hook_ap_vmcs(struct vcpu *vcpu);
#endif

/*
 * Before every VM entry: invalidate this vCPU's EPT-derived translations
 * if an EPT changed since it last did (vmm/flush.c).  True if it did.
 * vcpu_prot_stale() is the test every exit pays (two loads, a compare),
 * inline so that the common case costs no call.
 */
bool vcpu_flush_stale(struct vcpu *vcpu);

static inline bool vcpu_prot_stale(const struct vcpu *vcpu)
{
	return vcpu->prot_generation !=
	       __atomic_load_n(&vcpu->hv->prot_generation, __ATOMIC_ACQUIRE);
}
/* Periodic statistics at exits when there is no preemption timer. */
void vcpu_stats_tick(struct vcpu *vcpu);

/* Single-stepping (vmm/single_step.c; begin and cancel in seam.h) */
void vcpu_mtf_probe_exit(struct vcpu *vcpu);
void vcpu_step_window_exit(struct vcpu *vcpu);
void vcpu_single_step_trap(struct vcpu *vcpu);
void step_debug_exception(struct vcpu *vcpu);
/* Refused accesses to pksvisor's reservation (vmm/hidden.c) */
void hidden_refuse(struct vcpu *vcpu, u64 gpa, u64 qual);
void hidden_refuse_unmapped(struct vcpu *vcpu, u64 gpa, u64 qual);
void hidden_access_done(struct vcpu *vcpu);
void io_step_done(struct vcpu *vcpu);

/* Handlers (one file per concern) */
void handle_exception(struct vcpu *vcpu);
void handle_cpuid(struct vcpu *vcpu);
void handle_rdmsr(struct vcpu *vcpu);
void handle_wrmsr(struct vcpu *vcpu);
void handle_cr_access(struct vcpu *vcpu);
void handle_io(struct vcpu *vcpu);
void handle_xsetbv(struct vcpu *vcpu);
void handle_invd(struct vcpu *vcpu);
void handle_task_switch(struct vcpu *vcpu);
void handle_getsec(struct vcpu *vcpu);
void handle_vmx_instruction(struct vcpu *vcpu);
void handle_vmfunc(struct vcpu *vcpu);
void handle_vmcall(struct vcpu *vcpu);
void handle_ept_violation(struct vcpu *vcpu);
void handle_ept_misconfig(struct vcpu *vcpu);
void handle_mtf(struct vcpu *vcpu);
void handle_triple_fault(struct vcpu *vcpu);
void handle_init(struct vcpu *vcpu);
void handle_sipi(struct vcpu *vcpu);
void handle_nmi_window(struct vcpu *vcpu);
void handle_interrupt_window(struct vcpu *vcpu);
void handle_preemption_timer(struct vcpu *vcpu);
void handle_entry_failure(struct vcpu *vcpu);

#endif
