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
#include "../vmm/seam.h"
#include "pks_internal.h"

int guest_scan_current(struct vcpu *vcpu, const struct guest_scan_ops *ops, void *ctx);

struct scan_ctx {
	struct pks_global *pks;
	struct hv *hv;
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
	else if (!views_keymap_fits(sc->hv)) {
		/* No view could restrict it: not learnt (views.c). */
		keymap_remove(&sc->pks->keymap, page_gpa, size, KEYMAP_DISCOVERED);
		sc->overflow = true;
	}
}

/* Remember the highest level a tracked table was walked at (aliases). */
static void found_table_level(void *p, u64 table_gpa, int level)
{
	struct scan_ctx *sc = p;
	struct pks_global *pks = sc->pks;

	for (unsigned int i = 0; i < pks->nr_tables; i++)
		if (pks->tables[i] == table_gpa) {
			if (level > pks->table_level[i])
				pks->table_level[i] = (u8)level;
			return;
		}
}

static void found_table(void *p, u64 table_gpa)
{
	struct scan_ctx *sc = p;
	struct pks_global *pks = sc->pks;

	for (unsigned int i = 0; i < pks->nr_tables; i++)
		if (pks->tables[i] == table_gpa)
			return;
	if (pks->nr_tables < PKS_MAX_TABLES) {
		pks->table_level[pks->nr_tables] = 0;
		pks->tables[pks->nr_tables++] = table_gpa;
	}
	else
		sc->overflow = true;
}

static bool root_scanned(struct pks_global *pks, u64 root)
{
	for (unsigned int i = 0; i < pks->nr_roots; i++)
		if (pks->roots[i] == root)
			return true;
	return false;
}

/*
 * Scan the current address space and add what it maps to the discovered
 * keys.  The keymap and table set are the union over every root scanned
 * since the last paging-structure write; a write starts that union anew
 * (epoch), so every root is scanned again on its next load.
 */
/* Forget everything discovery learnt (lock held). */
static void discovery_forget(struct pks_global *pks)
{
	keymap_clear_source(&pks->keymap, KEYMAP_DISCOVERED);
	pks->nr_tables = 0;
	pks->nr_multi = 0;
	pks->nr_roots = 0;
}

/*
 * The guest is the authority on its keys from now on (lock held): forget
 * what discovery learnt, including its write-protection of table pages,
 * and stop scanning for good.  Nothing if discovery already ended.
 */
static void discovery_end(struct hv *hv)
{
	struct pks_global *pks = &hv->pks;

	if (!pks->discovery)
		return;
	pks->discovery = false;
	discovery_forget(pks);
	views_invalidate(hv);
}

void discover_rescan(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	struct pks_global *pks = &hv->pks;
	struct guest_scan_ops ops = { found_keyed, found_table, found_table_level };
	struct scan_ctx sc = { pks, hv, false };
	u64 root = vmread(VMCS_GUEST_CR3) & 0x000ffffffffff000ull;
	u64 gen;
	unsigned int before;

	spin_lock(&pks->lock);
	/* Discovery ended since the caller looked (another vCPU registered). */
	if (!pks->discovery) {
		vcpu->pks.rescan = PKS_RESCAN_NONE;
		spin_unlock(&pks->lock);
		return;
	}
	/*
	 * A table write starts a new epoch: keys and tracked tables are learnt
	 * again from the roots as they are loaded (pages that stopped being
	 * tables, e.g. the firmware's after the OS took over, drop out).
	 */
	if (vcpu->pks.rescan == PKS_RESCAN_ALL)
		discovery_forget(pks);
	vcpu->pks.rescan = PKS_RESCAN_NONE;
	vcpu->pks.root = root;
	if (root_scanned(pks, root)) {
		spin_unlock(&pks->lock);
		return;
	}
	gen = pks->keymap.generation;
	before = pks->nr_tables;
	if (guest_scan_current(vcpu, &ops, &sc) < 0)
		sc.overflow = true;
	if (pks->nr_roots == PKS_MAX_ROOTS)
		pks->nr_roots = 0;	/* forget the oldest scans: rescan lazily */
	pks->roots[pks->nr_roots++] = root;
	if (pks->keymap.generation != gen || pks->nr_tables != before)
		views_invalidate(hv);
	spin_unlock(&pks->lock);
	if (sc.overflow)
		pksv_log("PKS discovery: %u table pages, %u ranges (limits %u, %u) or a page with too many keys: some keys are not enforced",
			 pks->nr_tables, pks->keymap.n, PKS_MAX_TABLES, KEYMAP_MAX);
}

/*
 * The guest wrote one of its tracked paging-structure pages (the write was
 * single-stepped; snap holds the page as it was).  Changed leaf entries
 * only add keys: their pages are restricted if the new entry carries one
 * (a stale restriction on a page whose key went away only costs exits:
 * every EPT violation is decided on the live tables).  A changed pointer
 * to a lower table may bring a whole subtree: then learn everything anew.
 */
void discover_table_written(struct vcpu *vcpu, u64 table_gpa, const u64 *snap)
{
	struct pks_global *pks = &vcpu->hv->pks;
	const volatile u64 *now = (const volatile u64 *)(uintptr_t)table_gpa;
	struct scan_ctx sc = { pks, vcpu->hv, false };
	int level = 0;
	bool full = false;
	u64 gen;

	spin_lock(&pks->lock);
	/*
	 * Discovery may have ended (PV_RANGES, RANGE_REGISTER on another
	 * vCPU) while this write was stepped: the guest's registrations are
	 * the keymap now, and a discovered range added after them would
	 * never be forgotten (and would make a later registration overlap).
	 */
	if (!pks->discovery) {
		spin_unlock(&pks->lock);
		return;
	}
	for (unsigned int i = 0; i < pks->nr_tables; i++)
		if (pks->tables[i] == table_gpa)
			level = pks->table_level[i];
	gen = pks->keymap.generation;
	for (unsigned int i = 0; i < 512 && level && !full; i++) {
		u64 old = snap[i], e = now[i];
		/* bits 5/6: accessed/dirty; bit 7 at level 1 is PAT */
		bool leaf = level == 1 || ((level == 2 || level == 3) && (e & BIT(7)));
		unsigned int shift = 12 + 9 * (level - 1);

		if (((old ^ e) & ~0x60ull) == 0 || !(e & 1))
			continue;
		if (!leaf) {
			full = true;
			continue;
		}
		if (PTE_KEY(e))
			found_keyed(&sc, e & 0x000ffffffffff000ull & ~((1ull << shift) - 1),
				    1ull << shift, PTE_KEY(e));
	}
	if (pks->keymap.generation != gen)
		views_invalidate(vcpu->hv);
	spin_unlock(&pks->lock);
	if (!level || full)
		vcpu->pks.rescan = PKS_RESCAN_ALL;
}

/*
 * MOV to CR3 exits only in discovery mode with CR4.PKS set (vmm/exit_cr.c).
 * Perform it as the CPU would, then rescan a root not seen last time.
 */
void pks_cr3_load(struct vcpu *vcpu, u64 value)
{
	bool pcid_noflush = (vmread(VMCS_GUEST_CR4) & CR4_PCIDE) && (value & BIT(63));

	value &= ~BIT(63);
	vmwrite(VMCS_GUEST_CR3, value);
	/*
	 * A CR3 load flushes the current VPID's non-global translations
	 * (SDM 4.10.4.1) unless PCID no-flush: emulate with INVVPID
	 * (single-context-retaining-globals when supported, else all of it).
	 */
	if (!pcid_noflush)
		vcpu_flush_vpid_nonglobal(vcpu);
	if ((value & 0x000ffffffffff000ull) != vcpu->pks.root &&
	    vcpu->pks.rescan == PKS_RESCAN_NONE)
		vcpu->pks.rescan = PKS_RESCAN_ROOT;
	if (vcpu->pks.rescan != PKS_RESCAN_NONE)
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
	/*
	 * The first registration makes the guest the authority on its keys:
	 * drop what discovery learnt first, so that the registered range may
	 * cover pages discovery had already seen.
	 */
	if (add)
		discovery_end(hv);
	if (add) {
		ret = keymap_add(&pks->keymap, gpa, len, (unsigned int)key, KEYMAP_PV);
		/* A range no view could restrict is refused, never half enforced. */
		if (!ret && !views_keymap_fits(hv)) {
			keymap_remove(&pks->keymap, gpa, len, KEYMAP_PV);
			ret = -PKSV_ENOSPC;
		}
	} else
		ret = keymap_remove(&pks->keymap, gpa, len, KEYMAP_PV);
	if (!ret)
		views_invalidate(hv);
	spin_unlock(&pks->lock);
	/*
	 * Also after a failed call: the first registration may have
	 * invalidated (and, out of memory, dropped) the view in use above.
	 */
	pks_apply(vcpu);
	return ret;
}

/*
 * PKSV_HC_PV_RANGES (ABI 1.1): "I register every keyed range myself",
 * said before any exists (docs/hypercalls.md).  Discovery ends exactly as
 * at a first RANGE_REGISTER: keys it learnt are forgotten (the guest's
 * registrations replace them), tracked table pages become writable again
 * and CR3 loads stop exiting.  Idempotent: a second call, or a call after
 * ranges were registered, changes nothing and succeeds; registered ranges
 * are never touched.  RBX is reserved for flags and must be 0.
 */
s64 pks_hc_pv_ranges(struct vcpu *vcpu, u64 flags)
{
	struct hv *hv = vcpu->hv;
	bool ended;

	if (flags)
		return -PKSV_EINVAL;
	if (!pks_exposed(hv))
		return -PKSV_ENOTSUP;
	spin_lock(&hv->pks.lock);
	ended = hv->pks.discovery;
	discovery_end(hv);
	spin_unlock(&hv->pks.lock);
	if (ended) {
		pksv_log("PKS: the guest registers its keyed ranges: page-table discovery off");
		pks_apply(vcpu);	/* leave a view built from discovered keys */
	}
	return 0;
}
