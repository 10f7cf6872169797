// SPDX-License-Identifier: MIT
/*
 * Every invalidation of cached guest translations, in one place: INVEPT
 * for guest-physical and combined (EPT-derived) mappings and INVVPID for
 * linear (VPID-tagged) ones (SDM Vol. 3C 29.4.3).  The types come from
 * IA32_VMX_EPT_VPID_CAP, never assumed (vmx_invept_type(),
 * vmx_invvpid_type(), SDM Vol. 3D A.10).
 *
 * INVEPT acts on the executing CPU only.  So that a change to an EPT
 * shared by several vCPUs reaches all of them, every EPT invalidation
 * also advances the global protection generation (hv->prot_generation);
 * each vCPU compares it with its own before every VM entry and, when
 * older, invalidates every EPTP it may use (vcpu_flush_stale()).  A vCPU
 * running guest code at that moment is made to exit first by the
 * shootdown (vmm/shootdown.c, docs/architecture.md "SMP"); this is its
 * per-vCPU half.
 */
#include "seam.h"
#include "exit.h"
#include "shootdown.h"
#include "vmx.h"

/*
 * A change other vCPUs must see: they invalidate at their next entry, and
 * the vCPU that made it makes that entry come now (vmm/shootdown.c).  One
 * CPU: nothing to shoot, not even the look-up.
 */
static void prot_changed(struct hv *hv)
{
	__atomic_add_fetch(&hv->prot_generation, 1, __ATOMIC_RELEASE);
	if (hv->nr_vcpus > 1)
		shootdown_owe_here(hv);
}

/* Single-context for eptp when offered, else all-context (SDM 30.3.3.1). */
static void invept_one(struct hv *hv, u64 eptp)
{
	invept(vmx_invept_type(hv->msrs.ept_vpid_cap, true), eptp);
}

/* Every EPTP pksvisor uses, on this CPU. */
static void invept_every(struct hv *hv)
{
	u32 type = vmx_invept_type(hv->msrs.ept_vpid_cap, false);

	if (type) {
		invept(type, 0);
		return;
	}
	/* No all-context type: every EPTP pksvisor uses, one by one. */
	invept_one(hv, hv->eptp);
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++)
		if (hv->pks.views[i].valid)
			invept_one(hv, hv->pks.views[i].eptp);
}

void ept_flush(struct hv *hv, u64 eptp)
{
	/* vmx_compute_setup refused a CPU that offers neither INVEPT type. */
	invept_one(hv, eptp);
	prot_changed(hv);
}

void ept_flush_all(struct hv *hv)
{
	invept_every(hv);
	prot_changed(hv);
}

/*
 * Rights were taken away in some EPT: every vCPU, this one included,
 * invalidates every EPTP in vcpu_flush_stale() before its next VM entry.
 * For a change made during an exit that is before the guest runs again,
 * with one INVEPT where ept_flush_all() followed by the entry's own
 * flush costs two.
 */
void ept_flush_at_entry(struct hv *hv)
{
	prot_changed(hv);
}

/*
 * The load (acquire) comes before the INVEPT: an EPT entry changed before
 * the generation moved is in memory when this CPU's TLB refills.  The
 * vCPU that made a change and flushed it itself also sees the generation
 * move and invalidates once more here: one INVEPT per exit that changed
 * an EPT (rare next to exits), the price of not having to know which CPU
 * made which change.
 */
bool vcpu_flush_stale(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	u64 gen = __atomic_load_n(&hv->prot_generation, __ATOMIC_ACQUIRE);

	if (vcpu->prot_generation == gen)
		return false;
	invept_every(hv);
	vcpu->prot_generation = gen;
	return true;
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
