// SPDX-License-Identifier: MIT
/*
 * PKS as the guest sees it, identical for both backends:
 *  - CPUID.(7,0):ECX[31] set (vmm/exit_cpuid.c asks pks_exposed());
 *  - CR4.PKS (bit 24) settable and read back: always in the CR4 guest/host
 *    mask, the guest's value lives in the read shadow, and the real CR4
 *    gets the bit only with hardware PKS;
 *  - IA32_PKRS (0x6e1) per vCPU: reads return what the guest wrote, writes
 *    with bits 63:32 set get #GP and change nothing; preserved across INIT.
 * The hw backend lets the CPU enforce the value through the VMCS guest
 * IA32_PKRS field (loaded on entry, saved on exit: SDM 25.4.1, 25.7.1,
 * 25.8.1); the soft backend enforces it with EPT views (pks/views.c).
 */
#include <pksvisor/format.h>
#include <pksvisor/hypercall.h>
#include <pksvisor/log.h>
#include <pksvisor/pk_decide.h>
#include "../vmm/seam.h"
#include "pks_internal.h"

int pks_init(struct hv *hv, char *err, size_t errlen)
{
	struct pks_global *pks = &hv->pks;
	int backend = pks_select_backend(hv->cfg.pks, hv->msrs.cpuid_pks,
					 hv->vmx.has_pks_controls, true, err, errlen);

	if (backend < 0)
		return -1;
	pks->backend = backend;
	pks->mode = hv->cfg.pks_mode;
	pks->guest_mode = pks->mode;
	keymap_init(&pks->keymap);
	unprotect_init(&pks->unprotect);
	pks->discovery = true;
	pks->generation = 1;
	if (backend == PKS_BACKEND_SOFT) {
		/* WP decides which writes WD blocks: the views must see it. */
		hv->vmx.cr0_mask |= CR0_WP;
		if (views_init(hv))
			return -1;
	}
	return 0;
}

const char *pks_backend_str(const struct hv *hv)
{
	return pks_backend_name(hv->pks.backend);
}

u32 pksv_features(const struct hv *hv)
{
	u32 f = PKSV_FEAT_STATS | PKSV_FEAT_GET_STATS;

	if (hv->pks.backend != PKS_BACKEND_NONE)
		f |= PKSV_FEAT_UNPROTECT | PKSV_FEAT_PV_RANGES |
		     PKSV_FEAT_GUEST_POLICY;
	if (hv->pks.backend == PKS_BACKEND_HW)
		f |= PKSV_FEAT_PKS | PKSV_FEAT_PKS_HW;
	if (hv->pks.backend == PKS_BACKEND_SOFT) {
		f |= PKSV_FEAT_PKS | PKSV_FEAT_PKS_SOFT;
		if (hv->pks.vmfunc)
			f |= PKSV_FEAT_VMFUNC_VIEWS;
	}
	return f;
}

bool pks_exposed(const struct hv *hv)
{
	return hv->pks.backend != PKS_BACKEND_NONE;
}

u64 pks_cr4_allowed(const struct hv *hv)
{
	return pks_exposed(hv) ? CR4_PKS : 0;
}

u64 pks_cr4_real(const struct vcpu *vcpu, u64 guest_cr4)
{
	/* The real CR4 never gets a bit the CPU lacks (soft, none). */
	if (vcpu->hv->pks.backend == PKS_BACKEND_HW)
		return guest_cr4 & CR4_PKS;
	return 0;
}

/* Make the enforced PKRS follow vcpu->pks.pkrs / pkrs_open / mode / CRs. */
void pks_apply(struct vcpu *vcpu)
{
	const struct pks_global *pks = &vcpu->hv->pks;

	switch (pks->backend) {
	case PKS_BACKEND_HW:
		/* Recorded first: a change after this read re-applies. */
		vcpu->pks.applied_lock_bits = __atomic_load_n(&pks->lock_bits, __ATOMIC_RELAXED);
		vcpu->pks.applied_mode = __atomic_load_n(&pks->mode, __ATOMIC_RELAXED);
		vmwrite(VMCS_GUEST_PKRS, pks_effective_pkrs(vcpu));
		pks_hw_pkrs_update(vcpu);	/* pass-through when nothing needs the exit */
		break;
	case PKS_BACKEND_SOFT:
		views_select(vcpu);
		break;
	}
}

int pks_vcpu_init(struct vcpu *vcpu)
{
	if (vcpu->hv->pks.backend == PKS_BACKEND_SOFT)
		return views_vcpu_init(vcpu);
	return 0;
}

void pks_vmcs_setup(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;

	vcpu->pks.pkrs = 0;		/* 0 at reset */
	switch (hv->pks.backend) {
	case PKS_BACKEND_HW:
		vmwrite(VMCS_GUEST_PKRS, 0);
		/* vmcs.c intercepts PKRS; let it through if the mode allows. */
		vcpu->pks.pkrs_passthrough = false;
		pks_hw_pkrs_update(vcpu);
		/*
		 * PK faults exit so that the modes and the unprotect table
		 * apply: #PF in the exception bitmap, filtered by the error
		 * code's PK bit (SDM 25.6.3: exit iff (PFEC & MASK) == MATCH).
		 */
		vmwrite(VMCS_EXCEPTION_BITMAP, vmread(VMCS_EXCEPTION_BITMAP) | BIT(VEC_PF));
		vmwrite(VMCS_PF_ERROR_MASK, PFEC_PK);
		vmwrite(VMCS_PF_ERROR_MATCH, PFEC_PK);
		break;
	case PKS_BACKEND_SOFT:
		vcpu->pks.view = 0;
		vcpu->pks.cr3_exiting = false;	/* vmcs.c wrote the controls without it */
		views_vmcs_setup(vcpu);
		/*
		 * A CPU without PKS raises a supervisor write fault on a
		 * read-only page with PFEC.PK clear even when the page's key
		 * denies the write too; SDM Vol. 3A 4.7 sets PK then.  Such
		 * faults exit (present, write, supervisor, not reserved, not a
		 * fetch: (PFEC & 0x1f) == 0x3, SDM 25.6.3) so that
		 * soft_page_fault() can add the bit.
		 */
		vmwrite(VMCS_EXCEPTION_BITMAP, vmread(VMCS_EXCEPTION_BITMAP) | BIT(VEC_PF));
		vmwrite(VMCS_PF_ERROR_MASK, PFEC_P | PFEC_W | PFEC_U | PFEC_RSVD | PFEC_I);
		vmwrite(VMCS_PF_ERROR_MATCH, PFEC_P | PFEC_W);
		break;
	}
}

void pks_cr_changed(struct vcpu *vcpu)
{
	if (vcpu->hv->pks.backend == PKS_BACKEND_SOFT)
		views_cr_changed(vcpu);
}

bool pks_rdmsr(struct vcpu *vcpu, u64 *value)
{
	if (!pks_exposed(vcpu->hv))
		return false;
	*value = vcpu->pks.pkrs;
	return true;
}

bool pks_wrmsr(struct vcpu *vcpu, u64 value)
{
	/* pks_exposed() and pks_pkrs_valid(), inline: the hot exit. */
	if (vcpu->hv->pks.backend == PKS_BACKEND_NONE || !pks_pkrs_valid(value))
		return false;
	vcpu->stats.pkrs_writes++;
	vcpu->pks.pkrs = value;
	/* RELAXED/SILENT openings and grants end with the context. */
	vcpu->pks.pkrs_open = 0;
	vcpu->pks.pkrs_grant = 0;
	if (vcpu->hv->pks.backend == PKS_BACKEND_SOFT) {
		vcpu->stats.view_switch_exit++;
		views_select(vcpu);	/* pks_apply() for soft, without the switch */
		return true;
	}
	pks_apply(vcpu);
	return true;
}

void pks_init_signal(struct vcpu *vcpu)
{
	/* IA32_PKRS survives INIT (SDM Vol. 3A Table 10-1); CR4 does not. */
	vcpu->pks.pkrs_open = 0;
	vcpu->pks.pkrs_grant = 0;
	pks_apply(vcpu);
}

/*
 * Remember (guest RIP, key) pairs already reported in RELAXED mode.  A
 * small bounded table: past it pksvisor stays quiet rather than flood the
 * console.
 */
static bool warn_once(struct pks_global *pks, u64 rip, unsigned int key)
{
	bool first = true;

	spin_lock(&pks->lock);
	for (unsigned int i = 0; i < pks->nr_warned; i++)
		if (pks->warned[i].rip == rip && pks->warned[i].key == key)
			first = false;
	if (first && pks->nr_warned < PKS_WARN_SLOTS) {
		pks->warned[pks->nr_warned].rip = rip;
		pks->warned[pks->nr_warned].key = key;
		pks->nr_warned++;
	} else if (first) {
		first = false;
	}
	spin_unlock(&pks->lock);
	return first;
}

/*
 * A PK fault the guest's PKRS causes: decide by mode (docs/pks.md).
 * Returns true when the access may continue (key opened for this vCPU
 * until its next PKRS write), false when the #PF must be delivered.
 */
bool pks_fault_policy(struct vcpu *vcpu, u64 gla, unsigned int key, bool write)
{
	struct pks_global *pks = &vcpu->hv->pks;

	if (!pk_mode_opens(pks->mode, pks->lock_bits & PKRS_KEY_MASK(key))) {
		vcpu->stats.pk_fault_injected++;
		return false;	/* strict, or a locked key: never opened by a fault */
	}
	if (pks->mode == PKSV_MODE_RELAXED && warn_once(pks, vcpu->guest_rip, key))
		pksv_log("PKS: %s of 0x%llx with key %u at rip 0x%llx: relaxed mode, key opened until the next PKRS write",
			 write ? "write" : "read", gla, key, vcpu->guest_rip);
	vcpu->pks.pkrs_open |= PKRS_KEY_MASK(key);
	vcpu->stats.pk_fault_unprotected++;
	pks_apply(vcpu);
	return true;
}

void pks_inject_pf(struct vcpu *vcpu, u64 gla, u32 error_code)
{
	/* CR2 is not touched by VM exits or entries: set it here (SDM 27.1). */
	write_cr2(gla);
	vcpu_inject_exception(vcpu, VEC_PF, true, error_code);
}

/*
 * soft backend: a supervisor write #PF on a present page (the R/W rule)
 * exited.  Deliver it with PFEC.PK added when the page's key denies the
 * write as well, as a CPU with PKS would report it (SDM Vol. 3A 4.7).
 */
static void soft_page_fault(struct vcpu *vcpu, u64 gla, u32 ec)
{
	struct pks_access a = { 0 };
	struct guest_walk w;

	if (guest_walk_current(vcpu, gla, &w) == 0) {
		a.write = true;
		a.supervisor_page = w.supervisor;
		a.key = w.key;
		a.cr4_pks = vcpu->cr4_shadow & CR4_PKS;
		a.cr0_wp = vcpu->cr0_shadow & CR0_WP;
		a.long_paging = vcpu->efer & EFER_LMA;
		a.pkrs = pks_effective_pkrs(vcpu);
		if (pks_denies(&a))
			ec |= PFEC_PK;
	}
	pks_inject_pf(vcpu, gla, ec);
}

/*
 * A #PF exited through the exception bitmap and the PFEC filter: soft,
 * supervisor writes to present pages (above); hw, every fault with
 * PFEC.PK.  PKU faults (user pages, PKRU) and PK faults of CPL3 accesses
 * exit too: pks_hw_fault_is_pkrs() and hw_pf_decide() tell them apart and
 * deliver them unchanged in every mode (docs/pks.md, threat model).
 */
bool pks_page_fault(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	u64 gla = vcpu_exit_qual(vcpu);	/* #PF exits put the linear address here */
	u32 ec = vmread(VMCS_EXIT_INTR_ERROR);
	struct guest_walk w;
	bool unprotected = false;
	int walk;

	if (hv->pks.backend == PKS_BACKEND_SOFT) {
		soft_page_fault(vcpu, gla, ec);
		return true;
	}
	if (hv->pks.backend != PKS_BACKEND_HW || !(ec & PFEC_PK))
		return false;
	walk = guest_walk_current(vcpu, gla, &w);
	/* PKRU faults and CPL3 accesses: the guest's own, delivered unchanged. */
	if (!pks_hw_fault_is_pkrs(ec, walk == 0, walk == 0 && w.supervisor)) {
		if (walk == 0 && !w.supervisor)
			vcpu->stats.pku_reinjected++;
		pks_inject_pf(vcpu, gla, ec);
		return true;
	}
	if (w.key)
		unprotected = unprotect_allows(hv, w.gpa, ec & PFEC_W);
	switch (hw_pf_decide(walk, &w, unprotected, hv->pks.mode,
			     hv->pks.lock_bits & PKRS_KEY_MASK(w.key))) {
	case HW_PF_REINJECT:
		break;
	case HW_PF_UNPROTECTED:
		/* A globally unprotected page: let this one access through. */
		vcpu->stats.pk_fault_table++;
		vmwrite(VMCS_GUEST_PKRS, hw_pf_step_pkrs(pks_effective_pkrs(vcpu), w.key,
							 ec & PFEC_W));
		vcpu_step_begin(vcpu, STEP_PKS_HW);
		return true;
	case HW_PF_OPEN_KEY:
	case HW_PF_INJECT:
		if (pks_fault_policy(vcpu, gla, w.key, ec & PFEC_W))
			return true;	/* retried with the key open */
		break;
	}
	pks_inject_pf(vcpu, gla, ec);
	return true;
}

/*
 * SET_MODE: mode in bits 7:0, PKSV_MODE_GUEST_POLICY in bit 8, the rest
 * reserved.  With the flag the guest has a fault policy of its own (the
 * Linux series' pks_mode=): pksvisor records the guest's mode for GET_MODE
 * and acts as STRICT, so every PK fault reaches the guest's handler, which
 * decides (a pksvisor-side pardon would open the key for the whole vCPU
 * until the next PKRS write, behind the guest's back).  The guest's OFF
 * (it clears CR4.PKS itself) is pksvisor's OFF: only locked keys stay
 * enforced.  Without the flag: ABI 1.0 behaviour, pksvisor's own policy.
 */
s64 pks_hc_set_mode(struct vcpu *vcpu, u64 arg)
{
	struct pks_global *pks = &vcpu->hv->pks;
	u64 mode = arg & ~(u64)PKSV_MODE_GUEST_POLICY;
	bool policy = arg & PKSV_MODE_GUEST_POLICY;
	bool announce;

	if (mode > PKSV_MODE_OFF)
		return -PKSV_EINVAL;
	if (!pks_exposed(vcpu->hv))
		return -PKSV_ENOTSUP;
	spin_lock(&pks->lock);
	announce = !policy || !pks->guest_policy;
	pks->guest_mode = (int)mode;
	pks->guest_policy = policy;
	pks->mode = policy && mode != PKSV_MODE_OFF ? PKSV_MODE_STRICT : (int)mode;
	spin_unlock(&pks->lock);
	/*
	 * A guest with its own policy reports its mode changes itself and may
	 * switch often (its tests do): only the first declaration is logged,
	 * so pksvisor's lines do not cut into the guest's console output.
	 */
	if (announce)
		pksv_log("PKS: fault mode set to %s by hypercall%s", config_mode_name((int)mode),
			 policy ? " (guest policy: every PK fault injected)" : "");
	pks_apply(vcpu);
	/* The mode is global: every other vCPU re-syncs before we go on. */
	vcpu_shootdown_owe(vcpu);
	return 0;
}
