// SPDX-License-Identifier: MIT
/*
 * EPT violations, misconfigurations and monitor-trap-flag exits.
 *
 * pksvisor's own memory is absent from the guest's EPT.  A guest access to
 * it exits here and is refused, the guest continuing (vmm/hidden.c).
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

void handle_ept_violation(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	u64 gpa = vmread(VMCS_GUEST_PHYS_ADDR);
	u64 q = vcpu->exit_qual;

	vcpu->stats.ept_violations++;
	if (pool_contains(&hv->pool, gpa)) {
		hidden_refuse(vcpu, gpa, q);
		return;
	}
	if (pks_ept_violation(vcpu, gpa, q))
		return;
	pksv_log("EPT violation: gpa 0x%llx qualification 0x%llx linear 0x%llx",
		 gpa, q, q & EPTQ_LINEAR_VALID ? vmread(VMCS_GUEST_LINEAR_ADDR) : 0);
	vcpu_fatal(vcpu, "EPT violation outside pksvisor memory");
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
