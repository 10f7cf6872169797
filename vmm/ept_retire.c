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
 * The same holds for a single table a live view gives up: a step's split
 * merged back (pks/soft_fault.c, ept_merge()) frees a page table other
 * CPUs on that view may still have in their paging-structure caches.
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

/* Unlink the finished entries into done[] (lock held); how many. */
static unsigned int take_done(struct hv *hv, struct ept_retired *done)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < EPT_RETIRE_MAX; i++) {
		struct ept_retired *r = &hv->retired.e[i];

		if (r->pml4 && entry_done(hv, r)) {
			done[n].pml4 = r->pml4;
			done[n++].single = r->single;
			r->pml4 = 0;
			r->armed = false;
		}
	}
	return n;
}

static void free_table(struct hv *hv, u64 pa, bool single)
{
	struct ept tree = { .pml4 = pa };

	if (single)
		pool_free_ept(&hv->pool, pa);
	else
		ept_destroy(&tree, pool_free_ept, &hv->pool);
}

static void free_done(struct hv *hv, const struct ept_retired *done, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		free_table(hv, done[i].pml4, done[i].single);
}

/* Free entries left once the finished ones are reaped (lock held). */
static unsigned int room_left(const struct hv *hv)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < EPT_RETIRE_MAX; i++)
		n += !hv->retired.e[i].pml4;
	return n;
}

/*
 * Hand over one table (a whole tree from its root, or a single table of
 * leaves): false when the list is full.  With one vCPU, or outside a
 * vCPU's exit (boot), nobody runs guest code: freed at once.
 */
static bool retire_table(struct hv *hv, u64 pa, bool single)
{
	struct vcpu *here = hv->nr_vcpus > 1 ? shootdown_here(hv) : NULL;
	struct ept_retired done[EPT_RETIRE_MAX];
	unsigned int n, slot = EPT_RETIRE_MAX;

	if (!here) {
		free_table(hv, pa, single);
		return true;
	}
	spin_lock(&hv->retired.lock);
	n = take_done(hv, done);
	for (unsigned int i = 0; i < EPT_RETIRE_MAX && slot == EPT_RETIRE_MAX; i++)
		if (!hv->retired.e[i].pml4)
			slot = i;
	if (slot < EPT_RETIRE_MAX) {
		hv->retired.e[slot].pml4 = pa;
		hv->retired.e[slot].single = single;
		hv->retired.e[slot].owner = here->id;
		hv->retired.e[slot].armed = false;
	}
	spin_unlock(&hv->retired.lock);
	free_done(hv, done, n);
	if (slot == EPT_RETIRE_MAX)
		return false;
	/* The shootdown that arms it: before this vCPU runs guest code again. */
	vcpu_shootdown_owe(here);
	return true;
}

bool ept_retire(struct hv *hv, struct ept *tree)
{
	if (!tree->pml4)
		return true;
	if (!retire_table(hv, tree->pml4, false))
		return false;
	tree->pml4 = 0;
	tree->pages_used = 0;
	return true;
}

void ept_retire_page(void *hv, u64 pa)
{
	/* ept_retire_room() said there is room: this cannot fail. */
	retire_table(hv, pa, true);
}

unsigned int ept_retire_room(struct hv *hv)
{
	struct ept_retired done[EPT_RETIRE_MAX];
	unsigned int n, room;

	if (hv->nr_vcpus < 2)
		return EPT_RETIRE_MAX;
	spin_lock(&hv->retired.lock);
	n = take_done(hv, done);
	room = room_left(hv);
	spin_unlock(&hv->retired.lock);
	free_done(hv, done, n);
	return room;
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
	struct ept_retired done[EPT_RETIRE_MAX];
	unsigned int n;

	spin_lock(&hv->retired.lock);
	n = take_done(hv, done);
	spin_unlock(&hv->retired.lock);
	free_done(hv, done, n);
}
