// SPDX-License-Identifier: MIT
/*
 * Soft backend: the one place where the EPT rights of a guest page in a
 * PKS view, and the EPTP-list entry of a view slot, are decided.  Every
 * writer of view permissions (pks/views.c when it builds a view,
 * pks/unprotect_vmm.c when the unprotect table changes) asks here, so the
 * invariants hold on every path:
 *
 *  - pksvisor's reservation (the page pool) has no rights in any view,
 *    whatever keys, aliases (multi-key discovery), unprotect entries or
 *    base-EPT contents say: hidden pages stay hidden;
 *  - a page's rights are its base rights minus what each of its keys
 *    loses under the view's PKRS (pks_view_perms), plus what the unprotect
 *    table gives back, minus write on tracked guest page tables;
 *  - only pinned views are reachable through the VMFUNC EPTP list; every
 *    other entry holds an EPTP that fails the VM-entry EPTP checks, so a
 *    VMFUNC to it exits (SDM Vol. 3C 26.5.6.3 "EPTP Switching": "If the
 *    selected EPTP is not valid ... a VM exit occurs"; validity per 27.2.1.1
 *    / 26.2.1.1: bits 5:3 must be 3 or 4, the memory type UC or WB).
 *
 * No VMX instruction here: host unit tests link this file as it is
 * (tests/unit/test_view_perms.c).
 */
#include <pksvisor/hypercall.h>
#include "pks_internal.h"

bool view_gpa_hidden(const struct hv *hv, u64 gpa)
{
	return gpa >= hv->pool.base && gpa - hv->pool.base < hv->pool.size;
}

bool views_is_table(struct hv *hv, u64 gpa)
{
	struct pks_global *pks = &hv->pks;

	for (unsigned int i = 0; i < pks->nr_tables; i++)
		if (pks->tables[i] == (gpa & PAGE_MASK))
			return true;
	return false;
}

/*
 * An AD page is execute-only (fetches are never PKS-checked), which needs
 * execute-only EPT support (IA32_VMX_EPT_VPID_CAP[0], SDM 29.3.3.1);
 * without it the page is not present and the rare fetch exits and is let
 * through like any other allowed access.
 */
u64 effective_view_perms(struct hv *hv, u64 perms)
{
	if (perms == EPT_EXEC && !(hv->msrs.ept_vpid_cap & BIT(0)))
		return 0;
	return perms;
}

u64 view_page_perms(struct hv *hv, const struct pks_view *v, u64 gpa)
{
	struct pks_global *pks = &hv->pks;
	int level;
	u64 *base, rights, perms;
	unsigned int key, acc;

	gpa &= PAGE_MASK;
	if (view_gpa_hidden(hv, gpa))
		return 0;	/* pksvisor's reservation: never any right */
	base = ept_lookup(&hv->ept, gpa, &level);
	rights = base ? *base & EPT_RWX : 0;
	if (!rights)
		return 0;
	perms = rights;
	key = keymap_lookup(&pks->keymap, gpa);
	if (key)
		perms &= pks_view_perms(v->pkrs, v->wp, key);
	/* An alias with several keys loses what any of them loses. */
	for (unsigned int i = 0; i < pks->nr_multi; i++)
		if (gpa >= pks->multi[i].start && gpa < pks->multi[i].end)
			for (unsigned int k = 1; k < PKS_NR_KEYS; k++)
				if (pks->multi[i].keys & (1u << k))
					perms &= pks_view_perms(v->pkrs, v->wp, k);
	acc = unprotect_lookup(&pks->unprotect, gpa >> PAGE_SHIFT);
	if (acc & PKSV_ACCESS_WRITE)
		perms = rights;
	else if (acc & PKSV_ACCESS_READ)
		perms |= rights & (EPT_READ | EPT_EXEC);
	if (pks->discovery && (perms & EPT_WRITE) && views_is_table(hv, gpa))
		perms &= ~EPT_WRITE;
	return effective_view_perms(hv, perms);
}

u64 views_list_entry(const struct pks_global *pks, unsigned int slot)
{
	const struct pks_view *v = &pks->views[slot];

	/* Slot 0 is the unrestricted base EPT: never reachable by VMFUNC. */
	if (slot == 0 || slot >= PKS_MAX_VIEWS || !v->valid || !v->pinned)
		return EPTP_LIST_INVALID;
	return v->eptp;
}
