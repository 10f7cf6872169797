/* SPDX-License-Identifier: MIT */
/*
 * The VMX-preemption timer's value at each arming (vmm/exit_misc.c
 * vcpu_arm_timer(), at launch and at every timer exit).  It counts down in
 * VMX non-root at the TSC rate shifted right by IA32_VMX_MISC[4:0] (SDM
 * Vol. 3C 26.5.1) and is saved at every exit ("save VMX-preemption timer
 * value", so it runs across exits and fires once per period of guest
 * time).  Two users:
 *  - stats=N: an exit per interval for the periodic statistics;
 *  - several vCPUs: the shootdown's backstop.  A target that runs guest
 *    code without exits and never takes the shootdown NMI (its guest
 *    disabled its own APIC or rewrote its xAPIC ID: the IPI is accepted by
 *    no CPU) still exits within VMX_TIMER_SHOOT_TSC ticks, and that exit's
 *    generation check acknowledges (vmm/shootdown.c): the sender's wait is
 *    bounded whatever the guest does (review2 finding 5) - also when the
 *    sender's own APIC is off and it waits for that exit alone (review3
 *    N1).  Without the timer the sender's wait is cut instead
 *    (vmm/shootdown.c SHOOT_GIVEUP_PERIODS, review3 F7).
 * Pure, so that the host unit test (tests/unit/test_shootdown.c) runs it.
 */
#ifndef PKSVISOR_VMX_TIMER_H
#define PKSVISOR_VMX_TIMER_H

#include <pksvisor/types.h>

/* 2^24 TSC ticks: 8 ms at 2 GHz, as many instructions in Bochs. */
#define VMX_TIMER_SHOOT_TSC	(1ull << 24)
#define VMX_TIMER_MAX		0xffffffffu

static inline u32 vmx_timer_value(u64 tsc_per_sec, u32 stats_interval_s, bool smp,
				  unsigned int rate)
{
	u64 ticks = ~0ull;

	if (stats_interval_s && tsc_per_sec)
		ticks = tsc_per_sec * stats_interval_s;
	if (smp && VMX_TIMER_SHOOT_TSC < ticks)
		ticks = VMX_TIMER_SHOOT_TSC;
	if (ticks == ~0ull)
		return VMX_TIMER_MAX;
	ticks >>= rate;
	if (ticks > VMX_TIMER_MAX)
		return VMX_TIMER_MAX;
	/* 0 would exit at every VM entry (SDM 26.7.4): one tick at least. */
	return ticks ? (u32)ticks : 1;
}

#endif
