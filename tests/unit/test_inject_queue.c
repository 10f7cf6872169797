// SPDX-License-Identifier: MIT
/*
 * The event-injection queue (vmm/inject.c) on a fake VMCS: what the next
 * VM entry gets after an exit that interrupted an event delivery and a
 * handler that injects a new exception, how pending NMIs wait for their
 * window, and the NMI-blocking fixups.  Each case is one exit:
 * inject_begin_exit(), the "handler", inject_finish(), as vmexit_dispatch()
 * calls them.  On main, vcpu_inject_exception() wrote the VM-entry field
 * over a re-queued event (cases 1-5 would deliver only the new exception)
 * and a pending NMI set NMI-window exiting without virtual NMIs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../vmm/exit.h"
#include "../../vmm/inject.h"
#include "../../vmm/vmx.h"

/* ---- fakes ---------------------------------------------------------- */

static u64 vmcs[0x8000];
static unsigned int triple_faults, unblocks;

u64 vmread_at(u64 field, const char *file, int line)
{
	(void)file;
	(void)line;
	assert_true(field < 0x8000);
	return vmcs[field];
}

void vmwrite_at(u64 field, u64 value, const char *file, int line)
{
	(void)file;
	(void)line;
	assert_true(field < 0x8000);
	vmcs[field] = value;
}

void host_unblock_nmis(void)
{
	unblocks++;
}

void handle_triple_fault(struct vcpu *vcpu)
{
	(void)vcpu;
	triple_faults++;
}

void pksv_log(const char *fmt, ...)
{
	(void)fmt;
}

/* vmm/single_step.c: ending a step undoes its rights; here, count it. */
static unsigned int steps_cancelled;

void vcpu_step_window_exit(struct vcpu *vcpu)
{
	(void)vcpu;
}

void vcpu_step_cancel(struct vcpu *vcpu)
{
	if (vcpu->step != STEP_NONE)
		steps_cancelled++;
	vcpu->step = STEP_NONE;
}

static struct hv hv;
static struct vcpu vcpu;

/* ---- helpers -------------------------------------------------------- */

#define EXC(v)		(INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | (v))
#define EXC_ERR(v)	(EXC(v) | INTR_INFO_ERROR_CODE)
#define NMI_INFO	(INTR_INFO_VALID | INTR_TYPE_NMI | VEC_NMI)
#define IRQ(v)		(INTR_INFO_VALID | INTR_TYPE_EXT_INTR | (v))

static int setup(void **state)
{
	(void)state;
	memset(vmcs, 0, sizeof(vmcs));
	memset(&hv, 0, sizeof(hv));
	memset(&vcpu, 0, sizeof(vcpu));
	vcpu.hv = &hv;
	vcpu.vmcs_ready = true;
	hv.vmx.has_virtual_nmis = true;
	hv.vmx.has_intr_window = true;
	vmcs[VMCS_GUEST_RFLAGS] = RFLAGS_IF | 2;
	vmcs[VMCS_GUEST_ACTIVITY] = ACTIVITY_ACTIVE;
	triple_faults = unblocks = 0;
	return 0;
}

/* One exit: the CPU's exit fields, then dispatch's queue calls. */
static void exit_begin(u32 basic, u32 idt_info, u32 idt_error, u64 qual)
{
	vmcs[VMCS_ENTRY_INTR_INFO] &= ~(u64)INTR_INFO_VALID;	/* SDM 28.2: cleared */
	vmcs[VMCS_IDT_VECTORING_INFO] = idt_info;
	vmcs[VMCS_IDT_VECTORING_ERROR] = idt_error;
	vcpu.exit_reason = basic;
	vmcs[VMCS_EXIT_QUALIFICATION] = qual;	/* read on first use (seam.h) */
	vmcs[VMCS_EXIT_INSTR_LEN] = 2;
	vcpu.exit_fields = 0;
	inject_begin_exit(&vcpu, basic);
}

static u32 entry_info(void)
{
	return vmcs[VMCS_ENTRY_INTR_INFO] & INTR_INFO_VALID ? (u32)vmcs[VMCS_ENTRY_INTR_INFO] : 0;
}

static int proc_has(u32 bit)
{
	return !!(vmcs[VMCS_PROC_CONTROLS] & bit);
}

/* ---- cases ---------------------------------------------------------- */

/* 1. An interrupt whose delivery exited, then a #PF: #PF now, interrupt after. */
static void test_irq_then_pf(void **state)
{
	(void)state;
	exit_begin(EXIT_EPT_VIOLATION, IRQ(0x30), 0, 0);
	vcpu_inject_exception(&vcpu, VEC_PF, true, 0x2);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), EXC_ERR(VEC_PF));
	assert_int_equal(vmcs[VMCS_ENTRY_EXCEPTION_ERROR], 0x2);
	assert_true(proc_has(PROC_INTR_WINDOW_EXITING));
	assert_int_equal(vcpu.stats.events_merged, 1);
	/* the #PF handler ran with IF=0 until it re-enabled interrupts */
	exit_begin(EXIT_INTR_WINDOW, 0, 0, 0);
	handle_interrupt_window(&vcpu);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), IRQ(0x30));
	assert_false(proc_has(PROC_INTR_WINDOW_EXITING));
	/* delivered once */
	exit_begin(EXIT_CPUID, 0, 0, 0);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), 0);
}

/* 2-4. Table 6-5: #GP on #GP, #PF on #PF, #GP on #PF give #DF(0). */
static void test_double_faults(void **state)
{
	static const struct { u32 queued; u8 vec; } cases[] = {
		{ EXC_ERR(VEC_GP), VEC_GP }, { EXC_ERR(VEC_PF), VEC_PF },
		{ EXC_ERR(VEC_PF), VEC_GP }, { EXC(0), VEC_GP },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		exit_begin(EXIT_EPT_VIOLATION, cases[i].queued, 0x18, 0);
		vcpu_inject_exception(&vcpu, cases[i].vec, true, 0x5);
		inject_finish(&vcpu);
		assert_int_equal(entry_info(), EXC_ERR(VEC_DF));
		assert_int_equal(vmcs[VMCS_ENTRY_EXCEPTION_ERROR], 0);
	}
	assert_int_equal(triple_faults, 0);
}

/* 5. Anything on #DF: the triple-fault path, nothing injected. */
static void test_triple_fault(void **state)
{
	(void)state;
	exit_begin(EXIT_EPT_VIOLATION, EXC_ERR(VEC_DF), 0, 0);
	vcpu_inject_exception(&vcpu, VEC_UD, false, 0);
	inject_finish(&vcpu);
	assert_int_equal(triple_faults, 1);
	assert_int_equal(entry_info(), 0);
}

/* 6. Benign on contributory: serial, the new one. */
static void test_serial(void **state)
{
	(void)state;
	exit_begin(EXIT_EPT_VIOLATION, EXC_ERR(VEC_GP), 0, 0);
	vcpu_inject_exception(&vcpu, VEC_UD, false, 0);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), EXC(VEC_UD));
	assert_false(proc_has(PROC_INTR_WINDOW_EXITING));
}

/* 7. A re-queued event alone goes back in unchanged (+ instruction length). */
static void test_requeue(void **state)
{
	u32 int80 = INTR_INFO_VALID | INTR_TYPE_SW_INTR | 0x80;

	(void)state;
	exit_begin(EXIT_EPT_VIOLATION, int80 | BIT(12), 0, 0);	/* bit 12 undefined */
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), int80);
	assert_int_equal(vmcs[VMCS_ENTRY_INSTR_LEN], 2);
	assert_int_equal(vcpu.stats.events_requeued, 1);
	exit_begin(EXIT_EPT_VIOLATION, EXC_ERR(VEC_PF), 0x11, 0);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), EXC_ERR(VEC_PF));
	assert_int_equal(vmcs[VMCS_ENTRY_EXCEPTION_ERROR], 0x11);
}

/* 8. An NMI whose delivery exited: again, with blocking by NMI cleared. */
static void test_requeued_nmi(void **state)
{
	(void)state;
	vmcs[VMCS_GUEST_INTERRUPTIBILITY] = INTR_BLOCK_NMI;
	exit_begin(EXIT_EPT_VIOLATION, NMI_INFO, 0, 0);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), NMI_INFO);
	assert_false(vmcs[VMCS_GUEST_INTERRUPTIBILITY] & INTR_BLOCK_NMI);
	assert_int_equal(vcpu.stats.nmi_requeued, 1);
	assert_int_equal(vcpu.stats.nmi_injected, 1);
	assert_int_equal(vcpu.nmi_pending, 0);
}

/* 9. Re-queued NMI, then a #PF: #PF now, the NMI at the NMI window. */
static void test_nmi_then_pf(void **state)
{
	(void)state;
	exit_begin(EXIT_EPT_VIOLATION, NMI_INFO, 0, 0);
	vcpu_inject_exception(&vcpu, VEC_PF, true, 0);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), EXC_ERR(VEC_PF));
	assert_int_equal(vcpu.nmi_pending, 1);
	assert_true(proc_has(PROC_NMI_WINDOW_EXITING));
	exit_begin(EXIT_NMI_WINDOW, 0, 0, 0);
	handle_nmi_window(&vcpu);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), NMI_INFO);
	assert_int_equal(vcpu.nmi_pending, 0);
	assert_false(proc_has(PROC_NMI_WINDOW_EXITING));
	assert_int_equal(vcpu.stats.nmi_injected, 1);
	assert_int_equal(vcpu.stats.nmi_window, 1);
}

/* 10. NMI exits: inject at once, or wait for the window while blocked. */
static void test_nmi_exit(void **state)
{
	(void)state;
	vmcs[VMCS_EXIT_INTR_INFO] = NMI_INFO;
	exit_begin(EXIT_EXCEPTION_NMI, 0, 0, 0);
	inject_nmi_exit(&vcpu);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), NMI_INFO);
	assert_int_equal(unblocks, 1);
	/* the guest is in its handler (virtual-NMI blocking): two more arrive */
	vmcs[VMCS_GUEST_INTERRUPTIBILITY] = INTR_BLOCK_NMI;
	exit_begin(EXIT_EXCEPTION_NMI, 0, 0, 0);
	inject_nmi_exit(&vcpu);
	inject_finish(&vcpu);
	exit_begin(EXIT_EXCEPTION_NMI, 0, 0, 0);
	inject_nmi_exit(&vcpu);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), 0);
	assert_true(proc_has(PROC_NMI_WINDOW_EXITING));
	/* hardware would hold one: clamped */
	assert_int_equal(vcpu.nmi_pending, 1);
	/* IRET: window exit, one NMI */
	vmcs[VMCS_GUEST_INTERRUPTIBILITY] = 0;
	exit_begin(EXIT_NMI_WINDOW, 0, 0, 0);
	handle_nmi_window(&vcpu);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), NMI_INFO);
	assert_int_equal(vcpu.nmi_pending, 0);
	assert_int_equal(vcpu.stats.nmi_injected, 2);
	assert_int_equal(vcpu.stats.nmi_reflected, 3);
}

/* 11. STI / MOV-SS blocking and another event also wait for the window. */
static void test_nmi_waits(void **state)
{
	(void)state;
	vmcs[VMCS_GUEST_INTERRUPTIBILITY] = INTR_BLOCK_STI;
	exit_begin(EXIT_EXCEPTION_NMI, 0, 0, 0);
	inject_nmi_exit(&vcpu);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), 0);
	assert_true(proc_has(PROC_NMI_WINDOW_EXITING));
	vmcs[VMCS_GUEST_INTERRUPTIBILITY] = 0;
	exit_begin(EXIT_CPUID, 0, 0, 0);
	vcpu_inject_gp(&vcpu);			/* a handler's #GP goes first */
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), EXC_ERR(VEC_GP));
	assert_int_equal(vcpu.nmi_pending, 1);
	exit_begin(EXIT_NMI_WINDOW, 0, 0, 0);
	handle_nmi_window(&vcpu);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), NMI_INFO);
}

/* 12. During a single step: neither injection nor window. */
static void test_nmi_during_step(void **state)
{
	(void)state;
	vcpu.step = STEP_HIDDEN;
	exit_begin(EXIT_EXCEPTION_NMI, 0, 0, 0);
	inject_nmi_exit(&vcpu);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), 0);
	assert_false(proc_has(PROC_NMI_WINDOW_EXITING));
	vcpu.step = STEP_NONE;			/* the step ended at this exit */
	exit_begin(EXIT_MTF, 0, 0, 0);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), NMI_INFO);
}

/*
 * 12b. An exception injected in the middle of a step (the soft write #PF
 * exit, a hw #PF exit) ends the step before the guest's handler runs.
 */
static void test_fault_ends_step(void **state)
{
	(void)state;
	steps_cancelled = 0;
	vcpu.step = STEP_PKS_ALLOW | STEP_HIDDEN;
	exit_begin(EXIT_EXCEPTION_NMI, 0, 0, 0);
	vcpu_inject_exception(&vcpu, VEC_PF, true, 3);
	inject_finish(&vcpu);
	assert_int_equal(steps_cancelled, 1);
	assert_int_equal(vcpu.step, STEP_NONE);
	assert_int_equal(entry_info(), EXC_ERR(VEC_PF));
}

/* 13. An NMI in VMX root: counted, and the window asked for at once. */
static void test_nmi_in_root(void **state)
{
	(void)state;
	inject_nmi_from_root(&vcpu);
	assert_true(proc_has(PROC_NMI_WINDOW_EXITING));
	assert_int_equal(vcpu.stats.nmi_root, 1);
	exit_begin(EXIT_NMI_WINDOW, 0, 0, 0);
	handle_nmi_window(&vcpu);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), NMI_INFO);
	/* without virtual NMIs (fallback) the VMCS is left alone */
	setup(NULL);
	hv.vmx.has_virtual_nmis = false;
	inject_nmi_from_root(&vcpu);
	assert_false(proc_has(PROC_NMI_WINDOW_EXITING));
	exit_begin(EXIT_CPUID, 0, 0, 0);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), NMI_INFO);
	assert_false(proc_has(PROC_NMI_WINDOW_EXITING));
}

/* 14. NMI unblocking due to IRET: blocking by NMI restored, only when defined. */
static void test_iret_unblocking(void **state)
{
	(void)state;
	exit_begin(EXIT_EPT_VIOLATION, 0, 0, EPTQ_NMI_UNBLOCK | EPTQ_WRITE);
	inject_finish(&vcpu);
	assert_true(vmcs[VMCS_GUEST_INTERRUPTIBILITY] & INTR_BLOCK_NMI);
	setup(NULL);
	vmcs[VMCS_EXIT_INTR_INFO] = EXC_ERR(VEC_PF) | INTR_INFO_NMI_UNBLOCK;
	exit_begin(EXIT_EXCEPTION_NMI, 0, 0, 0);
	assert_true(vmcs[VMCS_GUEST_INTERRUPTIBILITY] & INTR_BLOCK_NMI);
	/* undefined with valid IDT-vectoring information and for #DF */
	setup(NULL);
	exit_begin(EXIT_EPT_VIOLATION, IRQ(0x40), 0, EPTQ_NMI_UNBLOCK);
	assert_false(vmcs[VMCS_GUEST_INTERRUPTIBILITY] & INTR_BLOCK_NMI);
	vmcs[VMCS_EXIT_INTR_INFO] = EXC_ERR(VEC_DF) | INTR_INFO_NMI_UNBLOCK;
	exit_begin(EXIT_EXCEPTION_NMI, 0, 0, 0);
	assert_false(vmcs[VMCS_GUEST_INTERRUPTIBILITY] & INTR_BLOCK_NMI);
}

/* 15. Wait-for-SIPI refuses injection: the NMI waits, no window loop. */
static void test_nmi_wait_for_sipi(void **state)
{
	(void)state;
	vmcs[VMCS_GUEST_ACTIVITY] = ACTIVITY_WAIT_SIPI;
	exit_begin(EXIT_EXCEPTION_NMI, 0, 0, 0);
	inject_nmi_exit(&vcpu);
	inject_finish(&vcpu);
	assert_int_equal(entry_info(), 0);
	assert_false(proc_has(PROC_NMI_WINDOW_EXITING));
	assert_int_equal(vcpu.nmi_pending, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_irq_then_pf, setup),
		cmocka_unit_test_setup(test_double_faults, setup),
		cmocka_unit_test_setup(test_triple_fault, setup),
		cmocka_unit_test_setup(test_serial, setup),
		cmocka_unit_test_setup(test_requeue, setup),
		cmocka_unit_test_setup(test_requeued_nmi, setup),
		cmocka_unit_test_setup(test_nmi_then_pf, setup),
		cmocka_unit_test_setup(test_nmi_exit, setup),
		cmocka_unit_test_setup(test_nmi_waits, setup),
		cmocka_unit_test_setup(test_nmi_during_step, setup),
		cmocka_unit_test_setup(test_fault_ends_step, setup),
		cmocka_unit_test_setup(test_nmi_in_root, setup),
		cmocka_unit_test_setup(test_iret_unblocking, setup),
		cmocka_unit_test_setup(test_nmi_wait_for_sipi, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
