// SPDX-License-Identifier: MIT
/*
 * Small exits: XSETBV, INVD, task switch, GETSEC, guest VMX instructions,
 * INIT/SIPI, triple fault and the preemption timer that drives periodic
 * statistics.
 */
#include <pksvisor/log.h>
#include "exit.h"
#include "guest_refuse.h"
#include "../pks/pks_vmm.h"
#include "host.h"
#include "shootdown.h"
#include "vmx.h"
#include "vmx_timer.h"

void handle_xsetbv(struct vcpu *vcpu)
{
	struct guest_regs *r = vcpu->regs;
	u64 value = ((u64)(u32)r->rdx << 32) | (u32)r->rax;

	/*
	 * The CPU checked CPL and CR4.OSXSAVE before the exit (SDM 26.1.2
	 * lists XSETBV as unconditional).  Executing it in root with a fault
	 * fixup turns every invalid XCR0 into the #GP hardware would raise.
	 */
	if (safe_xsetbv((u32)r->rcx, value)) {
		vcpu_inject_gp(vcpu);
		return;
	}
	vcpu_skip_instruction(vcpu);
}

void handle_invd(struct vcpu *vcpu)
{
	/* Dropping dirty lines would corrupt pksvisor's memory too: write back. */
	asm volatile("wbinvd" ::: "memory");
	vcpu_skip_instruction(vcpu);
}

/*
 * Task switch (exit reason 9): every task switch exits in VMX non-root
 * (SDM Vol. 3C 26.2).  Only a 32-bit protected-mode guest can switch
 * tasks (long mode has no hardware task switching), and pksvisor does not
 * emulate it: the switch fails as it would through an unusable TSS, with
 * #TS(selector) (SDM Vol. 3A 7.3, "Task Switching"; the exit
 * qualification holds the TSS selector in bits 15:0 and the source in
 * 31:30, SDM 28.2.1 Table 28-2).  When an IDT task gate started it
 * (source 3) the interrupted event was re-queued by inject_begin_exit, and
 * the #TS merges with it as a contributory exception would (SDM 6.15):
 * #TS, or #DF, or a triple fault when the event was #DF.  The guest
 * decides what follows; pksvisor keeps running.
 */
void handle_task_switch(struct vcpu *vcpu)
{
	u64 qual = vcpu_exit_qual(vcpu);
	u32 selector = (u32)(qual & 0xfffc);
	bool from_idt = ((qual >> 30) & 3) == 3;

	vcpu_inject_exception(vcpu, VEC_TS, true, selector | (from_idt ? 1u : 0u));
}

/*
 * GETSEC (exit reason 11) exits unconditionally, but only with CR4.SMXE
 * set (with SMXE clear it is #UD before any exit, SDM 26.1.1).  pksvisor
 * hides SMX from CPUID and refuses CR4.SMXE, so this exit means a CPU that
 * let the bit through anyway: #UD, as on a CPU without SMX.
 */
void handle_getsec(struct vcpu *vcpu)
{
	vcpu_inject_ud(vcpu);
}

void handle_vmx_instruction(struct vcpu *vcpu)
{
	/* CPUID says no VMX: every VMX instruction is #UD, as on such a CPU. */
	vcpu_inject_ud(vcpu);
}

/*
 * Shut the host down the way the guest asked to be: a triple fault in VMX
 * root operation puts the processor into the shutdown state (SDM Vol. 3A
 * 6.15, "Interrupt 8 - Double Fault Exception": a fault while delivering
 * #DF means shutdown; no VM exit, there is no VMX non-root), and the
 * platform does
 * what it does on any shutdown cycle, as it would have for the guest on
 * bare metal (a PC chipset resets; Bochs with reset_on_triple_fault=0
 * ends).  An IDT limit of 0 makes INT3 a #GP, the #GP a #DF, and the #DF
 * the triple fault.
 */
static void __attribute__((noreturn)) host_triple_fault(void)
{
	struct __attribute__((packed)) { u16 limit; u64 base; } no_idt = { 0, 0 };

	asm volatile("cli; lidt %0; int3" : : "m"(no_idt) : "memory");
	for (;;)
		asm volatile("hlt");
}

/*
 * Exit reason 2: the guest triple-faulted (SDM Vol. 3C 26.2, "Other Causes
 * of VM Exits"; Vol. 3D Appendix C).  On bare metal the CPU would enter shutdown; that is a
 * guest action, not a pksvisor bug, so it is no vcpu_fatal: print why and
 * the statistics, then shut the machine down as the guest would have.
 */
void handle_triple_fault(struct vcpu *vcpu)
{
	pksv_log("guest triple fault at rip 0x%llx: shutting the machine down, "
		 "as the CPU would have without pksvisor", vcpu->guest_rip);
	vcpu_print_stats(vcpu, "guest triple fault");
	serial_drain();
	host_triple_fault();
}

/*
 * An INIT that pksvisor does not turn into wait-for-SIPI: the boot
 * processor's (after INIT the BSP runs the firmware's reset vector, SDM
 * Vol. 3A 9.1 and 9.4; only APs wait for SIPI, so parking it would hang
 * the machine), or any INIT on a CPU without unrestricted guest or the
 * wait-for-SIPI activity state (the post-INIT real-mode state cannot be
 * entered).  A guest gets there through fast INIT (port 0x92 bit 0), a
 * chipset soft reset (port 0xcf9 = 4) or an INIT IPI to itself: it asked
 * for the machine to restart, and restarting the firmware under pksvisor
 * would only end in pksvisor's own reservation being given back.  So it
 * is a platform reset, like the triple fault: never a halt.
 */
static void __attribute__((noreturn)) init_resets_platform(struct vcpu *vcpu, const char *why)
{
	pksv_log("guest INIT on vCPU %u (%s) at rip 0x%llx: resetting the machine",
		 vcpu->id, why, vcpu->guest_rip);
	vcpu_print_stats(vcpu, "guest INIT");
	serial_drain();
	host_triple_fault();
}

static void set_segment(u64 sel_f, u16 sel, u64 base, u32 ar)
{
	/* ES..GS and their base/limit/AR fields are 2 apart, in order. */
	u64 idx = (sel_f - VMCS_GUEST_ES_SEL) / 2;

	vmwrite(sel_f, sel);
	vmwrite(VMCS_GUEST_ES_BASE + idx * 2, base);
	vmwrite(VMCS_GUEST_ES_LIMIT + idx * 2, 0xffff);
	vmwrite(VMCS_GUEST_ES_AR + idx * 2, ar);
}

/*
 * INIT (exit reason 3; INIT always exits in VMX non-root, SDM 26.2): put the
 * vCPU in the state INIT gives a real CPU (SDM Vol. 3A 10.1.1, Table 10-1)
 * and wait for SIPI.  IA32_PKRS and the MTRRs are preserved across INIT.
 */
void handle_init(struct vcpu *vcpu)
{
	if (rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_BSP)
		init_resets_platform(vcpu, "the boot processor");
	if (!vcpu->hv->vmx.has_unrestricted || !vcpu->hv->vmx.has_wait_sipi)
		init_resets_platform(vcpu, "no unrestricted guest or wait-for-SIPI");
	/*
	 * INIT discards what the CPU was in the middle of: a single step's
	 * temporary rights go back now (in a shared view another vCPU would
	 * otherwise keep using them while this one waits for a SIPI that may
	 * never come), and an event queued or deferred for the old context
	 * must not be delivered into the SIPI's real-mode code.
	 */
	vcpu_step_cancel(vcpu);
	vcpu->event.info = 0;
	vcpu->deferred.info = 0;
	vcpu->cr0_shadow = CR0_ET | CR0_CD | CR0_NW;
	vcpu->cr4_shadow = 0;
	vmwrite(VMCS_CR0_SHADOW, vcpu->cr0_shadow);
	vmwrite(VMCS_CR4_SHADOW, 0);
	vmwrite(VMCS_GUEST_CR0, (vcpu->cr0_shadow | vcpu->hv->msrs.cr0_fixed0) &
		~(CR0_PE | CR0_PG) & vcpu->hv->msrs.cr0_fixed1);
	vmwrite(VMCS_GUEST_CR3, 0);
	vmwrite(VMCS_GUEST_CR4, vcpu->hv->msrs.cr4_fixed0 | CR4_VMXE);
	vcpu->efer = 0;
	vmwrite(VMCS_GUEST_EFER, 0);
	vmwrite(VMCS_ENTRY_CONTROLS, vmread(VMCS_ENTRY_CONTROLS) & ~ENTRY_IA32E_GUEST);
	vmwrite(VMCS_GUEST_RFLAGS, 2);
	vmwrite(VMCS_GUEST_RIP, 0xfff0);
	vmwrite(VMCS_GUEST_RSP, 0);
	set_segment(VMCS_GUEST_CS_SEL, 0xf000, 0xffff0000, 0x9b);
	set_segment(VMCS_GUEST_SS_SEL, 0, 0, 0x93);
	set_segment(VMCS_GUEST_DS_SEL, 0, 0, 0x93);
	set_segment(VMCS_GUEST_ES_SEL, 0, 0, 0x93);
	set_segment(VMCS_GUEST_FS_SEL, 0, 0, 0x93);
	set_segment(VMCS_GUEST_GS_SEL, 0, 0, 0x93);
	vmwrite(VMCS_GUEST_LDTR_SEL, 0);
	vmwrite(VMCS_GUEST_LDTR_BASE, 0);
	vmwrite(VMCS_GUEST_LDTR_LIMIT, 0xffff);
	vmwrite(VMCS_GUEST_LDTR_AR, 0x82);
	vmwrite(VMCS_GUEST_TR_SEL, 0);
	vmwrite(VMCS_GUEST_TR_BASE, 0);
	vmwrite(VMCS_GUEST_TR_LIMIT, 0xffff);
	vmwrite(VMCS_GUEST_TR_AR, 0x8b);
	vmwrite(VMCS_GUEST_GDTR_BASE, 0);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmwrite(VMCS_GUEST_IDTR_BASE, 0);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, 0xffff);
	vmwrite(VMCS_GUEST_DR7, 0x400);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite(VMCS_GUEST_ACTIVITY, ACTIVITY_WAIT_SIPI);
	/* No guest code until the SIPI exit: not a shootdown target. */
	shootdown_set_state(vcpu, SHOOT_WAIT_SIPI);
	pks_init_signal(vcpu);
	vcpu->regs->rdx = 0x600;	/* a plausible family/model signature */
	vcpu_flush_vpid(vcpu);
}

/*
 * SIPI (exit reason 4) only exits in wait-for-SIPI (SDM 26.2: "If a logical
 * processor is not in the wait-for-SIPI state when a SIPI arrives, no VM
 * exit occurs and the SIPI is discarded").  Start in real mode at vector:0.
 */
void handle_sipi(struct vcpu *vcpu)
{
	u64 vector = vcpu_exit_qual(vcpu) & 0xff;

	set_segment(VMCS_GUEST_CS_SEL, vector << 8, vector << 12, 0x9b);
	vmwrite(VMCS_GUEST_RIP, 0);
	/*
	 * The CPU starts executing afresh: nothing blocks events.  Bochs 2.7
	 * saves "blocking by SMI" (bit 2) at the SIPI exit, which VM entry
	 * then refuses outside SMM (SDM 27.3.1.5): clear the whole field.
	 */
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite(VMCS_GUEST_ACTIVITY, ACTIVITY_ACTIVE);
	/* Before this exit's generation checks (shootdown_set_state()). */
	shootdown_set_state(vcpu, SHOOT_RUNNING);
}

void vcpu_arm_timer(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;

	if (!hv->vmx.has_preemption_timer)
		return;
	vmwrite(VMCS_PREEMPTION_TIMER,
		vmx_timer_value(hv->tsc_per_sec, hv->cfg.stats_interval_s, hv->nr_vcpus > 1,
				VMX_MISC_TIMER_RATE(hv->msrs.misc)));
}

/*
 * Periodic statistics: checked at every VM exit (one RDTSC; nothing when
 * stats=off).  The VMX preemption timer, when there is one, guarantees an
 * exit per interval in a guest that would otherwise exit rarely; without
 * it (or where it never fires: Bochs 2.7 tigerlake reports one but its
 * exits never arrived in our runs) the statistics come at the first exit
 * after each interval.
 */
void vcpu_stats_tick(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	u64 now;

	if (!hv->cfg.stats_interval_s)
		return;
	now = rdtsc();
	if (now - vcpu->last_stats_tsc >= hv->tsc_per_sec * hv->cfg.stats_interval_s) {
		vcpu->last_stats_tsc = now;
		vcpu_print_stats(vcpu, "periodic");
	}
}

/*
 * Nothing to do but re-arm: vmexit_dispatch calls vcpu_stats_tick after
 * every handler, and its generation check acknowledges any shootdown
 * request this exit was the backstop for.
 */
void handle_preemption_timer(struct vcpu *vcpu)
{
	vcpu_arm_timer(vcpu);
}
