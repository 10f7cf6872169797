// SPDX-License-Identifier: MIT
/*
 * Soft backend, unmodified guests: learn which guest-physical pages carry
 * which key by walking the guest's page tables (guest_scan_keys()) when
 * CR4.PKS is set, when CR3 is loaded with a root not scanned yet, and
 * after the guest wrote one of its (write-protected) paging-structure
 * pages.  A guest that registers its keyed ranges by hypercall switches
 * discovery off: its registration is authoritative and scanning a full
 * kernel's page tables at every context switch would be far too slow.
 */
#include <pksvisor/hypercall.h>
#include <pksvisor/log.h>
#include "../vmm/exit.h"
#include "../vmm/vmx.h"
#include "pks_internal.h"

int guest_scan_current(struct vcpu *vcpu, const struct guest_scan_ops *ops, void *ctx);

struct scan_ctx {
	struct pks_global *pks;
	bool overflow;
};

/*
 * The same physical page mapped with several keys (aliases): the keymap
 * holds one key per page, so the others go to a small side table and the
 * views restrict the page by every key (pks/views.c); the exact decision
 * per mapping is made at the EPT violation anyway.
 */
static void add_multi(struct pks_global *pks, u64 start, u64 size, unsigned int key,
		      struct scan_ctx *sc)
{
	unsigned int first = keymap_lookup(&pks->keymap, start);

	for (unsigned int i = 0; i < pks->nr_multi; i++)
		if (pks->multi[i].start == start && pks->multi[i].end == start + size) {
			pks->multi[i].keys |= 1u << key;
			return;
		}
	if (pks->nr_multi == PKS_MAX_MULTI) {
		sc->overflow = true;
		return;
	}
	pks->multi[pks->nr_multi].start = start;
	pks->multi[pks->nr_multi].end = start + size;
	pks->multi[pks->nr_multi].keys = (1u << key) | (first ? 1u << first : 0);
	pks->nr_multi++;
}

static void found_keyed(void *p, u64 page_gpa, u64 size, unsigned int key)
{
	struct scan_ctx *sc = p;
	int ret = keymap_add(&sc->pks->keymap, page_gpa, size, key, KEYMAP_DISCOVERED);

	if (ret == -PKSV_EINVAL)
		add_multi(sc->pks, page_gpa, size, key, sc);
	else if (ret)
		sc->overflow = true;
}

static void found_table(void *p, u64 table_gpa)
{
	struct scan_ctx *sc = p;
	struct pks_global *pks = sc->pks;

	for (unsigned int i = 0; i < pks->nr_tables; i++)
		if (pks->tables[i] == table_gpa)
			return;
	if (pks->nr_tables < PKS_MAX_TABLES)
		pks->tables[pks->nr_tables++] = table_gpa;
	else
		sc->overflow = true;
}

void discover_rescan(struct vcpu *vcpu)
{
	struct pks_global *pks = &vcpu->hv->pks;
	struct guest_scan_ops ops = { found_keyed, found_table };
	struct scan_ctx sc = { pks, false };

	vcpu->pks_rescan = false;
	vcpu->pks_root = vmread(VMCS_GUEST_CR3) & PAGE_MASK;
	spin_lock(&pks->lock);
	keymap_clear_source(&pks->keymap, KEYMAP_DISCOVERED);
	pks->nr_tables = 0;
	pks->nr_multi = 0;
	if (guest_scan_current(vcpu, &ops, &sc) < 0)
		sc.overflow = true;
	views_invalidate(vcpu->hv);
	spin_unlock(&pks->lock);
	if (sc.overflow)
		pksv_log("PKS discovery: %u table pages, %u ranges (limits %u, %u) or a page with two keys: some keys are not enforced",
			 pks->nr_tables, pks->keymap.n, PKS_MAX_TABLES, KEYMAP_MAX);
}

/*
 * MOV to CR3 exits only in discovery mode with CR4.PKS set (vmm/exit_cr.c).
 * Perform it as the CPU would, then rescan a root not seen last time.
 */
void pks_cr3_load(struct vcpu *vcpu, u64 value)
{
	bool pcid_noflush = (vmread(VMCS_GUEST_CR4) & CR4_PCIDE) && (value & BIT(63));
	struct vmx_setup *s = &vcpu->hv->vmx;

	value &= ~BIT(63);
	vmwrite(VMCS_GUEST_CR3, value);
	/*
	 * A CR3 load flushes the current VPID's non-global translations
	 * (SDM 4.10.4.1) unless PCID no-flush: emulate with INVVPID
	 * (single-context-retaining-globals when supported, else all of it).
	 */
	if (s->has_vpid && !pcid_noflush)
		invvpid(vcpu->hv->msrs.ept_vpid_cap & BIT(43) ? 3 :
			s->has_invvpid_single ? 1 : 2, 1 + vcpu->id);
	if ((value & PAGE_MASK & 0x000ffffffffff000ull) != vcpu->pks_root)
		vcpu->pks_rescan = true;
	if (vcpu->pks_rescan)
		views_select(vcpu);
}

s64 pks_hc_range(struct vcpu *vcpu, u64 gpa, u64 len, u64 key, bool add)
{
	struct hv *hv = vcpu->hv;
	struct pks_global *pks = &hv->pks;
	u64 end = gpa + len;
	int ret;

	if (!pks_exposed(hv))
		return -PKSV_ENOTSUP;
	if ((gpa | len) & (PAGE_SIZE - 1))
		return -PKSV_EALIGN;
	if (!len || end < gpa)
		return -PKSV_EINVAL;
	if (add && (key < 1 || key > 15))
		return -PKSV_EKEY;
	/* Only guest RAM or MMIO below the EPT limit, never pksvisor's pool. */
	if (end > hv->phys_limit ||
	    (gpa < hv->pool.base + hv->pool.size && end > hv->pool.base))
		return -PKSV_EFAULT;
	spin_lock(&pks->lock);
	if (add)
		ret = keymap_add(&pks->keymap, gpa, len, (unsigned int)key, KEYMAP_PV);
	else
		ret = keymap_remove(&pks->keymap, gpa, len, KEYMAP_PV);
	if (!ret) {
		if (pks->discovery) {
			/* The guest describes its keys itself from now on. */
			pks->discovery = false;
			keymap_clear_source(&pks->keymap, KEYMAP_DISCOVERED);
			pks->nr_tables = 0;
			pks->nr_multi = 0;
		}
		views_invalidate(hv);
	}
	spin_unlock(&pks->lock);
	if (!ret)
		pks_apply(vcpu);
	return ret;
}
