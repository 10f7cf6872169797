/* SPDX-License-Identifier: MIT */
/*
 * The seam: everything pks/ may use of vmm/, and nothing more.  pks/
 * includes this header and no other vmm/ header (the layering check,
 * tests/harness/check-layering.sh, enforces it).  It offers the vCPU and
 * hypervisor state (vcpu.h), the VMCS accessors and field encodings
 * (vmx.h: pks/ reads guest CR3/CR4/PKRS and writes its own controls),
 * and seven services: inject an exception, read the CPL, single-step one
 * instruction, set an MSR intercept, invalidate cached translations,
 * shoot the other vCPUs down, free an EPT tree after the shootdown.
 * A new need of pks/ is added here on purpose, not by including one more
 * vmm/ header.
 */
#ifndef PKSVISOR_SEAM_H
#define PKSVISOR_SEAM_H

#include "vcpu.h"
#include "vmx.h"

/*
 * Exit fields read on first use.  Every exit needs its reason and RIP
 * (vmexit_dispatch() reads them); the qualification (SDM Vol. 3C 28.2.1)
 * and the instruction length (28.2.4) only some handlers, so each costs a
 * VMREAD only in the exits that ask, once.  Both fields stay valid until
 * the next VM entry: nothing pksvisor does in VMX root changes them.  The
 * cache fields have names of their own so that code reading them
 * directly, without the accessor, does not compile.
 */
#define EXIT_FIELD_QUAL	BIT(0)
#define EXIT_FIELD_LEN	BIT(1)

static inline u64 vcpu_exit_qual(struct vcpu *vcpu)
{
	if (!(vcpu->exit_fields & EXIT_FIELD_QUAL)) {
		vcpu->exit_qual_cached = vmread(VMCS_EXIT_QUALIFICATION);
		vcpu->exit_fields |= EXIT_FIELD_QUAL;
	}
	return vcpu->exit_qual_cached;
}

static inline u32 vcpu_exit_instr_len(struct vcpu *vcpu)
{
	if (!(vcpu->exit_fields & EXIT_FIELD_LEN)) {
		vcpu->exit_len_cached = (u32)vmread(VMCS_EXIT_INSTR_LEN);
		vcpu->exit_fields |= EXIT_FIELD_LEN;
	}
	return vcpu->exit_len_cached;
}

/* Every VMWRITE of the EPTP field goes through here (vcpu->eptp). */
static inline void vcpu_set_eptp(struct vcpu *vcpu, u64 eptp)
{
	vmwrite(VMCS_EPTP, eptp);
	vcpu->eptp = eptp;
}

/*
 * Event injection (vmm/inject.c): queue a hardware exception for the next
 * VM entry; merged with an event already queued (SDM Vol. 3A 6.15).
 */
void vcpu_inject_exception(struct vcpu *vcpu, u8 vector, bool has_error, u32 error);
void vcpu_inject_gp(struct vcpu *vcpu);
void vcpu_inject_ud(struct vcpu *vcpu);

/* Guest CPL from SS.DPL (SDM 25.4.1); inline: every hypercall asks. */
static inline unsigned int vcpu_cpl(void)
{
	return (vmread(VMCS_GUEST_SS_AR) >> 5) & 3;
}

/*
 * Single-stepping (vmm/single_step.c): run the current guest instruction
 * alone, then report 'why' back (pks_step_done(), hidden_access_done(),
 * ...); cancel drops a step begun in this exit.
 */
void vcpu_step_begin(struct vcpu *vcpu, enum step_reason why);
void vcpu_step_cancel(struct vcpu *vcpu);

/*
 * Set exactly: each half exits iff asked.  The CPU reads the bitmap at
 * every RDMSR/WRMSR, so a change made during an exit applies from the next
 * VM entry; nothing to flush (SDM Vol. 3C 25.1.3, 25.6.9).
 */
void msr_bitmap_set(struct vcpu *vcpu, u32 msr, bool read, bool write);

/* Invalidation, all of it (vmm/flush.c). */
/* Drop cached translations of one EPT (a view or the base). */
void ept_flush(struct hv *hv, u64 eptp);
/* Drop cached translations of every EPT (base and views). */
void ept_flush_all(struct hv *hv);
/* The same, done by each vCPU before its next VM entry (this one's too). */
void ept_flush_at_entry(struct hv *hv);
/*
 * This vCPU changed protection state other vCPUs hold in their VMCS or
 * TLB (a locked key, the fault mode; every EPT flush does it itself): they
 * are made to exit and re-sync before it re-enters (vmm/shootdown.c).
 */
void vcpu_shootdown_owe(struct vcpu *vcpu);
/*
 * Hand over an EPT tree no view names any more (vmm/ept_retire.c): its
 * pages go back to the pool once no vCPU can walk it - at once with one
 * vCPU, else after the shootdown this vCPU now owes was acknowledged.
 * False: no room to hold it; the caller keeps it (and keeps it out of
 * every vCPU's reach) and hands it over later.  tree is emptied on true.
 */
bool ept_retire(struct hv *hv, struct ept *tree);
/*
 * The same for one table of leaves a live view gives up (the free_page
 * of ept_merge(), ctx = hv): callers make sure of room first, with
 * ept_retire_room() under pks.lock (only pks.lock holders add entries).
 */
void ept_retire_page(void *hv, u64 pa);
/* Tables that can still be handed over now (every one with one vCPU). */
unsigned int ept_retire_room(struct hv *hv);
/* Drop this vCPU's VPID-tagged guest translations. */
void vcpu_flush_vpid(struct vcpu *vcpu);
/* The same, keeping global translations when the CPU can (a CR3 load). */
void vcpu_flush_vpid_nonglobal(struct vcpu *vcpu);

#endif
