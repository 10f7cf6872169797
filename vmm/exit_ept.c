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
#include <pksvisor/page_pool.h>
#include "vmx.h"

/*
 * Guest-physical space above the boot-time map (hv->phys_limit: RAM
 * rounded up, 512 GiB with 1 GiB EPT pages) is mapped when first touched:
 * a 64-bit PCI BAR can sit anywhere below MAXPHYADDR (servers put them
 * far above RAM), and mapping all of it up front would cost 32 MiB of
 * PDPT pages per EPT at MAXPHYADDR 52.  The region (1 GiB, or 2 MiB
 * without 1 GiB EPT pages) is mapped identity and uncacheable
 * (ept_map_mmio_region(), SDM 29.3.7.2); a region
 * containing pksvisor memory is never mapped here (the reservation is in
 * RAM, below phys_limit, and stays hidden).  4-level EPT translates 48
 * bits (SDM 29.3.2): beyond that nothing can be mapped.
 * Cost: one PDPT page per 512 GiB touched (per EPT: base and each view),
 * or one PD page per GiB without 1 GiB pages.
 */
static bool map_on_demand(struct vcpu *vcpu, u64 gpa)
{
	struct hv *hv = vcpu->hv;
	u64 size = hv->ept.allow_1g ? SZ_1G : SZ_2M;
	u64 start = gpa & ~(size - 1), end = start + size, eptp;
	int level, mapped;

	if (gpa < hv->phys_limit || gpa >> 48)
		return false;
	mapped = pks_current_ept_maps(vcpu, gpa, &eptp);
	if (mapped < 0) {
		/* The view went under this exit: retry on the re-selected one. */
		vcpu->stats.ept_stale++;
		return true;
	}
	/* Mapped in the EPT in use: not a missing mapping. */
	if (mapped)
		return false;
	if (start < hv->pool.base + hv->pool.size && end > hv->pool.base)
		return false;
	spin_lock(&hv->ept_lock);
	if (ept_lookup(&hv->ept, gpa, &level)) {
		/* Already mapped (base): the current view may lack it. */
		spin_unlock(&hv->ept_lock);
	} else {
		int r = ept_map_mmio_region(&hv->ept, gpa, &start, &end);

		spin_unlock(&hv->ept_lock);
		if (r)
			return false;
		vcpu->stats.mmio_mapped++;
		pksv_log("EPT: mapped guest-physical 0x%llx-0x%llx on first access (rip 0x%llx)",
			 start, end - 1, vcpu->guest_rip);
	}
	if (pks_views_map(hv, gpa))
		return false;
	ept_flush(hv, eptp);
	return true;
}

/*
 * The exit happened in a view that was dropped or rebuilt by another vCPU
 * after this vCPU's EPTP list named it (pks_exit_follow() re-selected at
 * the start of this exit): what that tree said decides nothing.  The
 * instruction retries on the view just selected.  Counted as ept_stale.
 */
static bool ept_exit_on_lost_view(struct vcpu *vcpu)
{
	if (vcpu->pks.followed_lost_view != vcpu->stats.exits)
		return false;
	vcpu->stats.ept_stale++;
	return true;
}

void handle_ept_violation(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	u64 gpa = vmread(VMCS_GUEST_PHYS_ADDR);
	u64 q = vcpu_exit_qual(vcpu);

	vcpu->stats.ept_violations++;
	if (ept_exit_on_lost_view(vcpu))
		return;
	if (pool_contains(&hv->pool, gpa)) {
		hidden_refuse(vcpu, gpa, q);
		return;
	}
	if ((gpa >> 48) && (q & EPTQ_LINEAR_VALID)) {
		/*
		 * Above the 48 bits the guest is told it has (CPUID 0x80000008,
		 * vmm/exit_cpuid.c): the guest's translation has reserved bits
		 * set, so the access faults with #PF(P|RSVD) (SDM Vol. 3A 4.7),
		 * as KVM does for a guest MAXPHYADDR below the host's.  The
		 * instruction does not complete: a step in progress is undone.
		 */
		vcpu_step_cancel(vcpu);
		write_cr2(vmread(VMCS_GUEST_LINEAR_ADDR));
		vcpu_inject_exception(vcpu, VEC_PF, true, PFEC_P | PFEC_RSVD |
				      (q & EPTQ_WRITE ? PFEC_W : 0) |
				      (q & EPTQ_FETCH ? PFEC_I : 0) |
				      (vcpu_cpl() == 3 ? PFEC_U : 0));
		return;
	}
	if (map_on_demand(vcpu, gpa))
		return;		/* the access retries on the new mapping */
	if (pks_ept_violation(vcpu, gpa, q))
		return;
	if (gpa >= hv->phys_limit && !(gpa >> 48)) {
		/* On-demand mapping failed (pool exhausted): never a halt. */
		hidden_refuse_unmapped(vcpu, gpa, q);
		return;
	}
	pksv_log("EPT violation: gpa 0x%llx qualification 0x%llx linear 0x%llx",
		 gpa, q, q & EPTQ_LINEAR_VALID ? vmread(VMCS_GUEST_LINEAR_ADDR) : 0);
	vcpu_fatal(vcpu, "EPT violation outside pksvisor memory");
}

void handle_ept_misconfig(struct vcpu *vcpu)
{
	int level = 0;
	u64 gpa = vmread(VMCS_GUEST_PHYS_ADDR);
	u64 *pte;

	if (ept_exit_on_lost_view(vcpu))
		return;
	pte = ept_lookup(&vcpu->hv->ept, gpa, &level);
	pksv_log("EPT misconfiguration: gpa 0x%llx entry 0x%llx level %d",
		 gpa, pte ? *pte : 0, level);
	vcpu_fatal(vcpu, "EPT misconfiguration");
}
