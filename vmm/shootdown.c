// SPDX-License-Identifier: MIT
/*
 * The shootdown: a change to protection state that every vCPU shares (an
 * EPT entry of the base or a view, a view rebuilt or freed, the unprotect
 * table, a locked key, the fault mode) holds on every CPU before the exit
 * that made it returns to the guest (docs/architecture.md, "SMP: the
 * shootdown").
 *
 * Why: INVEPT acts on the executing CPU only (SDM Vol. 3C 29.4.3.1), and
 * a CPU running guest code keeps using what its TLB cached from an EPT
 * (29.4.2) and the PKRS value and MSR bitmap its VMCS holds until its next
 * VM exit.  The generation checks before every VM entry (vmm/flush.c,
 * pks_entry_check()) make each vCPU catch up at its next exit; the
 * shootdown makes that exit happen now.
 *
 * Protocol, per target vCPU T (every word atomic, vcpu.h):
 *   sender  (end of the exit that changed state, no lock held)
 *           r = ++T.shoot_req; if T.shoot_nmi goes 0 -> 1, NMI IPI to T;
 *           wait until T.shoot_ack >= r, serving requests aimed at itself
 *           meanwhile (two senders at once wait on each other);
 *   target  the NMI makes it exit (NMI exiting, SDM 25.6.1); the NMI is
 *           claimed (shoot_nmi 1 -> 0) and not reflected; before its next
 *           VM entry it loads shoot_req, re-syncs (PKRS / MSR bitmap /
 *           view, INVEPT when the generation moved) and stores the value
 *           loaded into shoot_ack.
 * A target already in VMX root needs no NMI: it passes the same step
 * before it re-enters.  At most one shootdown NMI is on its way to a CPU
 * (shoot_nmi), so shootdown NMIs never pile up and every NMI that finds
 * shoot_nmi = 0 is the guest's (vmm/inject.c reflects it).
 * Not targets: a vCPU before its first exit (launching at boot) and one in
 * wait-for-SIPI (INIT taken): guest code runs on neither until an exit
 * that passes the generation checks.  A target that reaches wait-for-SIPI
 * while a sender waits for it is released (wait_ack()).
 */
#include <pksvisor/log.h>
#include <pksvisor/x86.h>
#include "exit.h"
#include "lapic.h"
#include "shootdown.h"
#include "../pks/pks_vmm.h"

/*
 * Re-send after this many TSC ticks without an acknowledgment: the NMI
 * may have been taken in VMX root after the target passed its last check
 * (host_exception()), and the target may then run guest code without
 * exits.  A re-send never makes a spurious guest NMI: it is only sent
 * when shoot_nmi is 0 again, i.e. the previous one was claimed.
 */
#define SHOOT_RESEND_TSC	200000ull

void shootdown_set_state(struct vcpu *vcpu, u32 state)
{
	/* Seq-cst: ordered against the sender's seq-cst fence (shoot_others). */
	__atomic_store_n(&vcpu->shoot_state, state, __ATOMIC_SEQ_CST);
}

bool shootdown_nmi_claim(struct vcpu *vcpu)
{
	u32 on_its_way = 1;

	if (!__atomic_compare_exchange_n(&vcpu->shoot_nmi, &on_its_way, 0, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return false;
	__atomic_store_n(&vcpu->prot_generation, SHOOT_STALE, __ATOMIC_RELAXED);
	return true;
}

void vcpu_shootdown_owe(struct vcpu *vcpu)
{
	if (vcpu->hv->nr_vcpus < 2 || vcpu->shoot_owed)
		return;
	/*
	 * The generation moves with every debt (vmm/flush.c moved it already
	 * for an EPT change; LOCK_KEY and SET_MODE move it here): the entry
	 * step of this vCPU and of every target looks behind that test only.
	 * The targets' extra INVEPT is the price of one test per exit.
	 */
	__atomic_add_fetch(&vcpu->hv->prot_generation, 1, __ATOMIC_RELEASE);
	vcpu->shoot_owed = true;
	/* Make shootdown_entry() take the slow path (one own bump at most). */
	if (!vcpu->shoot_self) {
		vcpu->shoot_self = true;
		__atomic_add_fetch(&vcpu->shoot_req, 1, __ATOMIC_RELAXED);
	}
}

/*
 * The GS base of VMX root is the vCPU (VMCS host GS base, vmm/vmcs.c);
 * before a CPU's VMLAUNCH it is still the firmware's, which is no vCPU.
 */
struct vcpu *shootdown_here(struct hv *hv)
{
	struct vcpu *here = (struct vcpu *)(uintptr_t)rdmsr(MSR_GS_BASE);

	for (unsigned int i = 0; i < hv->nr_vcpus; i++)
		if (hv->vcpus[i] == here)
			return here;
	return NULL;
}

void shootdown_owe_here(struct hv *hv)
{
	struct vcpu *here = shootdown_here(hv);

	if (here)
		vcpu_shootdown_owe(here);
}

/*
 * Serve the requests aimed at this vCPU.  The request word is loaded
 * (acquire) before anything is re-read, so that every change its senders
 * made before they bumped it is seen here; the acknowledgment (release)
 * comes after the INVEPT.  The own bump is consumed before the re-sync:
 * a re-sync that owes again (a view built or handed over, or none to be
 * had yet: pks/views.c views_slot_degraded()) bumps anew, so the loop in
 * shootdown_slow() re-syncs once more after that shootdown instead of
 * entering the guest on what this re-sync left.
 */
static void take_requests(struct vcpu *vcpu)
{
	u64 req = __atomic_load_n(&vcpu->shoot_req, __ATOMIC_ACQUIRE);
	bool from_others;

	if (req == vcpu->shoot_ack)
		return;
	from_others = req - vcpu->shoot_ack > (vcpu->shoot_self ? 1u : 0u);
	vcpu->shoot_self = false;
	pks_remote_sync(vcpu);
	vcpu_flush_stale(vcpu);
	__atomic_store_n(&vcpu->shoot_ack, req, __ATOMIC_RELEASE);
	if (from_others)
		vcpu->stats.shootdowns_taken++;
}

/*
 * An NMI on its way to target, unless none can be sent (the guest
 * disabled this CPU's local APIC, or its xAPIC page is out of the host
 * map).  The target is still waited for (review3 N1: a CPL0 WRMSR of
 * IA32_APIC_BASE must not end the guarantee, nor leave retired trees
 * armed for ever): it acknowledges at its next exit of any kind, which the
 * VMX-preemption timer brings within VMX_TIMER_SHOOT_TSC ticks of guest
 * time (vmm/vmx_timer.h; SMP needs the timer, vmx_smp_missing()).  With
 * 'force' an NMI is sent even when one is marked on its way (shoot_nmi
 * stays 1): see wait_ack().
 */
static void kick(struct vcpu *vcpu, struct vcpu *target, bool force)
{
	u32 idle = 0;
	bool mine;

	mine = __atomic_compare_exchange_n(&target->shoot_nmi, &idle, 1, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	if (!mine && !force)
		return;		/* one is on its way: it is claimed after our bump */
	if (lapic_send_nmi(target->apic_id, vcpu->hv->phys_limit))
		return;
	if (mine)
		__atomic_store_n(&target->shoot_nmi, 0, __ATOMIC_SEQ_CST);
	if (!vcpu->shoot_apic_warned) {
		vcpu->shoot_apic_warned = true;
		pksv_log("shootdown: the local APIC of CPU %u is off or out of reach: waiting for vCPU %u's next exit",
			 vcpu->id, target->id);
	}
}

/*
 * A target that left SHOOT_RUNNING after we counted it (an INIT exit put it
 * in wait-for-SIPI) is released: wait-for-SIPI blocks NMIs (SDM Vol. 3C
 * 26.6.2 "Activity State"), so no NMI exit would ever come, and the guest
 * need never send the SIPI (or sends it from this very vCPU, which waits
 * here).  It runs no guest code until its SIPI exit, and that exit
 * re-syncs first: handle_sipi() stores SHOOT_RUNNING before the exit's
 * generation check, and shoot_others() moved the generation after our
 * request, so the check finds it stale and shootdown_entry() takes the
 * request before VM entry.
 */
static bool target_left(struct vcpu *target)
{
	return __atomic_load_n(&target->shoot_state, __ATOMIC_SEQ_CST) != SHOOT_RUNNING;
}

/*
 * Re-send after SHOOT_RESEND_TSC when the last NMI was claimed; when it is
 * still unclaimed after SHOOT_FORCE_PERIODS of them, it is taken as lost
 * and sent again regardless (review2 finding 5): the target's guest
 * disabled its APIC for a while or rewrote its xAPIC ID, and an NMI the
 * CPU never accepted is never claimed, so without this shoot_nmi stayed 1
 * for good and no later shootdown ever reached that vCPU but by its own
 * exits.  The price, when the NMI was only late: the second one finds
 * shoot_nmi = 0 and is reflected to the guest as its own (at most one per
 * forced re-send).  The bound is long (2 x 10^8 TSC ticks: 0.1 s at
 * 2 GHz, about as many instructions in Bochs), because a live target
 * claims in microseconds and a spurious guest NMI should stay rare.
 */
#define SHOOT_FORCE_PERIODS	1000

/*
 * Without the VMX-preemption timer (Bochs 2.7's tigerlake model has none)
 * nothing bounds a target that takes no NMI and runs without exits
 * (review3 F7): the sender stops waiting after this many re-send periods
 * (2 x SHOOT_FORCE_PERIODS: one forced re-send had its chance), and the
 * target catches up at its next exit; the trees this shootdown armed wait
 * for that exit (vmm/ept_retire.c).  With the timer the wait ends within
 * one timer period (vmm/vmx_timer.h) and is never cut.
 */
#define SHOOT_GIVEUP_PERIODS	(2 * SHOOT_FORCE_PERIODS)

static void wait_ack(struct vcpu *vcpu, struct vcpu *target, u64 want)
{
	u64 start = rdtsc();
	unsigned int unclaimed = 0, periods = 0;
	bool bounded = !vcpu->hv->vmx.has_preemption_timer;

	while ((s64)(__atomic_load_n(&target->shoot_ack, __ATOMIC_ACQUIRE) - want) < 0) {
		/* Its own exit may wait on us: serve it, or neither goes on. */
		take_requests(vcpu);
		if (target_left(target))
			return;
		if (rdtsc() - start > SHOOT_RESEND_TSC) {
			bool force;

			if (bounded && ++periods >= SHOOT_GIVEUP_PERIODS) {
				if (!vcpu->shoot_gave_up) {
					vcpu->shoot_gave_up = true;
					pksv_log("shootdown: no preemption timer and vCPU %u takes no NMI: it catches up at its next exit",
						 target->id);
				}
				return;
			}

			unclaimed = __atomic_load_n(&target->shoot_nmi, __ATOMIC_SEQ_CST) ?
				    unclaimed + 1 : 0;
			force = unclaimed >= SHOOT_FORCE_PERIODS;
			if (force)
				unclaimed = 0;
			/*
			 * No NMI can leave this CPU: keep waiting, the target's
			 * timer exit acknowledges (kick()).
			 */
			kick(vcpu, target, force);
			start = rdtsc();
		}
		cpu_relax();
	}
}

static void shoot_others(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	u64 need[PKSV_MAX_CPUS];

	/*
	 * The change (and the generation bump) before the targets' states:
	 * a vCPU leaving wait-for-SIPI stores its state (seq-cst) before it
	 * reads the generation, so either we see it running or it sees the
	 * new generation.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned int i = 0; i < hv->nr_vcpus; i++) {
		struct vcpu *t = hv->vcpus[i];

		need[i] = 0;
		if (t == vcpu ||
		    __atomic_load_n(&t->shoot_state, __ATOMIC_SEQ_CST) != SHOOT_RUNNING)
			continue;
		need[i] = __atomic_add_fetch(&t->shoot_req, 1, __ATOMIC_SEQ_CST);
		vcpu->stats.shootdowns_sent++;
		/* Waited for even when no NMI could be sent (kick()). */
		kick(vcpu, t, false);
	}
	/*
	 * The trees this vCPU retired before now are free once these
	 * requests are acknowledged (vmm/ept_retire.c).
	 */
	ept_retire_arm(vcpu, need);
	/*
	 * Move the generation once more, after the requests: a target that
	 * caught up with the first bump before its request was made is stale
	 * again, so its next exit of any kind acknowledges even when no NMI
	 * reaches it as an exit (one claimed in VMX root whose mark was lost,
	 * or an NMI the CPU merged with another: SDM Vol. 3A 6.7.1).  The
	 * entry test stays behind vcpu_prot_stale().
	 */
	__atomic_add_fetch(&hv->prot_generation, 1, __ATOMIC_SEQ_CST);
	for (unsigned int i = 0; i < hv->nr_vcpus; i++)
		if (need[i])
			wait_ack(vcpu, hv->vcpus[i], need[i]);
	ept_retire_reap(hv);
}

void shootdown_slow(struct vcpu *vcpu)
{
	if (vcpu->shoot_state == SHOOT_NEW)
		shootdown_set_state(vcpu, SHOOT_RUNNING);
	do {
		if (vcpu->shoot_owed) {
			vcpu->shoot_owed = false;
			shoot_others(vcpu);
		}
		/* May change shared state again (a view built): loop. */
		take_requests(vcpu);
	} while (vcpu->shoot_owed);
}
