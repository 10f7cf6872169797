// SPDX-License-Identifier: MIT
/*
 * Guest buffers pksvisor writes into (PKSV_HC_GET_STATS).
 *
 * pksvisor writes guest memory from VMX root through its identity map, so
 * the write passes neither the guest's EPT view nor its PKRS: whatever
 * the guest protects with a key (PMEM), the write would reach.  A buffer
 * is therefore accepted only if the guest could write it itself with
 * every key closed and without pksvisor's help:
 *  - one 4 KiB page at most, page aligned (-EINVAL, -EALIGN);
 *  - conventional guest RAM as the firmware reported it, never MMIO and
 *    never pksvisor's own reservation (-EFAULT);
 *  - not keyed: no registered or discovered keyed range, no multi-key
 *    alias, not in the global-unprotect table (those pages are keyed by
 *    definition), and not a guest paging-structure page that discovery
 *    write-protects (a write there would bypass the rescan) (-EPERM).
 * The checks and the write happen under the PKS lock, so a RANGE_REGISTER
 * racing on another vCPU either sees the page written or makes the call
 * fail; it never keys a page halfway through the write.
 */
#include <pksvisor/hypercall.h>
#include "pks_internal.h"

static bool in_guest_ram(const struct hv *hv, u64 gpa, u64 len)
{
	for (unsigned int i = 0; i < hv->nr_ram; i++)
		if (gpa >= hv->ram[i].start && gpa + len <= hv->ram[i].end)
			return true;
	return false;
}

static bool in_pool(const struct hv *hv, u64 gpa, u64 len)
{
	return gpa < hv->pool.base + hv->pool.size && gpa + len > hv->pool.base;
}

/* Is the page at gpa keyed or guarded in any way pksvisor knows of? (lock held) */
static bool page_guarded(const struct pks_global *pks, u64 gpa)
{
	if (keymap_lookup(&pks->keymap, gpa))
		return true;
	for (unsigned int i = 0; i < pks->nr_multi; i++)
		if (gpa >= pks->multi[i].start && gpa < pks->multi[i].end)
			return true;
	if (unprotect_lookup(&pks->unprotect, gpa >> PAGE_SHIFT))
		return true;
	for (unsigned int i = 0; i < pks->nr_tables; i++)
		if (pks->tables[i] == gpa)
			return true;
	return false;
}

s64 pks_guest_buffer_write(struct hv *hv, u64 gpa, u64 len, u64 need,
			   void (*fill)(void *dst, u64 len, void *ctx), void *ctx)
{
	struct pks_global *pks = &hv->pks;
	s64 ret = 0;

	if (!len || len > PAGE_SIZE)
		return -PKSV_EINVAL;
	if (gpa & (PAGE_SIZE - 1))
		return -PKSV_EALIGN;
	if (gpa >= hv->phys_limit || len > hv->phys_limit - gpa ||
	    in_pool(hv, gpa, len) || !in_guest_ram(hv, gpa, len))
		return -PKSV_EFAULT;
	spin_lock(&pks->lock);
	if (page_guarded(pks, gpa))
		ret = -PKSV_EPERM;
	else if (need > len)
		ret = -PKSV_ENOSPC;
	else
		fill((void *)(uintptr_t)gpa, len, ctx);
	spin_unlock(&pks->lock);
	return ret;
}
