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
void pks_exit_sync(struct vcpu *vcpu);			/* VMFUNC switches */
void pks_entry_check(struct vcpu *vcpu);		/* never enter on a freed view */
void pks_hw_exit_sync(struct vcpu *vcpu, u32 basic);		/* hw: PKRS written without exit */
void pks_remote_sync(struct vcpu *vcpu);		/* another vCPU changed shared state */

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

const char *pks_backend_str(const struct hv *hv);
struct ept *pks_current_ept(struct vcpu *vcpu, u64 *eptp);

#endif
