// SPDX-License-Identifier: MIT
/*
 * EPT violations, misconfigurations and monitor-trap-flag exits.
 *
 * pksvisor's own memory is absent from the guest's EPT.  A guest access to
 * it exits here; pksvisor refuses it by pointing that one guest page at a
 * scratch page filled with 0xff (what a read of nonexistent memory returns
 * on a PC), letting the single instruction complete (vmm/single_step.c), then making
 * the page absent again and refilling the scratch page.  The access is
 * counted, never performed on pksvisor memory, and the guest continues.
 */
#include <pksvisor/format.h>
#include <pksvisor/log.h>
#include "exit.h"
#include "../pks/pks_vmm.h"
#include "memory.h"
#include "vmx.h"

void ept_flush(struct hv *hv, u64 eptp)
{
	/*
	 * Single-context INVEPT for that EPTP when IA32_VMX_EPT_VPID_CAP
	 * offers it, else all-context (SDM 30.3.3.1, A.10); vmx_compute_setup
	 * refused a CPU that offers neither.
	 */
	invept(vmx_invept_type(hv->msrs.ept_vpid_cap, true), eptp);
}

void ept_flush_all(struct hv *hv)
{
	u32 type = vmx_invept_type(hv->msrs.ept_vpid_cap, false);

	if (type) {
		invept(type, 0);
		return;
	}
	/* No all-context type: every EPTP pksvisor uses, one by one. */
	ept_flush(hv, hv->eptp);
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++)
		if (hv->pks.views[i].valid)
			ept_flush(hv, hv->pks.views[i].eptp);
}

static void fill_scratch(struct hv *hv)
{
	pksv_memset((void *)(uintptr_t)hv->scratch_hpa, 0xff, PAGE_SIZE);
}

void handle_ept_violation(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	u64 gpa = vmread(VMCS_GUEST_PHYS_ADDR);
	u64 q = vcpu->exit_qual;

	vcpu->stats.ept_violations++;
	if (pool_contains(&hv->pool, gpa) && !vcpu->hidden_pending) {
		vcpu->stats.hidden_access++;
		pksv_log("refused guest %s of pksvisor memory gpa 0x%llx at rip 0x%llx",
			 q & EPTQ_WRITE ? "write" : q & EPTQ_FETCH ? "fetch" : "read",
			 gpa, vcpu->guest_rip);
		/* The EPT in use may be a PKS view: redirect the page there. */
		vcpu->hidden_ept = pks_current_ept(vcpu, &vcpu->hidden_eptp);
		spin_lock(&hv->ept_lock);
		ept_set_4k(vcpu->hidden_ept, gpa & PAGE_MASK, hv->scratch_hpa,
			   EPT_READ | EPT_WRITE, MTRR_TYPE_WB);
		spin_unlock(&hv->ept_lock);
		ept_flush(hv, vcpu->hidden_eptp);
		vcpu->hidden_pending = true;
		vcpu->hidden_gpa = gpa & PAGE_MASK;
		/*
		 * SDM 28.2.3: when the violation happened while NMIs were
		 * unblocked by IRET, blocking must be set again.
		 */
		if (q & EPTQ_NMI_UNBLOCK)
			vmwrite(VMCS_GUEST_INTERRUPTIBILITY,
				vmread(VMCS_GUEST_INTERRUPTIBILITY) | INTR_BLOCK_NMI);
		vcpu_step_begin(vcpu, STEP_HIDDEN);
		return;
	}
	if (pks_ept_violation(vcpu, gpa, q))
		return;
	pksv_log("EPT violation: gpa 0x%llx qualification 0x%llx linear 0x%llx",
		 gpa, q, q & EPTQ_LINEAR_VALID ? vmread(VMCS_GUEST_LINEAR_ADDR) : 0);
	vcpu_fatal(vcpu, "EPT violation outside pksvisor memory");
}

/* The refused access completed against the scratch page: hide it again. */
void hidden_access_done(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;

	spin_lock(&hv->ept_lock);
	ept_protect_4k(vcpu->hidden_ept, vcpu->hidden_gpa, 0);
	spin_unlock(&hv->ept_lock);
	ept_flush(hv, vcpu->hidden_eptp);
	fill_scratch(hv);
	vcpu->hidden_pending = false;
}

void handle_ept_misconfig(struct vcpu *vcpu)
{
	int level = 0;
	u64 gpa = vmread(VMCS_GUEST_PHYS_ADDR);
	u64 *pte = ept_lookup(&vcpu->hv->ept, gpa, &level);

	pksv_log("EPT misconfiguration: gpa 0x%llx entry 0x%llx level %d",
		 gpa, pte ? *pte : 0, level);
	vcpu_fatal(vcpu, "EPT misconfiguration");
}
