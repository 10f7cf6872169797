// SPDX-License-Identifier: MIT
/*
 * The global-unprotect table (include/pksvisor/pks.h): the seed review's
 * proposal for kmap() - mark just the mapped page globally unprotected,
 * refcounted, instead of opening the key for every context.  Pure code:
 * pksvisor calls it under its PKS lock; unit tests and the fuzzer call it
 * directly.
 */
#include <pksvisor/format.h>
#include <pksvisor/hypercall.h>
#include <pksvisor/pks.h>

#define SLOT_MASK	(UNPROTECT_SLOTS - 1)

static unsigned int slot_of(u64 gfn)
{
	/* Fibonacci hashing: consecutive gfns (a kmap()ed buffer) spread out. */
	return (unsigned int)((gfn * 0x9e3779b97f4a7c15ull) >> 52) & SLOT_MASK;
}

void unprotect_init(struct unprotect_table *t)
{
	pksv_memset(t, 0, sizeof(*t));
}

/* Slot holding gfn, or the empty slot where it would go. */
static unsigned int find(const struct unprotect_table *t, u64 gfn)
{
	unsigned int i = slot_of(gfn);

	while (t->e[i].refs && t->e[i].gfn != gfn)
		i = (i + 1) & SLOT_MASK;
	return i;
}

int unprotect_get(struct unprotect_table *t, u64 gfn, unsigned int access, bool *changed)
{
	struct unprotect_entry *entry;

	return unprotect_get_entry(t, gfn, access, changed, &entry);
}

int unprotect_get_entry(struct unprotect_table *t, u64 gfn, unsigned int access,
			bool *changed, struct unprotect_entry **entry)
{
	unsigned int i;

	*changed = false;
	if (access != PKSV_ACCESS_READ &&
	    access != (PKSV_ACCESS_READ | PKSV_ACCESS_WRITE))
		return -PKSV_EINVAL;
	i = find(t, gfn);
	if (t->e[i].refs) {
		if (t->e[i].refs == 0xffffffffu)
			return -PKSV_ERANGE;
		t->e[i].refs++;
		t->e[i].refs_write += !!(access & PKSV_ACCESS_WRITE);
		if ((t->e[i].access | access) != t->e[i].access) {
			t->e[i].access |= access;
			*changed = true;
			t->generation++;
		}
		*entry = &t->e[i];
		return 0;
	}
	if (t->count >= UNPROTECT_MAX)
		return -PKSV_ENOSPC;
	t->e[i].gfn = gfn;
	t->e[i].refs = 1;
	t->e[i].refs_write = !!(access & PKSV_ACCESS_WRITE);
	t->e[i].access = (u8)access;
	t->e[i].facts_gen = 0;		/* nothing cached for the new page */
	t->e[i].plan_epoch = 0;
	t->count++;
	t->generation++;
	*changed = true;
	*entry = &t->e[i];
	return 0;
}

/*
 * Backward-shift deletion: move later members of the probe run into the
 * hole so that lookups never need tombstones.
 */
static void remove_slot(struct unprotect_table *t, unsigned int hole)
{
	unsigned int j = hole;

	for (;;) {
		unsigned int home;

		j = (j + 1) & SLOT_MASK;
		if (!t->e[j].refs)
			break;
		home = slot_of(t->e[j].gfn);
		/* Move j into the hole unless its home lies cyclically in (hole, j]. */
		if (((j - home) & SLOT_MASK) >= ((j - hole) & SLOT_MASK)) {
			t->e[hole] = t->e[j];
			hole = j;
		}
	}
	t->e[hole].refs = 0;
	t->e[hole].refs_write = 0;
	t->e[hole].gfn = 0;
	t->e[hole].access = 0;
	t->e[hole].facts_gen = 0;
}

int unprotect_put(struct unprotect_table *t, u64 gfn, bool *gone)
{
	struct unprotect_entry last;
	enum unprotect_drop drop;
	int ret = unprotect_put_entry(t, gfn, &drop, &last);

	*gone = !ret && drop == UNPROTECT_GONE;
	return ret;
}

int unprotect_put_entry(struct unprotect_table *t, u64 gfn, enum unprotect_drop *drop,
			struct unprotect_entry *last)
{
	unsigned int i = find(t, gfn);
	struct unprotect_entry *e = &t->e[i];

	*drop = UNPROTECT_KEPT;
	if (!e->refs)
		return -PKSV_ENOENT;
	if (e->refs == 1) {
		*last = *e;
		remove_slot(t, i);
		t->count--;
		t->generation++;
		*drop = UNPROTECT_GONE;
		return 0;
	}
	e->refs--;
	/* The widest reference goes first (pks.h): never wider than what is held. */
	if (e->refs_write && --e->refs_write == 0) {
		*last = *e;
		e->access = PKSV_ACCESS_READ;
		t->generation++;
		*drop = UNPROTECT_NARROWED;
	}
	return 0;
}

unsigned int unprotect_lookup(const struct unprotect_table *t, u64 gfn)
{
	unsigned int i = find(t, gfn);

	return t->e[i].refs ? t->e[i].access : 0;
}
