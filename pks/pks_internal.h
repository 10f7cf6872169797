/* SPDX-License-Identifier: MIT */
/* Shared between the files of pks/ only. */
#ifndef PKSVISOR_PKS_INTERNAL_H
#define PKSVISOR_PKS_INTERNAL_H

#include <pksvisor/hypercall.h>
#include "pks_vmm.h"

/*
 * What the hardware or the views enforce: the guest's value minus what
 * RELAXED/SILENT opened; in mode OFF only the locked keys.  No mode opens
 * a locked key (docs/hypercalls.md, LOCK_KEY): a kernel write gadget that
 * can reach VMCALL could otherwise undo every lock with SET_MODE(OFF).
 * Inline: every PKRS write computes it.
 */
static inline u32 pks_effective_pkrs(const struct vcpu *vcpu)
{
	const struct pks_global *pks = &vcpu->hv->pks;
	u32 eff;

	if (pks->mode == PKSV_MODE_OFF)
		return pks->lock_bits & ~vcpu->pks.pkrs_grant;
	/*
	 * Locked keys stay closed whatever the guest writes (a write gadget
	 * that reaches WRMSR cannot open them); only GRANT opens them, and
	 * RELAXED/SILENT never do.
	 */
	eff = (u32)vcpu->pks.pkrs | pks->lock_bits;
	eff &= ~(vcpu->pks.pkrs_open & ~pks->lock_bits);
	return eff & ~vcpu->pks.pkrs_grant;
}

void pks_apply(struct vcpu *vcpu);
bool pks_fault_policy(struct vcpu *vcpu, u64 gla, unsigned int key, bool write);
void pks_inject_pf(struct vcpu *vcpu, u64 gla, u32 error_code);
int guest_walk_current(struct vcpu *vcpu, u64 gla, struct guest_walk *w);

/* pks/views.c */
int views_init(struct hv *hv);
int views_vcpu_init(struct vcpu *vcpu);
void views_vmcs_setup(struct vcpu *vcpu);
void views_list_refresh(struct vcpu *vcpu);
void views_select(struct vcpu *vcpu);
void views_cr_changed(struct vcpu *vcpu);
void views_invalidate(struct hv *hv);
void views_drop(struct hv *hv, unsigned int slot);

/*
 * pks/view_perms.c: every view permission and EPTP-list entry comes from
 * here (host unit tested).  An EPTP-list entry that is not a pinned view
 * holds EPTP_LIST_INVALID: memory type 2 (reserved) and page-walk length 1,
 * so VMFUNC 0 to it fails the EPTP checks and exits (SDM 26.5.6.3).
 */
#define EPTP_LIST_INVALID	0x2ull
/* pksvisor's reservation (the page pool): no right in any view, ever. */
static inline bool view_gpa_hidden(const struct hv *hv, u64 gpa)
{
	return gpa >= hv->pool.base && gpa - hv->pool.base < hv->pool.size;
}

bool views_is_table(struct hv *hv, u64 gpa);
u64 view_page_perms(struct hv *hv, const struct pks_view *v, u64 gpa);
/* The view-independent inputs of view_page_perms(), for one page. */
struct view_page_facts {
	u64 rights;		/* base EPT rights (0: hidden or unmapped) */
	u16 keys;		/* keys 1-15 its supervisor mappings carry */
	unsigned int access;	/* PKSV_ACCESS_* from the unprotect table */
	bool table;		/* a write-protected guest page table */
};
void view_page_facts(struct hv *hv, u64 gpa, struct view_page_facts *f);
#define VIEW_ACCESS_LOOKUP	0xffffffffu	/* look the unprotect table up */
void view_page_facts_known(struct hv *hv, u64 gpa, unsigned int access,
			   struct view_page_facts *f);
/*
 * An AD page is execute-only (fetches are never PKS-checked), which needs
 * execute-only EPT support (IA32_VMX_EPT_VPID_CAP[0], SDM 29.3.3.1);
 * without it the page is not present and the rare fetch exits and is let
 * through like any other allowed access.
 */
static inline u64 effective_view_perms(const struct hv *hv, u64 perms)
{
	if (perms == EPT_EXEC && !(hv->msrs.ept_vpid_cap & BIT(0)))
		return 0;
	return perms;
}

/*
 * A page's rights in a view, split in what depends on the view and what
 * does not (part of view_perms.c's rules, inline because UNPROTECT and
 * PROTECT apply them to every built view in one loop):
 *
 *   rights = effective(((kp & and_mask) | or_bits))
 *
 * where kp is what the view's PKRS leaves the page's keys (the AND of
 * v->key_perms[] over them; all rights for a page without a key), and
 * and_mask / or_bits come from the facts alone: base rights, minus write
 * on a tracked table; an unprotected page gets its base rights back
 * (READ|WRITE) or its read and execute rights (READ).
 */
struct view_page_rule {
	u64 and_mask;
	u64 or_bits;
};

static inline void view_facts_rule(const struct view_page_facts *f,
				   struct view_page_rule *r)
{
	u64 keep = f->table ? f->rights & ~EPT_WRITE : f->rights;

	if (f->access & PKSV_ACCESS_WRITE) {
		r->and_mask = 0;	/* unprotected: base rights in every view */
		r->or_bits = keep;
	} else {
		r->and_mask = keep;
		r->or_bits = f->access & PKSV_ACCESS_READ ? keep & (EPT_READ | EPT_EXEC) : 0;
	}
}

/* What v's PKRS leaves a page with these keys (bit k = key k). */
static inline u64 view_keys_perms(const struct pks_view *v, unsigned int keys)
{
	u64 kp = EPT_RWX;

	for (; keys; keys &= keys - 1)
		kp &= v->key_perms[__builtin_ctz(keys)];
	return kp;
}

static inline u64 view_rule_perms(const struct hv *hv, const struct view_page_rule *r,
				  u64 kp)
{
	return effective_view_perms(hv, (kp & r->and_mask) | r->or_bits);
}

/* A page's rights in view v, from its facts (view_page_facts()). */
static inline u64 view_facts_perms(const struct hv *hv, const struct pks_view *v,
				   const struct view_page_facts *f)
{
	struct view_page_rule r;

	view_facts_rule(f, &r);
	return view_rule_perms(hv, &r, view_keys_perms(v, f->keys));
}
u64 views_list_entry(const struct pks_global *pks, unsigned int slot);
/* Fill v->key_perms from v->pkrs and v->wp (every build of a view). */
void views_key_perms(struct pks_view *v);
bool views_keymap_fits(struct hv *hv);
int views_slot_degraded(struct vcpu *vcpu, u32 pkrs, bool wp);

/* pks/hw_pkrs.c */
void pks_hw_pkrs_update(struct vcpu *vcpu);

/* pks/unprotect_vmm.c */
bool unprotect_allows(struct hv *hv, u64 gpa, bool write);

/* pks/discover.c */
void discover_rescan(struct vcpu *vcpu);
void discover_table_written(struct vcpu *vcpu, u64 table_gpa, const u64 *snap);

#endif
