// SPDX-License-Identifier: MIT
/*
 * Every invalidation of cached guest translations, in one place: INVEPT
 * for guest-physical (EPT-derived) mappings and INVVPID for linear
 * (VPID-tagged) ones (SDM Vol. 3C 29.4.3).  The types come from
 * IA32_VMX_EPT_VPID_CAP, never assumed (vmx_invept_type(),
 * vmx_invvpid_type(), SDM Vol. 3D A.10).  A multi-CPU shootdown will
 * reach the other CPUs from here and nowhere else.
 */
#include "seam.h"
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

/* INVVPID type from IA32_VMX_EPT_VPID_CAP (SDM 30.3.3.3, A.10). */
static void flush_vpid(struct vcpu *vcpu, bool keep_globals)
{
	if (vcpu->hv->vmx.has_vpid)
		invvpid(vmx_invvpid_type(vcpu->hv->msrs.ept_vpid_cap, keep_globals),
			vcpu_vpid(vcpu));
}

void vcpu_flush_vpid(struct vcpu *vcpu)
{
	flush_vpid(vcpu, false);
}

void vcpu_flush_vpid_nonglobal(struct vcpu *vcpu)
{
	flush_vpid(vcpu, true);
}
