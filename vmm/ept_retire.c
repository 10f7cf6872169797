// SPDX-License-Identifier: MIT
/*
 * EPT trees a vCPU may still walk are freed only after it let go
 * (docs/architecture.md "SMP views").
 *
 * When a view is rebuilt (into fresh pages) or dropped, its old tree is
 * named by no view any more, but other CPUs may still use it: one running
 * guest code on its EPTP (a VMFUNC-pinned view is left only at an exit),
 * one whose VMFUNC EPTP list still names it (lists are rewritten only
 * before a VM entry), and every CPU that ran on it may hold translations
 * and paging-structure-cache entries tagged with its EPTP (SDM Vol. 3C
 * 29.4.2).  A page of it rewritten or reused under such a CPU either widens
 * access (the CPU walks other rights) or halts it (a page table reused
 * at another level reads as reserved bits set: an EPT misconfiguration,
 * 29.3.3.1).
 *
 * So the tree waits here.  The vCPU whose exit retired it owes a
 * shootdown (vmm/shootdown.c); when that shootdown makes its requests it
 * arms the tree with the request value each target must acknowledge.  A
 * target acknowledges only after it re-selected its view, rewrote its
 * EPTP list and invalidated its EPT translations (take_requests()), so
 * once every target did - or is no longer running guest code (wait for
 * SIPI: it passes the same checks before it runs again) - no CPU can
 * reach the tree and its pages go back to the pool.  A target the
 * shootdown could not interrupt (its local APIC disabled) acknowledges at
 * its next exit of any kind: the tree waits that long.
 *
 * With one vCPU there is nobody else: the caller is in VMX root, and a
 * tree is freed at once.
 */
#include <pksvisor/page_pool.h>
#include "shootdown.h"
#include "seam.h"

static bool entry_done(struct hv *hv, const struct ept_retired *r)
{
	if (!r->armed)
		return false;
	for (unsigned int i = 0; i < hv->nr_vcpus; i++) {
		struct vcpu *t = hv->vcpus[i];

		if (!r->need[i] ||
		    __atomic_load_n(&t->shoot_state, __ATOMIC_SEQ_CST) != SHOOT_RUNNING)
			continue;
		if ((s64)(__atomic_load_n(&t->shoot_ack, __ATOMIC_ACQUIRE) - r->need[i]) < 0)
			return false;
	}
	return true;
}

/* Unlink the finished entries into roots[] (lock held); how many. */
static unsigned int take_done(struct hv *hv, u64 *roots)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < EPT_RETIRE_MAX; i++) {
		struct ept_retired *r = &hv->retired.e[i];

		if (r->pml4 && entry_done(hv, r)) {
			roots[n++] = r->pml4;
			r->pml4 = 0;
			r->armed = false;
		}
	}
	return n;
}

static void free_roots(struct hv *hv, const u64 *roots, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct ept tree = { .pml4 = roots[i] };

		ept_destroy(&tree, pool_free_ept, &hv->pool);
	}
}

bool ept_retire(struct hv *hv, struct ept *tree)
{
	struct vcpu *here;
	u64 roots[EPT_RETIRE_MAX];
	unsigned int n, slot = EPT_RETIRE_MAX;

	if (!tree->pml4)
		return true;
	here = hv->nr_vcpus > 1 ? shootdown_here(hv) : NULL;
	if (!here) {
		/* One vCPU (in VMX root now), or boot: no CPU runs guest code. */
		ept_destroy(tree, pool_free_ept, &hv->pool);
		return true;
	}
	spin_lock(&hv->retired.lock);
	n = take_done(hv, roots);
	for (unsigned int i = 0; i < EPT_RETIRE_MAX && slot == EPT_RETIRE_MAX; i++)
		if (!hv->retired.e[i].pml4)
			slot = i;
	if (slot < EPT_RETIRE_MAX) {
		hv->retired.e[slot].pml4 = tree->pml4;
		hv->retired.e[slot].owner = here->id;
		hv->retired.e[slot].armed = false;
	}
	spin_unlock(&hv->retired.lock);
	free_roots(hv, roots, n);
	if (slot == EPT_RETIRE_MAX)
		return false;
	tree->pml4 = 0;
	tree->pages_used = 0;
	/* The shootdown that arms it: before this vCPU runs guest code again. */
	vcpu_shootdown_owe(here);
	return true;
}

void ept_retire_arm(struct vcpu *sender, const u64 *need)
{
	struct hv *hv = sender->hv;

	spin_lock(&hv->retired.lock);
	for (unsigned int i = 0; i < EPT_RETIRE_MAX; i++) {
		struct ept_retired *r = &hv->retired.e[i];

		if (!r->pml4 || r->armed || r->owner != sender->id)
			continue;
		for (unsigned int t = 0; t < hv->nr_vcpus; t++)
			r->need[t] = need[t];
		r->armed = true;
	}
	spin_unlock(&hv->retired.lock);
}

void ept_retire_reap(struct hv *hv)
{
	u64 roots[EPT_RETIRE_MAX];
	unsigned int n;

	spin_lock(&hv->retired.lock);
	n = take_done(hv, roots);
	spin_unlock(&hv->retired.lock);
	free_roots(hv, roots, n);
}
