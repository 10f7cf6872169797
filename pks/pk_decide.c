// SPDX-License-Identifier: MIT
/*
 * Protection-key exit decisions (include/pksvisor/pk_decide.h).  Pure:
 * no VMCS, no guest memory; the callers gather the inputs.
 */
#include <pksvisor/hypercall.h>
#include <pksvisor/pk_decide.h>

bool pk_mode_opens(int mode, bool locked)
{
	/* Locked keys are never opened by a fault (docs/hypercalls.md LOCK_KEY). */
	if (locked)
		return false;
	return mode == PKSV_MODE_RELAXED || mode == PKSV_MODE_SILENT ||
	       mode == PKSV_MODE_OFF;
}

bool pk_view_covers(u32 view_pkrs, bool view_wp, u32 pkrs, bool wp)
{
	/* WD restricts writes only with CR0.WP (pks_view_perms()). */
	return (view_pkrs & pkrs) == pkrs && (view_wp || !wp);
}

/*
 * Soft backend.  EPT sees the guest-physical page; PKS is a property of
 * the linear mapping (SDM Vol. 3A 4.6.2), so the verdict comes from the
 * guest walk of the reported linear address, and only counts if that walk
 * leads to the page that faulted: a guest (or another vCPU) may have
 * changed its tables since the CPU translated, and a verdict about some
 * other page must never open this one.
 */
enum soft_verdict soft_ept_decide(const struct soft_fault_input *in,
				  struct pks_access *a)
{
	const struct guest_walk *w = in->w;

	*a = (struct pks_access){ 0 };
	/*
	 * SDM 28.2.1 Table 28-7: bit 7 set and bit 8 clear is the CPU's own
	 * page walk (A/D update in a write-protected table): never PKS-checked.
	 */
	if (in->linear_valid && !in->translated)
		return SOFT_ALLOW;
	if (in->write && in->table_write)
		return SOFT_TABLE;
	/* No linear address (e.g. PDPTE loads): a physical access, no PKS. */
	if (!in->linear_valid)
		return SOFT_ALLOW;
	/* PKS applies to 4- and 5-level paging only (SDM Vol. 3A 4.6.1). */
	if (!in->long_paging)
		return SOFT_ALLOW;
	if (in->walk != 0 || !w)
		return SOFT_RETRY;
	if ((w->gpa & PAGE_MASK) != (in->fault_gpa & PAGE_MASK))
		return SOFT_RETRY;
	a->write = in->write;
	a->fetch = in->fetch;
	a->user_mode = in->user_mode;
	a->supervisor_page = w->supervisor;
	a->key = w->key;
	a->cr4_pks = in->cr4_pks;
	a->cr0_wp = in->cr0_wp;
	a->long_paging = true;
	a->pkrs = in->pkrs;
	return pks_denies(a) ? SOFT_DENY : SOFT_ALLOW;
}

/*
 * hw backend.  The exit filter only sees PFEC.PK, which both PKS and PKU
 * set: the page decides (SDM Vol. 3A 4.6.2: a user-mode address is checked
 * against PKRU, a supervisor-mode address against IA32_PKRS).  PKU faults
 * are the guest's user-space business, delivered unchanged in every mode;
 * so is any fault pksvisor cannot attribute (walk failed: the tables
 * changed under it) - re-injecting what the CPU reported never widens.
 */
enum hw_pf_action hw_pf_decide(int walk, const struct guest_walk *w,
			       bool unprotected, int mode, bool locked)
{
	if (walk != 0 || !w || !w->supervisor || !w->key)
		return HW_PF_REINJECT;
	if (unprotected)
		return HW_PF_UNPROTECTED;
	return pk_mode_opens(mode, locked) ? HW_PF_OPEN_KEY : HW_PF_INJECT;
}

u32 hw_pf_step_pkrs(u32 pkrs, unsigned int key, bool write)
{
	if (key == 0 || key >= PKS_NR_KEYS)
		return pkrs;
	return pkrs & ~(write ? PKRS_KEY_MASK(key) : PKRS_AD(key));
}

bool pks_hw_pkrs_intercept(int mode, u32 lock_bits, u32 grants, u32 openings)
{
	/* OFF enforces lock_bits & ~grants, not the guest's value: reads must exit. */
	if (mode == PKSV_MODE_OFF)
		return true;
	/* A locked key stays closed whatever the guest writes. */
	if (lock_bits)
		return true;
	/* Grants and openings end at the next PKRS write, which must exit. */
	return (grants | openings) != 0;
}
