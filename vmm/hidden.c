// SPDX-License-Identifier: MIT
/*
 * Guest accesses to pksvisor's reservation: refused, counted, and the guest
 * continues - never vcpu_fatal (docs/memory-layout.md, docs/threat-model.md).
 *
 * The reservation has no rights in the base EPT or in any PKS view
 * (pks/view_perms.c), so every access exits here (EPT violation, SDM Vol. 3C
 * 29.3.3.2):
 *  - a data read or write: the page is pointed at a scratch page filled
 *    with 0xff (what a read of nonexistent memory returns on a PC), the one
 *    instruction completes against it (vmm/single_step.c), then the page is
 *    made absent again and the scratch page refilled: reads give all-ones,
 *    writes are dropped.  One instruction may touch several reserved pages
 *    (an access straddling two of them, a MOVS from one to another, a
 *    gather with an element on each): up to HIDDEN_MAX_PAGES (16) are
 *    redirected for the same step;
 *  - an instruction fetch: #UD at the fetching instruction.  Executing the
 *    all-ones bytes of absent memory would decode FF FF (group 5, /7: no
 *    such instruction) and raise #UD too, so this is what the guest would
 *    see with nothing there; mapping the scratch page executable instead
 *    would let the guest run whatever a previous write left in it;
 *  - more than HIDDEN_MAX_PAGES reserved pages in one instruction (an
 *    AVX-512 gather of 16 page-straddling elements): the instruction is
 *    abandoned with #GP(0) (documented degraded result; recycling as the
 *    PKS overrides do would livelock an instruction that restarts from
 *    scratch, such as an event delivery touching IDT, GDT, TSS and stack
 *    all straddling reserved pages).
 */
#include <pksvisor/format.h>
#include <pksvisor/log.h>
#include "exit.h"
#include "../pks/pks_vmm.h"
#include <pksvisor/page_pool.h>
#include "vmx.h"

/* Log the first few refusals; the counter keeps the rest. */
#define HIDDEN_LOG_LIMIT	8

static void fill_scratch(struct hv *hv)
{
	pksv_memset((void *)(uintptr_t)hv->scratch_hpa, 0xff, PAGE_SIZE);
}

/* The refused access completed (or was abandoned): hide every page again. */
void hidden_access_done(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	u64 eptp = pks_hidden_restore(vcpu, vcpu->hidden_gpa, vcpu->hidden_nr);

	/* 0: the view was rebuilt meanwhile, without the redirects. */
	if (eptp)
		ept_flush(hv, eptp);
	fill_scratch(hv);
	vcpu->hidden_nr = 0;
	vcpu->hidden_pending = false;
}

/* The instruction will not complete: undo its redirections and any step. */
static void hidden_abandon(struct vcpu *vcpu)
{
	/*
	 * Ending the step completes every reason it holds, the PKS ones
	 * included (single_step.c step_done); a redirect made while no step
	 * was armed yet is undone here.
	 */
	vcpu_step_cancel(vcpu);
	if (vcpu->hidden_pending)
		hidden_access_done(vcpu);
}

static void refuse_page(struct vcpu *vcpu, u64 gpa, u64 q, const char *whose)
{
	struct hv *hv = vcpu->hv;
	const char *what = q & EPTQ_FETCH ? "fetch" : q & EPTQ_WRITE ? "write" : "read";
	u64 eptp;

	gpa &= PAGE_MASK;
	vcpu->stats.hidden_access++;
	if (vcpu->stats.hidden_access <= HIDDEN_LOG_LIMIT)
		pksv_log("refused guest %s of %s gpa 0x%llx at rip 0x%llx%s",
			 what, whose, gpa, vcpu->guest_rip,
			 vcpu->stats.hidden_access == HIDDEN_LOG_LIMIT ?
			 " (further refusals only counted)" : "");
	if (q & EPTQ_FETCH) {
		hidden_abandon(vcpu);
		vcpu_inject_ud(vcpu);
		return;
	}
	for (unsigned int i = 0; i < vcpu->hidden_nr; i++)
		if (vcpu->hidden_gpa[i] == gpa)
			goto abandon;	/* redirected already, yet it faulted */
	if (vcpu->hidden_nr == HIDDEN_MAX_PAGES)
		goto abandon;
	/*
	 * The EPT in use may be a PKS view: redirect the page there, under
	 * the lock that guards that EPT (pks/views_map.c).
	 */
	if (pks_hidden_redirect(vcpu, gpa, hv->scratch_hpa, !vcpu->hidden_pending, &eptp))
		goto abandon;
	ept_flush(hv, eptp);
	vcpu->hidden_gpa[vcpu->hidden_nr++] = gpa;
	vcpu->hidden_pending = true;
	/*
	 * SDM 28.2.3: when the violation happened while NMIs were unblocked
	 * by IRET, blocking must be set again before the IRET is re-executed.
	 */
	if (q & EPTQ_NMI_UNBLOCK)
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY,
			vmread(VMCS_GUEST_INTERRUPTIBILITY) | INTR_BLOCK_NMI);
	/*
	 * A step already running (a PKS override, a second page) covers it.
	 * The instruction has not completed, so no single-step trap is due
	 * (the TF trap follows completion, SDM Vol. 3B 18.3.1.4); Bochs 2.7
	 * nevertheless saves BS in the pending debug exceptions at this
	 * fault-like exit, which would end the step before the retry.
	 */
	if (vcpu->step == STEP_NONE)
		vcpu_step_begin(vcpu, STEP_HIDDEN);
	else if (vcpu->mtf_state != MTF_WORKS)
		vmwrite(VMCS_GUEST_PENDING_DBG, vmread(VMCS_GUEST_PENDING_DBG) & ~BIT(14));
	return;
abandon:
	pksv_log("refused guest %s of pksvisor memory gpa 0x%llx at rip 0x%llx: instruction abandoned with #GP(0)",
		 what, gpa, vcpu->guest_rip);
	hidden_abandon(vcpu);
	vcpu_inject_gp(vcpu);
}

void hidden_refuse(struct vcpu *vcpu, u64 gpa, u64 q)
{
	refuse_page(vcpu, gpa, q, "pksvisor memory");
}

/*
 * Guest-physical space above the boot-time map that could not be mapped
 * on demand (the page pool is exhausted: each 512 GiB touched costs a
 * table page per EPT, and a guest can touch many): answered as nothing
 * there, like the reservation - reads all-ones, writes dropped, a fetch
 * #UD, counted with hidden_access - instead of halting.
 */
void hidden_refuse_unmapped(struct vcpu *vcpu, u64 gpa, u64 q)
{
	refuse_page(vcpu, gpa, q, "unmappable guest-physical space");
}
