/* SPDX-License-Identifier: MIT */
/*
 * The shootdown (vmm/shootdown.c): a change to shared protection state
 * holds on every vCPU before the exit that made it returns to the guest.
 */
#ifndef PKSVISOR_SHOOTDOWN_H
#define PKSVISOR_SHOOTDOWN_H

#include "vcpu.h"

/*
 * A protection generation no counter ever holds: a vCPU with it is stale
 * and re-syncs at its next entry.  Set at creation (vmm/build.c) and when
 * a shootdown NMI is claimed: the request may have been made after the
 * vCPU last caught up with the generation.  From NMI context this store
 * may be lost to a vcpu_flush_stale() it interrupted; the sender's
 * re-send then brings an NMI exit, whose claim is not.
 */
#define SHOOT_STALE	(~0ull)

/*
 * The vCPU running on this CPU changed shared state (vmm/flush.c calls it
 * for every EPT invalidation when there is more than one vCPU): it shoots
 * the others before its next VM entry.  A no-op outside a vCPU's exit
 * (boot, before VMLAUNCH).
 */
void shootdown_owe_here(struct hv *hv);
/* The vCPU whose exit this CPU is handling; NULL outside one (boot). */
struct vcpu *shootdown_here(struct hv *hv);

/*
 * Retired EPT trees (vmm/ept_retire.c, ept_retire() in seam.h): the
 * shootdown arms those its sender retired with the request value each
 * target must acknowledge (need[i], 0: not a target), and frees every
 * tree whose targets all did once it has waited.
 */
void ept_retire_arm(struct vcpu *sender, const u64 *need);
void ept_retire_reap(struct hv *hv);

/* The last step of every exit when a request or a debt is pending. */
void shootdown_slow(struct vcpu *vcpu);

/*
 * Before a VM entry whose protection generation was stale (vmexit_dispatch
 * calls it behind vcpu_prot_stale(), so an exit that finds nothing changed
 * pays nothing more): every debt and every request comes with a
 * generation bump (vcpu_shootdown_owe()) or a claimed NMI, which marks
 * the vCPU stale (shootdown_nmi_claim()).  A vCPU starts stale (vmm/build.c)
 * with shoot_req = 1, shoot_ack = 0, so that its first exit takes the slow
 * path, which makes it a target (SHOOT_RUNNING).
 */
static inline void shootdown_entry(struct vcpu *vcpu)
{
	if (__atomic_load_n(&vcpu->shoot_req, __ATOMIC_ACQUIRE) != vcpu->shoot_ack)
		shootdown_slow(vcpu);
}

/*
 * An NMI arrived (NMI exit or the host IDT): true when it was a
 * shootdown's (one was on its way and this call took it; the vCPU is then
 * marked stale so that its next entry re-syncs and acknowledges), false
 * when it is the guest's and must be reflected.  Safe in NMI context.
 */
bool shootdown_nmi_claim(struct vcpu *vcpu);

/* vcpu->shoot_state transitions of INIT and SIPI (vmm/exit_misc.c). */
void shootdown_set_state(struct vcpu *vcpu, u32 state);

#endif
