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

bool views_is_table(struct hv *hv, u64 gpa)
{
	struct pks_global *pks = &hv->pks;

	for (unsigned int i = 0; i < pks->nr_tables; i++)
		if (pks->tables[i] == (gpa & PAGE_MASK))
			return true;
	return false;
}

/*
 * Everything a page's rights depend on except the view: gathered once, so
 * that a change to one page (UNPROTECT/PROTECT) derives it for every view
 * with a few instructions each instead of repeating the lookups per view.
 */
/*
 * access: the page's unprotect-table access when the caller knows it
 * (UNPROTECT/PROTECT just changed it), or VIEW_ACCESS_LOOKUP.  A page
 * unprotected for writing has its base rights in every view whatever its
 * keys, so its keys are not looked up.
 */
void view_page_facts_known(struct hv *hv, u64 gpa, unsigned int access,
			   struct view_page_facts *f)
{
	struct pks_global *pks = &hv->pks;
	unsigned int key;
	int level;
	u64 *base;

	gpa &= PAGE_MASK;
	f->rights = 0;
	f->keys = 0;
	f->access = 0;
	f->table = false;
	if (view_gpa_hidden(hv, gpa))
		return;		/* pksvisor's reservation: never any right */
	base = ept_lookup(&hv->ept, gpa, &level);
	f->rights = base ? *base & EPT_RWX : 0;
	if (!f->rights)
		return;
	f->access = access == VIEW_ACCESS_LOOKUP ?
		    unprotect_lookup(&pks->unprotect, gpa >> PAGE_SHIFT) : access;
	f->table = pks->discovery && views_is_table(hv, gpa);
	if (f->access & PKSV_ACCESS_WRITE)
		return;
	key = keymap_lookup(&pks->keymap, gpa);
	if (key)
		f->keys = (u16)(1u << key);
	/* An alias with several keys loses what any of them loses. */
	for (unsigned int i = 0; i < pks->nr_multi; i++)
		if (gpa >= pks->multi[i].start && gpa < pks->multi[i].end)
			f->keys |= pks->multi[i].keys & ~1u;
}

void view_page_facts(struct hv *hv, u64 gpa, struct view_page_facts *f)
{
	view_page_facts_known(hv, gpa, VIEW_ACCESS_LOOKUP, f);
}

void views_key_perms(struct pks_view *v)
{
	for (unsigned int key = 0; key < PKS_NR_KEYS; key++)
		v->key_perms[key] = (u8)pks_view_perms(v->pkrs, v->wp, key);
}

u64 view_page_perms(struct hv *hv, const struct pks_view *v, u64 gpa)
{
	struct view_page_facts f;

	view_page_facts(hv, gpa, &f);
	return view_facts_perms(hv, v, &f);
}

u64 views_list_entry(const struct pks_global *pks, unsigned int slot)
{
	const struct pks_view *v = &pks->views[slot];

	/* Slot 0 is the unrestricted base EPT: never reachable by VMFUNC. */
	if (slot == 0 || slot >= PKS_MAX_VIEWS || !v->valid || !v->pinned)
		return EPTP_LIST_INVALID;
	return v->eptp;
}
