// SPDX-License-Identifier: MIT
/*
 * Unit tests for pks/unprotect.c, the global-unprotect table: refcounting,
 * the access union and the changed / gone flags, the argument and limit
 * errors leaving the table unchanged, backward-shift deletion in long and
 * interleaved probe runs (colliding gfns found by brute force with the
 * table's own hash), the generation, and a randomized comparison against a
 * simple reference model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pksvisor/pks.h>
#include <pksvisor/hypercall.h>

#define R	PKSV_ACCESS_READ
#define RW	(PKSV_ACCESS_READ | PKSV_ACCESS_WRITE)
#define MASK	(UNPROTECT_SLOTS - 1)

/* The home slot, computed exactly as pks/unprotect.c does. */
static unsigned int home_of(u64 gfn)
{
	return (unsigned int)((gfn * 0x9e3779b97f4a7c15ull) >> 52) & MASK;
}

static struct unprotect_table *ut_new(void **state)
{
	struct unprotect_table *t = malloc(sizeof(*t));

	assert_non_null(t);
	memset(t, 0xa5, sizeof(*t));	/* init must not rely on zeroing */
	unprotect_init(t);
	*state = t;
	return t;
}

static int ut_teardown(void **state)
{
	free(*state);
	return 0;
}

/* Slot holding gfn (by scanning every slot), or -1. */
static int slot_holding(const struct unprotect_table *t, u64 gfn)
{
	int i;

	for (i = 0; i < UNPROTECT_SLOTS; i++)
		if (t->e[i].refs && t->e[i].gfn == gfn)
			return i;
	return -1;
}

/*
 * Structure: count = live slots, dead slots cleared, live access valid,
 * no duplicate gfn, and no empty slot between a live entry's home and the
 * entry (else a lookup would stop early: what backward shift guarantees).
 */
static void check_table(const struct unprotect_table *t)
{
	unsigned int i, live = 0;

	for (i = 0; i < UNPROTECT_SLOTS; i++) {
		const struct unprotect_entry *e = &t->e[i];
		unsigned int j;

		if (!e->refs) {
			if (e->gfn || e->access)
				fail_msg("dead slot %u: gfn %llx access %u", i,
					 (unsigned long long)e->gfn, e->access);
			continue;
		}
		live++;
		if (e->access != R && e->access != RW)
			fail_msg("slot %u: access %u", i, e->access);
		for (j = home_of(e->gfn); j != i; j = (j + 1) & MASK) {
			if (!t->e[j].refs)
				fail_msg("slot %u (gfn %llx, home %u): hole at %u",
					 i, (unsigned long long)e->gfn,
					 home_of(e->gfn), j);
			if (t->e[j].gfn == e->gfn)
				fail_msg("gfn %llx twice (slots %u, %u)",
					 (unsigned long long)e->gfn, j, i);
		}
	}
	assert_int_equal(t->count, live);
	assert_true(t->count <= UNPROTECT_MAX);
}

static int get(struct unprotect_table *t, u64 gfn, unsigned int access,
	       bool *changed)
{
	*changed = !*changed;	/* the call must set it either way */
	return unprotect_get(t, gfn, access, changed);
}

static int put(struct unprotect_table *t, u64 gfn, bool *gone)
{
	*gone = !*gone;
	return unprotect_put(t, gfn, gone);
}

static void test_init(void **state)
{
	struct unprotect_table *t = ut_new(state);
	unsigned int i;

	assert_int_equal(t->count, 0);
	assert_int_equal(t->generation, 0);
	for (i = 0; i < UNPROTECT_SLOTS; i++)
		assert_int_equal(t->e[i].refs, 0);
	assert_int_equal(unprotect_lookup(t, 0), 0);
	assert_int_equal(unprotect_lookup(t, 1), 0);
	assert_int_equal(unprotect_lookup(t, ~0ull), 0);
	check_table(t);
}

static void test_refcount(void **state)
{
	struct unprotect_table *t = ut_new(state);
	bool changed = false, gone = false;
	int s;

	assert_int_equal(get(t, 0x1234, R, &changed), 0);
	assert_true(changed);
	assert_int_equal(t->count, 1);
	assert_int_equal(t->generation, 1);
	assert_int_equal(unprotect_lookup(t, 0x1234), R);
	assert_int_equal(unprotect_lookup(t, 0x1235), 0);
	s = slot_holding(t, 0x1234);
	assert_true(s >= 0);
	assert_int_equal(s, home_of(0x1234));
	assert_int_equal(t->e[s].refs, 1);

	/* More references: nothing for the views to do. */
	assert_int_equal(get(t, 0x1234, R, &changed), 0);
	assert_false(changed);
	assert_int_equal(get(t, 0x1234, R, &changed), 0);
	assert_false(changed);
	assert_int_equal(t->e[s].refs, 3);
	assert_int_equal(t->count, 1);
	assert_int_equal(t->generation, 1);

	/* Drops: gone only on the last. */
	assert_int_equal(put(t, 0x1234, &gone), 0);
	assert_false(gone);
	assert_int_equal(put(t, 0x1234, &gone), 0);
	assert_false(gone);
	assert_int_equal(t->e[s].refs, 1);
	assert_int_equal(unprotect_lookup(t, 0x1234), R);
	assert_int_equal(t->generation, 1);
	assert_int_equal(put(t, 0x1234, &gone), 0);
	assert_true(gone);
	assert_int_equal(t->count, 0);
	assert_int_equal(t->generation, 2);
	assert_int_equal(unprotect_lookup(t, 0x1234), 0);
	check_table(t);

	/* Once more: ENOENT, no wrap to 0xffffffff, nothing changes. */
	assert_int_equal(put(t, 0x1234, &gone), -PKSV_ENOENT);
	assert_false(gone);
	assert_int_equal(t->count, 0);
	assert_int_equal(t->generation, 2);
	assert_int_equal(t->e[s].refs, 0);
	assert_int_equal(unprotect_lookup(t, 0x1234), 0);
	check_table(t);

	/* gfn 0 (the value of dead slots) and the largest gfn work too. */
	assert_int_equal(get(t, 0, RW, &changed), 0);
	assert_true(changed);
	assert_int_equal(get(t, ~0ull, R, &changed), 0);
	assert_true(changed);
	assert_int_equal(unprotect_lookup(t, 0), RW);
	assert_int_equal(unprotect_lookup(t, ~0ull), R);
	assert_int_equal(t->count, 2);
	assert_int_equal(put(t, 0, &gone), 0);
	assert_true(gone);
	assert_int_equal(put(t, 0, &gone), -PKSV_ENOENT);
	assert_false(gone);
	assert_int_equal(unprotect_lookup(t, ~0ull), R);
	assert_int_equal(put(t, ~0ull, &gone), 0);
	assert_true(gone);
	assert_int_equal(t->count, 0);
	assert_int_equal(t->generation, 6);
	check_table(t);
}

static void test_put_absent(void **state)
{
	struct unprotect_table *t = ut_new(state);
	struct unprotect_table *before = malloc(sizeof(*before));
	bool changed = false, gone = false;
	u64 g;

	assert_non_null(before);
	/* Empty table. */
	assert_int_equal(put(t, 7, &gone), -PKSV_ENOENT);
	assert_false(gone);
	assert_int_equal(put(t, 0, &gone), -PKSV_ENOENT);
	assert_false(gone);
	/* Neighbours present, and a gfn sharing the home slot of one. */
	for (g = 100; g < 110; g++)
		assert_int_equal(get(t, g, R, &changed), 0);
	for (g = 111; home_of(g) != home_of(105); g++)
		;
	memcpy(before, t, sizeof(*before));
	assert_int_equal(put(t, 110, &gone), -PKSV_ENOENT);
	assert_false(gone);
	assert_int_equal(put(t, g, &gone), -PKSV_ENOENT);
	assert_false(gone);
	assert_int_equal(put(t, 0, &gone), -PKSV_ENOENT);
	assert_memory_equal(before, t, sizeof(*before));
	free(before);
}

static void test_access_union(void **state)
{
	struct unprotect_table *t = ut_new(state);
	bool changed = false, gone = false;

	assert_int_equal(get(t, 42, R, &changed), 0);
	assert_true(changed);
	assert_int_equal(t->generation, 1);
	/* Access grows: the views must open the page for writes. */
	assert_int_equal(get(t, 42, RW, &changed), 0);
	assert_true(changed);
	assert_int_equal(unprotect_lookup(t, 42), RW);
	assert_int_equal(t->generation, 2);
	assert_int_equal(t->count, 1);
	/* Already covered: no change. */
	assert_int_equal(get(t, 42, R, &changed), 0);
	assert_false(changed);
	assert_int_equal(get(t, 42, RW, &changed), 0);
	assert_false(changed);
	assert_int_equal(unprotect_lookup(t, 42), RW);
	assert_int_equal(t->generation, 2);
	assert_int_equal(t->e[slot_holding(t, 42)].refs, 4);

	/*
	 * Two READ|WRITE and two READ references: PROTECT drops the widest
	 * first, so the page stays writable for exactly as many PROTECTs as
	 * there were writers (review finding 9: a READ holder must not keep
	 * it writable), then readable until the last reference goes.
	 */
	assert_int_equal(t->e[slot_holding(t, 42)].refs_write, 2);
	assert_int_equal(put(t, 42, &gone), 0);
	assert_false(gone);
	assert_int_equal(unprotect_lookup(t, 42), RW);
	assert_int_equal(t->generation, 2);
	assert_int_equal(put(t, 42, &gone), 0);
	assert_false(gone);
	assert_int_equal(unprotect_lookup(t, 42), R);
	assert_int_equal(t->generation, 3);	/* narrowed: the views must close writes */
	assert_int_equal(put(t, 42, &gone), 0);
	assert_false(gone);
	assert_int_equal(unprotect_lookup(t, 42), R);
	assert_int_equal(t->generation, 3);
	assert_int_equal(put(t, 42, &gone), 0);
	assert_true(gone);
	assert_int_equal(unprotect_lookup(t, 42), 0);
	assert_int_equal(t->generation, 4);

	/* Starting with RW: a later R changes nothing until the writer goes. */
	assert_int_equal(get(t, 42, RW, &changed), 0);
	assert_true(changed);
	assert_int_equal(get(t, 42, R, &changed), 0);
	assert_false(changed);
	assert_int_equal(unprotect_lookup(t, 42), RW);
	assert_int_equal(t->generation, 5);
	assert_int_equal(put(t, 42, &gone), 0);
	assert_false(gone);
	assert_int_equal(unprotect_lookup(t, 42), R);
	check_table(t);
}

/* unprotect_put_entry(): what the caller must do to the views, and the entry it had. */
static void test_put_entry_drop(void **state)
{
	struct unprotect_table *t = ut_new(state);
	struct unprotect_entry last;
	enum unprotect_drop drop;
	bool changed = false;

	assert_int_equal(get(t, 7, R, &changed), 0);
	assert_int_equal(get(t, 7, RW, &changed), 0);
	assert_int_equal(get(t, 7, R, &changed), 0);
	memset(&last, 0, sizeof(last));
	assert_int_equal(unprotect_put_entry(t, 7, &drop, &last), 0);
	assert_int_equal(drop, UNPROTECT_NARROWED);
	assert_int_equal(last.gfn, 7);
	assert_int_equal(last.access, RW);
	assert_int_equal(unprotect_lookup(t, 7), R);
	assert_int_equal(unprotect_put_entry(t, 7, &drop, &last), 0);
	assert_int_equal(drop, UNPROTECT_KEPT);
	assert_int_equal(unprotect_put_entry(t, 7, &drop, &last), 0);
	assert_int_equal(drop, UNPROTECT_GONE);
	assert_int_equal(last.gfn, 7);
	assert_int_equal(last.access, R);
	assert_int_equal(unprotect_put_entry(t, 7, &drop, &last), -PKSV_ENOENT);
	assert_int_equal(drop, UNPROTECT_KEPT);
	check_table(t);
}

static void test_invalid_access(void **state)
{
	struct unprotect_table *t = ut_new(state);
	struct unprotect_table *before = malloc(sizeof(*before));
	static const unsigned int bad[] = {
		0, PKSV_ACCESS_WRITE, 4, 5, 6, 7, 8, 0x80000001u, ~0u,
	};
	bool changed = false;
	unsigned int i;

	assert_non_null(before);
	assert_int_equal(get(t, 9, R, &changed), 0);
	memcpy(before, t, sizeof(*before));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* On an absent page and on a present one. */
		changed = true;
		assert_int_equal(unprotect_get(t, 8, bad[i], &changed),
				 -PKSV_EINVAL);
		assert_false(changed);
		changed = true;
		assert_int_equal(unprotect_get(t, 9, bad[i], &changed),
				 -PKSV_EINVAL);
		assert_false(changed);
	}
	assert_memory_equal(before, t, sizeof(*before));
	assert_int_equal(unprotect_lookup(t, 8), 0);
	assert_int_equal(unprotect_lookup(t, 9), R);
	free(before);
}

static void test_refcount_overflow(void **state)
{
	struct unprotect_table *t = ut_new(state);
	struct unprotect_table *before = malloc(sizeof(*before));
	bool changed = false, gone = false;
	int s;

	assert_non_null(before);
	assert_int_equal(get(t, 0x777, R, &changed), 0);
	s = slot_holding(t, 0x777);
	assert_true(s >= 0);
	t->e[s].refs = 0xfffffffeu;

	/* The last reference that fits. */
	assert_int_equal(get(t, 0x777, R, &changed), 0);
	assert_false(changed);
	assert_int_equal(t->e[s].refs, 0xffffffffu);

	/* One more would wrap: ERANGE, also when the access would grow. */
	memcpy(before, t, sizeof(*before));
	changed = true;
	assert_int_equal(unprotect_get(t, 0x777, R, &changed), -PKSV_ERANGE);
	assert_false(changed);
	changed = true;
	assert_int_equal(unprotect_get(t, 0x777, RW, &changed), -PKSV_ERANGE);
	assert_false(changed);
	assert_memory_equal(before, t, sizeof(*before));
	assert_int_equal(unprotect_lookup(t, 0x777), R);

	/* Other pages are unaffected. */
	assert_int_equal(get(t, 0x778, RW, &changed), 0);
	assert_true(changed);

	/* Dropping one makes room again. */
	assert_int_equal(put(t, 0x777, &gone), 0);
	assert_false(gone);
	assert_int_equal(t->e[s].refs, 0xfffffffeu);
	assert_int_equal(get(t, 0x777, RW, &changed), 0);
	assert_true(changed);
	assert_int_equal(t->e[s].refs, 0xffffffffu);
	assert_int_equal(unprotect_lookup(t, 0x777), RW);
	check_table(t);
	free(before);
}

static void test_full(void **state)
{
	struct unprotect_table *t = ut_new(state);
	struct unprotect_table *before = malloc(sizeof(*before));
	bool changed = false, gone = false;
	u64 g, gen;

	assert_non_null(before);
	/* Consecutive gfns, as kmap() of a large buffer would give. */
	for (g = 0; g < UNPROTECT_MAX; g++) {
		assert_int_equal(get(t, 0x100000 + g, g % 2 ? RW : R, &changed),
				 0);
		assert_true(changed);
	}
	assert_int_equal(t->count, UNPROTECT_MAX);
	assert_int_equal(t->generation, UNPROTECT_MAX);
	check_table(t);

	/* A new page: no room, nothing changed. */
	memcpy(before, t, sizeof(*before));
	changed = true;
	assert_int_equal(unprotect_get(t, 0x100000 + UNPROTECT_MAX, R,
				       &changed), -PKSV_ENOSPC);
	assert_false(changed);
	changed = true;
	assert_int_equal(unprotect_get(t, 0, RW, &changed), -PKSV_ENOSPC);
	assert_false(changed);
	assert_memory_equal(before, t, sizeof(*before));
	/* Absent lookups and puts still terminate with the table full. */
	assert_int_equal(unprotect_lookup(t, 0x100000 + UNPROTECT_MAX), 0);
	assert_int_equal(put(t, 0x100000 + UNPROTECT_MAX, &gone),
			 -PKSV_ENOENT);
	assert_memory_equal(before, t, sizeof(*before));

	/* Pages already present take no slot: more refs, access growth. */
	assert_int_equal(get(t, 0x100000, R, &changed), 0);
	assert_false(changed);
	assert_int_equal(get(t, 0x100000, RW, &changed), 0);
	assert_true(changed);
	assert_int_equal(t->count, UNPROTECT_MAX);

	/* Freeing one entry makes room for exactly one. */
	assert_int_equal(put(t, 0x100001, &gone), 0);
	assert_true(gone);
	gen = t->generation;
	assert_int_equal(get(t, 0x100000 + UNPROTECT_MAX, R, &changed), 0);
	assert_true(changed);
	assert_int_equal(t->generation, gen + 1);
	assert_int_equal(get(t, 0x100001, R, &changed), -PKSV_ENOSPC);
	assert_false(changed);
	check_table(t);
	for (g = 0; g <= UNPROTECT_MAX; g++)
		assert_int_equal(unprotect_lookup(t, 0x100000 + g),
				 g == 1 ? 0 : g == 0 ? RW : g % 2 ? RW : R);

	/* Empty it completely, in an order unrelated to the slots. */
	for (g = 0; g <= UNPROTECT_MAX; g++) {
		u64 x = (g * 1237) % (UNPROTECT_MAX + 1);

		if (x == 1)
			continue;
		while (put(t, 0x100000 + x, &gone) == 0 && !gone)
			;
		assert_true(gone);
	}
	assert_int_equal(t->count, 0);
	check_table(t);
	free(before);
}

/* n gfns >= *from whose home slot is home (brute force). */
static void colliding(unsigned int home, u64 *out, unsigned int n, u64 from)
{
	unsigned int i = 0;
	u64 g;

	for (g = from; i < n; g++)
		if (home_of(g) == home)
			out[i++] = g;
}

static void check_present(const struct unprotect_table *t, const u64 *g,
			  const bool *live, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (unprotect_lookup(t, g[i]) != (live[i] ? R : 0))
			fail_msg("gfn %llx (#%u): lookup %u, want %u",
				 (unsigned long long)g[i], i,
				 unprotect_lookup(t, g[i]), live[i] ? R : 0);
}

/*
 * Long probe runs: three interleaved clusters whose homes are adjacent
 * and straddle the end of the table (the run wraps to slot 0), deleted in
 * several orders; every lookup is checked after every deletion.
 */
#define CL	3
#define PER	24
#define NG	(CL * PER)

static void test_collisions(void **state)
{
	struct unprotect_table *t = ut_new(state);
	u64 g[NG], tmp[PER];
	bool live[NG], changed = false, gone = false;
	unsigned int c, i, round, wrapped = 0;

	for (c = 0; c < CL; c++) {
		colliding((UNPROTECT_SLOTS - 2 + c) & MASK, tmp, PER,
			  1 + c * 1000000ull);
		for (i = 0; i < PER; i++)
			g[i * CL + c] = tmp[i];	/* interleave the clusters */
	}
	for (round = 0; round < 4; round++) {
		u64 seed = round;

		for (i = 0; i < NG; i++) {
			assert_int_equal(get(t, g[i], R, &changed), 0);
			assert_true(changed);
			live[i] = true;
		}
		assert_int_equal(t->count, NG);
		check_table(t);
		check_present(t, g, live, NG);
		/* The runs really are long and wrap around. */
		assert_true(t->e[(UNPROTECT_SLOTS - 2 + NG - 1) & MASK].refs);
		wrapped += t->e[0].refs != 0;

		for (i = 0; i < NG; i++) {
			unsigned int k;

			switch (round) {
			case 0:	k = i; break;			/* oldest first */
			case 1:	k = NG - 1 - i; break;		/* newest first */
			case 2:	k = (i * 7 + 3) % NG; break;	/* scattered */
			default:					/* random */
				do {
					seed = seed * 6364136223846793005ull +
					       1442695040888963407ull;
					k = (seed >> 33) % NG;
				} while (!live[k]);
			}
			assert_true(live[k]);
			assert_int_equal(put(t, g[k], &gone), 0);
			assert_true(gone);
			live[k] = false;
			assert_int_equal(t->count, NG - 1 - i);
			check_table(t);
			check_present(t, g, live, NG);
		}
	}
	assert_true(wrapped == 4);
}

/*
 * Randomized comparison with a reference model over a small gfn universe
 * that mixes colliding gfns (long runs) with ordinary ones.  Checks the
 * return value, changed / gone, count, generation (which must move exactly
 * when the set or an access changes) and every lookup after every op.
 */
#define UNI	96

struct ref { u32 refs; u32 writers; u8 access; };

static u64 lcg(u64 *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

static void test_random_model(void **state)
{
	struct unprotect_table *t = ut_new(state);
	static struct ref m[UNI];
	u64 uni[UNI], seed = 2024, gen = 0;
	unsigned int op, i, count = 0, ops = 200000;
	unsigned int gets = 0, puts = 0, enoent = 0, einval = 0, gones = 0;
	unsigned int maxrun = 0;

	/* 4 clusters of 16 around slots 100 and 4094, 32 consecutive gfns. */
	colliding(100, uni, 16, 0);
	colliding(101, uni + 16, 16, 0);
	colliding(4094, uni + 32, 16, 0);
	colliding(4095, uni + 48, 16, 0);
	for (i = 0; i < 32; i++)
		uni[64 + i] = 0x4000 + i;
	memset(m, 0, sizeof(m));

	for (op = 0; op < ops; op++) {
		unsigned int k = lcg(&seed) % UNI;
		unsigned int r = lcg(&seed) % 100;
		bool changed = false, gone = false;
		int want, got;

		if (r < 50) {
			/* get, mostly with a valid access */
			static const unsigned int acc[] = {
				R, R, R, RW, RW, 0, PKSV_ACCESS_WRITE, 4, 7,
			};
			unsigned int a = acc[lcg(&seed) % 9];
			bool wchanged = false;

			if (a != R && a != RW) {
				want = -PKSV_EINVAL;
			} else {
				want = 0;
				wchanged = !m[k].refs || (m[k].access | a) != m[k].access;
				count += !m[k].refs;
				m[k].refs++;
				m[k].writers += a == RW;
				m[k].access |= a;
				gen += wchanged;
			}
			got = get(t, uni[k], a, &changed);
			if (got != want || changed != wchanged)
				fail_msg("op %u: get #%u access %u: %d/%d, want %d/%d",
					 op, k, a, got, changed, want, wchanged);
			gets++;
			einval += got == -PKSV_EINVAL;
		} else {
			bool wgone = false;

			if (!m[k].refs) {
				want = -PKSV_ENOENT;
			} else {
				want = 0;
				if (--m[k].refs == 0) {
					m[k].access = 0;
					m[k].writers = 0;
					wgone = true;
					count--;
					gen++;
				} else if (m[k].writers && --m[k].writers == 0) {
					m[k].access = R;	/* widest first */
					gen++;
				}
			}
			got = put(t, uni[k], &gone);
			if (got != want || gone != wgone)
				fail_msg("op %u: put #%u: %d/%d, want %d/%d",
					 op, k, got, gone, want, wgone);
			puts++;
			enoent += got == -PKSV_ENOENT;
			gones += gone;
		}
		assert_int_equal(t->count, count);
		assert_int_equal(t->generation, gen);
		for (i = 0; i < UNI; i++)
			if (unprotect_lookup(t, uni[i]) != m[i].access)
				fail_msg("op %u: lookup #%u = %u, want %u", op,
					 i, unprotect_lookup(t, uni[i]),
					 m[i].access);
		if (op % 1000 == 0) {
			check_table(t);
			for (i = 0; i < UNI; i++) {
				int s = slot_holding(t, uni[i]);

				assert_int_equal(s < 0 ? 0 : t->e[s].refs,
						 m[i].refs);
			}
		}
		/* Longest occupied stretch from slot 100 (probe run length). */
		if (op % 97 == 0) {
			unsigned int n = 0;

			while (n < UNPROTECT_SLOTS && t->e[(100 + n) & MASK].refs)
				n++;
			if (n > maxrun)
				maxrun = n;
		}
	}
	check_table(t);
	assert_true(enoent > 1000 && einval > 1000 && gones > 1000);
	assert_true(maxrun >= 16);
	print_message("random: %u gets (%u EINVAL), %u puts (%u ENOENT, %u gone), "
		      "longest run %u\n", gets, einval, puts, enoent, gones,
		      maxrun);
}

/*
 * Near capacity: a large universe so that ENOSPC happens often; the model
 * decides ENOSPC from its own count.  Lookups of the touched gfn and a few
 * random ones every op, all of them every 1000 ops.
 */
#define BIG	4000

static void test_random_full(void **state)
{
	struct unprotect_table *t = ut_new(state);
	static struct ref m[BIG];
	u64 seed = 77, gen = 0;
	unsigned int op, i, count = 0, nospc = 0, maxcount = 0;

	memset(m, 0, sizeof(m));
	for (op = 0; op < 60000; op++) {
		unsigned int k = lcg(&seed) % BIG;
		/* Mostly gets until full, then balanced. */
		bool doget = lcg(&seed) % 100 < (count < UNPROTECT_MAX - 50 ? 80 : 50);
		bool changed = false, gone = false;
		int want, got;

		if (doget) {
			unsigned int a = lcg(&seed) % 4 ? R : RW;
			bool wchanged = false;

			if (!m[k].refs && count >= UNPROTECT_MAX) {
				want = -PKSV_ENOSPC;
			} else {
				want = 0;
				wchanged = !m[k].refs || (m[k].access | a) != m[k].access;
				count += !m[k].refs;
				m[k].refs++;
				m[k].writers += a == RW;
				m[k].access |= a;
				gen += wchanged;
			}
			got = get(t, 0x80000 + k, a, &changed);
			if (got != want || changed != wchanged)
				fail_msg("op %u: get %u: %d/%d want %d/%d", op,
					 k, got, changed, want, wchanged);
			nospc += got == -PKSV_ENOSPC;
		} else {
			bool wgone = false;

			want = m[k].refs ? 0 : -PKSV_ENOENT;
			if (m[k].refs && --m[k].refs == 0) {
				m[k].access = 0;
				m[k].writers = 0;
				wgone = true;
				count--;
				gen++;
			} else if (m[k].refs && m[k].writers && --m[k].writers == 0) {
				m[k].access = R;	/* widest first */
				gen++;
			}
			got = put(t, 0x80000 + k, &gone);
			if (got != want || gone != wgone)
				fail_msg("op %u: put %u: %d/%d want %d/%d", op,
					 k, got, gone, want, wgone);
		}
		assert_int_equal(t->count, count);
		assert_int_equal(t->generation, gen);
		if (count > maxcount)
			maxcount = count;
		assert_int_equal(unprotect_lookup(t, 0x80000 + k), m[k].access);
		for (i = 0; i < 8; i++) {
			unsigned int j = lcg(&seed) % BIG;

			assert_int_equal(unprotect_lookup(t, 0x80000 + j),
					 m[j].access);
		}
		if (op % 1000 == 999) {
			check_table(t);
			for (i = 0; i < BIG; i++)
				assert_int_equal(unprotect_lookup(t, 0x80000 + i),
						 m[i].access);
		}
	}
	assert_int_equal(maxcount, UNPROTECT_MAX);
	assert_true(nospc > 100);
	print_message("random full: %u ENOSPC, final count %u\n", nospc, count);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_init, ut_teardown),
		cmocka_unit_test_teardown(test_refcount, ut_teardown),
		cmocka_unit_test_teardown(test_put_absent, ut_teardown),
		cmocka_unit_test_teardown(test_access_union, ut_teardown),
		cmocka_unit_test_teardown(test_put_entry_drop, ut_teardown),
		cmocka_unit_test_teardown(test_invalid_access, ut_teardown),
		cmocka_unit_test_teardown(test_refcount_overflow, ut_teardown),
		cmocka_unit_test_teardown(test_full, ut_teardown),
		cmocka_unit_test_teardown(test_collisions, ut_teardown),
		cmocka_unit_test_teardown(test_random_model, ut_teardown),
		cmocka_unit_test_teardown(test_random_full, ut_teardown),
	};

	return cmocka_run_group_tests_name("unprotect", tests, NULL, NULL);
}
