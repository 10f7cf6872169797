/* SPDX-License-Identifier: MIT */
/*
 * PKS virtualization inside pksvisor (docs/pks.md): the backend chosen at
 * boot, IA32_PKRS per vCPU, CR4.PKS, the soft backend's EPT views, and the
 * pkey-fault modes.  Pure PKS rules live in include/pksvisor/pks.h.
 */
#ifndef PKSVISOR_PKS_VMM_H
#define PKSVISOR_PKS_VMM_H

#include <pksvisor/pks.h>
#include "../vmm/seam.h"

struct guest_walk;

/* Boot: pick the backend (0, or -1 with err) and prepare global state. */
int pks_init(struct hv *hv, char *err, size_t errlen);
/* Per-vCPU PKS memory (the soft backend's EPTP list): 0, or -1 out of pool. */
int pks_vcpu_init(struct vcpu *vcpu);
/* VMCS additions for this vCPU (controls, MSR intercepts, guest PKRS). */
void pks_vmcs_setup(struct vcpu *vcpu);

/* What the guest sees */
bool pks_exposed(const struct hv *hv);
u64 pks_cr4_allowed(const struct hv *hv);		/* extra CR4 bits the guest may set */
u64 pks_cr4_real(const struct vcpu *vcpu, u64 guest_cr4);	/* real CR4 for a guest value */
void pks_cr_changed(struct vcpu *vcpu);			/* CR0.WP / CR4.PKS written */
bool pks_rdmsr(struct vcpu *vcpu, u64 *value);		/* false: #GP */
bool pks_wrmsr(struct vcpu *vcpu, u64 value);		/* false: #GP */
void pks_init_signal(struct vcpu *vcpu);		/* INIT: PKRS preserved */

/* Exits */
bool pks_ept_violation(struct vcpu *vcpu, u64 gpa, u64 qual);	/* handled? */
bool pks_page_fault(struct vcpu *vcpu);			/* #PF exit (hw: PK; soft: supervisor write) */
void pks_cr3_load(struct vcpu *vcpu, u64 value);		/* soft discovery */
void pks_step_done(struct vcpu *vcpu, unsigned int why);	/* STEP_* bits */
u32 pksv_features(const struct hv *hv);
void pks_exit_follow(struct vcpu *vcpu, u64 eptp);	/* soft: a VMFUNC switch (views.c) */
void pks_entry_fix(struct vcpu *vcpu);			/* soft: re-select, refresh the list */
void pks_hw_exit_sync_slow(struct vcpu *vcpu, u32 basic);	/* hw: PKRS written without exit */
void pks_remote_sync(struct vcpu *vcpu);		/* another vCPU changed shared state */

/*
 * At every exit, before any handler: follow a VMFUNC view switch (soft
 * backend with EPTP switching).  The VMCS EPTP field is the only witness
 * of a switch made without an exit (SDM Vol. 3C 26.5.6.3), so it is read
 * here - and remembered (vcpu->eptp) so that nothing else this exit
 * reads it again.  The common exit (no switch, view still valid) ends
 * after a compare.
 */
static inline void pks_exit_sync(struct vcpu *vcpu)
{
	const struct pks_global *pks = &vcpu->hv->pks;
	const struct pks_view *v;
	u64 eptp;

	if (pks->backend != PKS_BACKEND_SOFT || !pks->vmfunc)
		return;
	eptp = vmread(VMCS_EPTP);
	vcpu->eptp = eptp;
	v = &pks->views[vcpu->pks.view];
	if (!v->valid || eptp != v->eptp)
		pks_exit_follow(vcpu, eptp);
}

/*
 * hw backend with IA32_PKRS passed through: the guest may have written
 * it without an exit (pks/hw_pkrs.c).  Nothing for the other backends.
 */
static inline void pks_hw_exit_sync(struct vcpu *vcpu, u32 basic)
{
	if (vcpu->hv->pks.backend == PKS_BACKEND_HW)
		pks_hw_exit_sync_slow(vcpu, basic);
}

/*
 * Did another vCPU change a global input of this vCPU's enforced PKRS
 * since it was applied (pks_vcpu.applied_*)?  Racy reads of single words
 * on purpose: the writer changes them under pks.lock and then either the
 * vCPU is in VMX root and sees them before its next entry, or it is
 * forced out (shootdown) and sees them at that exit.  hw: locks and mode;
 * soft also the keymap/table generation its view reflects.
 */
static inline bool pks_hw_inputs_moved(const struct vcpu *vcpu)
{
	const struct pks_global *pks = &vcpu->hv->pks;

	return vcpu->pks.applied_lock_bits != __atomic_load_n(&pks->lock_bits, __ATOMIC_RELAXED) ||
	       vcpu->pks.applied_mode != __atomic_load_n(&pks->mode, __ATOMIC_RELAXED);
}

static inline bool pks_inputs_moved(const struct vcpu *vcpu)
{
	return vcpu->pks.applied_generation !=
	       __atomic_load_n(&vcpu->hv->pks.generation, __ATOMIC_RELAXED) ||
	       pks_hw_inputs_moved(vcpu);
}

/*
 * Before every VM entry (soft backend): the vCPU runs on a valid view that
 * is still the build it chose (pks_vcpu.view_seq: a slot another vCPU
 * rebuilt may have the same EPTP), built from the current global inputs
 * (pks_inputs_moved()), the VMCS EPTP is that view's, its EPTP list
 * is current, and no selection is still waiting for a view (view_wanted);
 * else pks_entry_fix() re-selects (pks/views.c).  Compares
 * only: the EPTP is vcpu->eptp, written through by every VMWRITE of it.
 */
static inline void pks_entry_check(struct vcpu *vcpu)
{
	const struct pks_global *pks = &vcpu->hv->pks;
	const struct pks_view *v = &pks->views[vcpu->pks.view];

	if (pks->backend != PKS_BACKEND_SOFT)
		return;
	if (!v->valid || vcpu->eptp != v->eptp || v->build_seq != vcpu->pks.view_seq ||
	    vcpu->pks.view_wanted || pks_inputs_moved(vcpu) ||
	    (pks->vmfunc && vcpu->pks.list_generation !=
	     __atomic_load_n(&pks->list_generation, __ATOMIC_ACQUIRE)))
		pks_entry_fix(vcpu);
}

/* Hypercalls */
s64 pks_hc_range(struct vcpu *vcpu, u64 gpa, u64 len, u64 key, bool add);
s64 pks_hc_set_mode(struct vcpu *vcpu, u64 mode);
s64 pks_hc_unprotect(struct vcpu *vcpu, u64 gfn, u64 access);
s64 pks_hc_protect(struct vcpu *vcpu, u64 gfn);
s64 pks_hc_grant(struct vcpu *vcpu, u64 key, u64 access);
s64 pks_hc_revoke(struct vcpu *vcpu, u64 key);
s64 pks_hc_lock_key(struct vcpu *vcpu, u64 key);
s64 pks_hc_view_index(struct vcpu *vcpu, u64 pkrs, u64 *index);
s64 pks_hc_pv_ranges(struct vcpu *vcpu, u64 flags);

/*
 * Write into a guest buffer of len bytes at gpa (pks/guest_buffer.c):
 * refused unless it is one unkeyed page of guest RAM outside pksvisor;
 * -PKSV_ENOSPC when need > len.  fill runs under the PKS lock.
 */
s64 pks_guest_buffer_write(struct hv *hv, u64 gpa, u64 len, u64 need,
			   void (*fill)(void *dst, u64 len, void *ctx), void *ctx);

/* Map gpa's MMIO region into every view as well (ept_map_mmio_region()). */
int pks_views_map(struct hv *hv, u64 gpa);
/* Hidden-page redirects in the EPT the vCPU runs on (pks/views_map.c). */
int pks_hidden_redirect(struct vcpu *vcpu, u64 gpa, u64 hpa, bool first, u64 *eptp);
u64 pks_hidden_restore(struct vcpu *vcpu, const u64 *gpa, unsigned int n);

const char *pks_backend_str(const struct hv *hv);
int pks_current_ept_maps(struct vcpu *vcpu, u64 gpa, u64 *eptp);

#endif
