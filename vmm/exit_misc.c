// SPDX-License-Identifier: MIT
/*
 * Small exits: XSETBV, INVD, guest VMX instructions, INIT/SIPI, triple
 * fault and the preemption timer that drives periodic statistics.
 */
#include <pksvisor/log.h>
#include "exit.h"
#include "../pks/pks_vmm.h"
#include "host.h"
#include "shootdown.h"
#include "vmx.h"

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
	if (!vcpu->hv->vmx.has_unrestricted || !vcpu->hv->vmx.has_wait_sipi)
		vcpu_fatal(vcpu, "INIT needs unrestricted guest and wait-for-SIPI");
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
	u64 vector = vcpu->exit_qual & 0xff;

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

void vcpu_arm_stats_timer(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	u64 ticks;

	if (!hv->vmx.has_preemption_timer || !hv->cfg.stats_interval_s)
		return;
	/* The timer counts down at TSC >> IA32_VMX_MISC[4:0] (SDM 26.5.1). */
	ticks = (hv->tsc_per_sec * hv->cfg.stats_interval_s) >>
		VMX_MISC_TIMER_RATE(hv->msrs.misc);
	if (ticks > 0xffffffffull || ticks == 0)
		ticks = 0xffffffffull;
	vmwrite(VMCS_PREEMPTION_TIMER, ticks);
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

void handle_preemption_timer(struct vcpu *vcpu)
{
	/* vmexit_dispatch calls vcpu_stats_tick after every handler. */
	vcpu_arm_stats_timer(vcpu);
}
