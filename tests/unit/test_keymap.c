// SPDX-License-Identifier: MIT
/*
 * Unit tests for pks/keymap.c: the argument rules, merge and split, ENOSPC
 * leaving the map unchanged, lookups on range boundaries, and a randomized
 * comparison against a page-by-page reference model.
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

#define PG	4096ull
#define PV	KEYMAP_PV
#define DISC	KEYMAP_DISCOVERED

static struct keymap *km_new(void **state)
{
	struct keymap *km = malloc(sizeof(*km));

	assert_non_null(km);
	memset(km, 0xa5, sizeof(*km));	/* init must not rely on zeroing */
	keymap_init(km);
	*state = km;
	return km;
}

static int km_teardown(void **state)
{
	free(*state);
	return 0;
}

/* Sorted, disjoint, non-empty, aligned, keys 1..15, no mergeable pair. */
static void check_invariants(const struct keymap *km)
{
	unsigned int i;

	assert_true(km->n <= KEYMAP_MAX);
	for (i = 0; i < km->n; i++) {
		const struct keymap_range *r = &km->r[i];

		assert_true(r->start < r->end);
		assert_int_equal(r->start % PG, 0);
		assert_int_equal(r->end % PG, 0);
		assert_true(r->key >= 1 && r->key <= 15);
		assert_true(r->source == PV || r->source == DISC);
		if (i) {
			const struct keymap_range *p = &km->r[i - 1];

			assert_true(p->end <= r->start);
			assert_false(p->end == r->start && p->key == r->key &&
				     p->source == r->source);
		}
	}
}

static void expect_range(const struct keymap *km, unsigned int i, u64 start,
			 u64 end, unsigned int key, u8 source)
{
	assert_true(i < km->n);
	assert_int_equal(km->r[i].start, start);
	assert_int_equal(km->r[i].end, end);
	assert_int_equal(km->r[i].key, key);
	assert_int_equal(km->r[i].source, source);
}

static void test_init(void **state)
{
	struct keymap *km = km_new(state);

	assert_int_equal(km->n, 0);
	assert_int_equal(km->generation, 0);
	assert_int_equal(keymap_lookup(km, 0), 0);
	assert_int_equal(keymap_lookup(km, ~0ull), 0);
}

static void test_errors(void **state)
{
	struct keymap *km = km_new(state);
	struct keymap before;

	assert_int_equal(keymap_add(km, 0x10000, 0x3000, 3, PV), 0);
	memcpy(&before, km, sizeof(before));

	assert_int_equal(keymap_add(km, 0x20001, PG, 1, PV), -PKSV_EALIGN);
	assert_int_equal(keymap_add(km, 0x20000, 0x800, 1, PV), -PKSV_EALIGN);
	assert_int_equal(keymap_add(km, 0x20000, PG + 1, 1, PV), -PKSV_EALIGN);
	/* Alignment is checked before the length and the key. */
	assert_int_equal(keymap_add(km, 0x20800, 0, 0, PV), -PKSV_EALIGN);
	assert_int_equal(keymap_add(km, 0x20000, 0, 1, PV), -PKSV_EINVAL);
	assert_int_equal(keymap_add(km, ~0ull & ~0xfffull, 2 * PG, 1, PV),
			 -PKSV_EINVAL);
	/* Ending exactly at 2^64 wraps to 0 as well. */
	assert_int_equal(keymap_add(km, ~0ull & ~0xfffull, PG, 1, PV),
			 -PKSV_EINVAL);
	assert_int_equal(keymap_add(km, 0x20000, PG, 0, PV), -PKSV_EKEY);
	assert_int_equal(keymap_add(km, 0x20000, PG, 16, PV), -PKSV_EKEY);
	assert_int_equal(keymap_add(km, 0x20000, PG, ~0u, PV), -PKSV_EKEY);
	assert_int_equal(keymap_add(km, 0x20000, PG, 1, 0), -PKSV_EINVAL);
	assert_int_equal(keymap_add(km, 0x20000, PG, 1, 3), -PKSV_EINVAL);
	/* Overlap with another key, or the same key of another source. */
	assert_int_equal(keymap_add(km, 0x12000, PG, 4, PV), -PKSV_EINVAL);
	assert_int_equal(keymap_add(km, 0xf000, 2 * PG, 4, PV), -PKSV_EINVAL);
	assert_int_equal(keymap_add(km, 0x0, 0x100000, 4, PV), -PKSV_EINVAL);
	assert_int_equal(keymap_add(km, 0x11000, PG, 3, DISC), -PKSV_EINVAL);

	assert_int_equal(keymap_remove(km, 0x10800, PG, PV), -PKSV_EALIGN);
	assert_int_equal(keymap_remove(km, 0x10000, 0x10, PV), -PKSV_EALIGN);
	assert_int_equal(keymap_remove(km, 0x10000, 0, PV), -PKSV_EINVAL);
	assert_int_equal(keymap_remove(km, ~0ull & ~0xfffull, 2 * PG, PV),
			 -PKSV_EINVAL);
	assert_int_equal(keymap_remove(km, 0x10000, PG, 7), -PKSV_EINVAL);
	assert_int_equal(keymap_remove(km, 0x20000, PG, PV), -PKSV_ENOENT);
	assert_int_equal(keymap_remove(km, 0xf000, PG, PV), -PKSV_ENOENT);
	assert_int_equal(keymap_remove(km, 0x13000, PG, PV), -PKSV_ENOENT);
	/* Only another source's range there: nothing to remove. */
	assert_int_equal(keymap_remove(km, 0x10000, PG, DISC), -PKSV_ENOENT);

	/* No failed call changed anything, the generation included. */
	assert_memory_equal(&before, km, sizeof(before));
	/* The highest possible page is fine. */
	assert_int_equal(keymap_add(km, ~0ull & ~0xfffull & ~PG, PG, 2, PV),
			 0);
	check_invariants(km);
}

static void test_lookup_boundaries(void **state)
{
	struct keymap *km = km_new(state);

	assert_int_equal(keymap_add(km, 0x10000, 0x3000, 3, PV), 0);
	assert_int_equal(keymap_add(km, 0x13000, PG, 5, PV), 0); /* touching */
	assert_int_equal(keymap_add(km, 0x0, PG, 1, DISC), 0);
	assert_int_equal(keymap_add(km, 0x100000000ull, SZ_1G, 15, DISC), 0);
	assert_int_equal(km->n, 4);
	check_invariants(km);

	assert_int_equal(keymap_lookup(km, 0), 1);
	assert_int_equal(keymap_lookup(km, 0xfff), 1);
	assert_int_equal(keymap_lookup(km, 0x1000), 0);
	assert_int_equal(keymap_lookup(km, 0xffff), 0);
	assert_int_equal(keymap_lookup(km, 0x10000), 3);
	assert_int_equal(keymap_lookup(km, 0x11234), 3);
	assert_int_equal(keymap_lookup(km, 0x12fff), 3);
	assert_int_equal(keymap_lookup(km, 0x13000), 5);
	assert_int_equal(keymap_lookup(km, 0x13fff), 5);
	assert_int_equal(keymap_lookup(km, 0x14000), 0);
	assert_int_equal(keymap_lookup(km, 0xffffffffull), 0);
	assert_int_equal(keymap_lookup(km, 0x100000000ull), 15);
	assert_int_equal(keymap_lookup(km, 0x13fffffffull), 15);
	assert_int_equal(keymap_lookup(km, 0x140000000ull), 0);
	assert_int_equal(keymap_lookup(km, ~0ull), 0);
}

static void test_merge(void **state)
{
	struct keymap *km = km_new(state);
	u64 gen;

	/* [A,B) and [C,D), then [B,C): one range. */
	assert_int_equal(keymap_add(km, 0x10000, PG, 2, PV), 0);
	assert_int_equal(keymap_add(km, 0x12000, PG, 2, PV), 0);
	assert_int_equal(km->n, 2);
	assert_int_equal(km->generation, 2);
	assert_int_equal(keymap_add(km, 0x11000, PG, 2, PV), 0);
	assert_int_equal(km->n, 1);
	expect_range(km, 0, 0x10000, 0x13000, 2, PV);
	assert_int_equal(km->generation, 3);

	/* Identical or contained: success, nothing changes. */
	gen = km->generation;
	assert_int_equal(keymap_add(km, 0x10000, 0x3000, 2, PV), 0);
	assert_int_equal(keymap_add(km, 0x11000, PG, 2, PV), 0);
	assert_int_equal(km->n, 1);
	assert_int_equal(km->generation, gen);

	/* Partial overlap on either side: union. */
	assert_int_equal(keymap_add(km, 0xe000, 0x3000, 2, PV), 0);
	assert_int_equal(keymap_add(km, 0x12000, 0x4000, 2, PV), 0);
	assert_int_equal(km->n, 1);
	expect_range(km, 0, 0xe000, 0x16000, 2, PV);
	assert_int_equal(km->generation, gen + 2);

	/* Touching, same key, other source: stays separate. */
	assert_int_equal(keymap_add(km, 0x16000, PG, 2, DISC), 0);
	/* Touching, other key: separate. */
	assert_int_equal(keymap_add(km, 0xd000, PG, 9, PV), 0);
	assert_int_equal(km->n, 3);
	expect_range(km, 0, 0xd000, 0xe000, 9, PV);
	expect_range(km, 1, 0xe000, 0x16000, 2, PV);
	expect_range(km, 2, 0x16000, 0x17000, 2, DISC);

	/* One add swallowing several ranges with gaps, between strangers. */
	assert_int_equal(keymap_add(km, 0x20000, PG, 4, PV), 0);
	assert_int_equal(keymap_add(km, 0x22000, PG, 4, PV), 0);
	assert_int_equal(keymap_add(km, 0x24000, 0x2000, 4, PV), 0);
	assert_int_equal(keymap_add(km, 0x27000, PG, 6, PV), 0);
	assert_int_equal(km->n, 7);
	assert_int_equal(keymap_add(km, 0x17000, 0x10000, 4, PV), 0);
	assert_int_equal(km->n, 5);
	expect_range(km, 2, 0x16000, 0x17000, 2, DISC);
	expect_range(km, 3, 0x17000, 0x27000, 4, PV);
	expect_range(km, 4, 0x27000, 0x28000, 6, PV);
	check_invariants(km);
}

static void test_remove_split(void **state)
{
	struct keymap *km = km_new(state);
	u64 gen;

	assert_int_equal(keymap_add(km, 0x10000, 0x10000, 7, PV), 0);
	gen = km->generation;

	/* Middle: split in two. */
	assert_int_equal(keymap_remove(km, 0x14000, 0x2000, PV), 0);
	assert_int_equal(km->generation, gen + 1);
	assert_int_equal(km->n, 2);
	expect_range(km, 0, 0x10000, 0x14000, 7, PV);
	expect_range(km, 1, 0x16000, 0x20000, 7, PV);
	assert_int_equal(keymap_lookup(km, 0x13fff), 7);
	assert_int_equal(keymap_lookup(km, 0x14000), 0);
	assert_int_equal(keymap_lookup(km, 0x15fff), 0);
	assert_int_equal(keymap_lookup(km, 0x16000), 7);

	/* Trim the left end, the right end; the hole again: ENOENT. */
	assert_int_equal(keymap_remove(km, 0xf000, 0x2000, PV), 0);
	expect_range(km, 0, 0x11000, 0x14000, 7, PV);
	assert_int_equal(keymap_remove(km, 0x1f000, 0x5000, PV), 0);
	expect_range(km, 1, 0x16000, 0x1f000, 7, PV);
	assert_int_equal(keymap_remove(km, 0x14000, 0x2000, PV), -PKSV_ENOENT);
	assert_int_equal(km->generation, gen + 3);

	/* Across the hole: trims both sides at once. */
	assert_int_equal(keymap_remove(km, 0x13000, 0x4000, PV), 0);
	assert_int_equal(km->n, 2);
	expect_range(km, 0, 0x11000, 0x13000, 7, PV);
	expect_range(km, 1, 0x17000, 0x1f000, 7, PV);

	/* Spanning several, another source's range in between survives. */
	assert_int_equal(keymap_add(km, 0x14000, PG, 7, DISC), 0);
	assert_int_equal(keymap_add(km, 0x30000, PG, 8, PV), 0);
	assert_int_equal(keymap_remove(km, 0x0, 0x30000, PV), 0);
	assert_int_equal(km->n, 2);
	expect_range(km, 0, 0x14000, 0x15000, 7, DISC);
	expect_range(km, 1, 0x30000, 0x31000, 8, PV);

	/* Exact whole range. */
	assert_int_equal(keymap_remove(km, 0x30000, PG, PV), 0);
	assert_int_equal(km->n, 1);
	check_invariants(km);
}

static void test_clear_source(void **state)
{
	struct keymap *km = km_new(state);
	u64 gen;
	int i;

	for (i = 0; i < 10; i++)
		assert_int_equal(keymap_add(km, i * 0x10000ull, PG, 1 + i,
					    i % 3 ? DISC : PV), 0);
	gen = km->generation;
	keymap_clear_source(km, DISC);
	assert_int_equal(km->n, 4);
	assert_int_equal(km->generation, gen + 1);
	for (i = 0; i < 10; i++)
		assert_int_equal(keymap_lookup(km, i * 0x10000ull),
				 i % 3 ? 0 : 1 + i);
	keymap_clear_source(km, DISC);	/* nothing left: no change */
	assert_int_equal(km->generation, gen + 1);
	keymap_clear_source(km, PV);
	assert_int_equal(km->n, 0);
	assert_int_equal(km->generation, gen + 2);
}

/* Fill the map with KEYMAP_MAX separate ranges (gaps between them). */
static void fill(struct keymap *km)
{
	unsigned int i;

	for (i = 0; i < KEYMAP_MAX; i++)
		assert_int_equal(keymap_add(km, i * 4 * PG, 2 * PG,
					    1 + i % 15, PV), 0);
	assert_int_equal(km->n, KEYMAP_MAX);
}

static void test_full(void **state)
{
	struct keymap *km = km_new(state);
	struct keymap before;

	fill(km);
	check_invariants(km);
	memcpy(&before, km, sizeof(before));

	/* A new separate range: no room, and nothing changed. */
	assert_int_equal(keymap_add(km, KEYMAP_MAX * 4 * PG, PG, 1, PV),
			 -PKSV_ENOSPC);
	/* Touching range 0 but of another source: needs a slot too. */
	assert_int_equal(keymap_add(km, 2 * PG, PG, 1, DISC), -PKSV_ENOSPC);
	assert_memory_equal(&before, km, sizeof(before));

	/* Extending a range takes no slot: fine when full. */
	assert_int_equal(keymap_add(km, 2 * PG, PG, 1, PV), 0);
	assert_int_equal(km->n, KEYMAP_MAX);
	expect_range(km, 0, 0, 3 * PG, 1, PV);

	/* Punching the middle of [0, 3) would need a slot: refused. */
	memcpy(&before, km, sizeof(before));
	assert_int_equal(keymap_remove(km, PG, PG, PV), -PKSV_ENOSPC);
	assert_memory_equal(&before, km, sizeof(before));
	/* Trimming needs none. */
	assert_int_equal(keymap_remove(km, 2 * PG, PG, PV), 0);
	assert_int_equal(km->n, KEYMAP_MAX);
	expect_range(km, 0, 0, 2 * PG, 1, PV);

	/* Removing a whole range frees a slot for a new one. */
	assert_int_equal(keymap_remove(km, 4 * PG, 2 * PG, PV), 0);
	assert_int_equal(km->n, KEYMAP_MAX - 1);
	assert_int_equal(keymap_add(km, KEYMAP_MAX * 4 * PG, PG, 1, PV), 0);
	assert_int_equal(km->n, KEYMAP_MAX);
	assert_int_equal(keymap_lookup(km, KEYMAP_MAX * 4 * PG), 1);
	assert_int_equal(keymap_lookup(km, 4 * PG), 0);

	/* Bridging [0, 2) and a new [4, 6) of key 1 frees a slot again. */
	assert_int_equal(keymap_add(km, 4 * PG, 2 * PG, 1, PV), -PKSV_ENOSPC);
	assert_int_equal(keymap_add(km, 2 * PG, 4 * PG, 1, PV), 0);
	assert_int_equal(km->n, KEYMAP_MAX);
	expect_range(km, 0, 0, 6 * PG, 1, PV);
	/* Split it again, with a slot freed first (range [8, 10)). */
	assert_int_equal(keymap_remove(km, 2 * PG, 2 * PG, PV), -PKSV_ENOSPC);
	assert_int_equal(keymap_remove(km, 8 * PG, 2 * PG, PV), 0);
	assert_int_equal(keymap_remove(km, 2 * PG, 2 * PG, PV), 0);
	assert_int_equal(km->n, KEYMAP_MAX);
	assert_int_equal(keymap_add(km, 2 * PG, 2 * PG, 1, PV), 0);
	assert_int_equal(km->n, KEYMAP_MAX - 1);
	expect_range(km, 0, 0, 6 * PG, 1, PV);
	check_invariants(km);
}

/*
 * Randomized comparison with a reference model: one (key, source) per
 * page over a small space.  The model knows the rules independently:
 * add conflicts if any page of the range has another owner, the map
 * holds the maximal runs of equal owners, and an operation that would
 * need more than KEYMAP_MAX runs fails without changing anything.
 */
#define MPAGES	1024

struct owner { u8 key, source; };

static unsigned int runs(const struct owner *m)
{
	unsigned int i, n = 0;

	for (i = 0; i < MPAGES; i++)
		if (m[i].key && (i == 0 || m[i].key != m[i - 1].key ||
				 m[i].source != m[i - 1].source))
			n++;
	return n;
}

static u64 lcg(u64 *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

static void test_random_model(void **state)
{
	struct keymap *km = km_new(state);
	static struct owner m[MPAGES], t[MPAGES];
	u64 seed = 12345, gen = 0;
	unsigned int op, i, adds = 0, removes = 0, nospc = 0, conflicts = 0;

	memset(m, 0, sizeof(m));
	for (op = 0; op < 20000; op++) {
		unsigned int first = lcg(&seed) % MPAGES;
		unsigned int npages = 1 + lcg(&seed) % (op % 7 ? 4 : 64);
		unsigned int key = 1 + lcg(&seed) % 3;
		u8 src = lcg(&seed) % 4 ? PV : DISC;

		/*
		 * Second half: single pages whose key depends on the page,
		 * so adds rarely conflict and the map fragments into more
		 * than KEYMAP_MAX runs (ENOSPC at the limit).
		 */
		if (op >= 10000) {
			npages = 1;
			key = 1 + first % 2;
			src = PV;
		}
		bool add = lcg(&seed) % 3 != 0;
		int want, got;
		bool changed = false;

		if (first + npages > MPAGES)
			npages = MPAGES - first;
		memcpy(t, m, sizeof(t));
		if (add) {
			want = 0;
			for (i = first; i < first + npages; i++) {
				if (t[i].key && (t[i].key != key ||
						 t[i].source != src))
					want = -PKSV_EINVAL;
				t[i].key = key;
				t[i].source = src;
			}
		} else {
			want = -PKSV_ENOENT;
			for (i = first; i < first + npages; i++) {
				if (t[i].key && t[i].source == src) {
					want = 0;
					t[i].key = 0;
					t[i].source = 0;
				}
			}
		}
		if (!want && runs(t) > KEYMAP_MAX)
			want = -PKSV_ENOSPC;
		if (!want) {
			changed = memcmp(t, m, sizeof(m)) != 0;
			memcpy(m, t, sizeof(m));
		}

		got = add ? keymap_add(km, first * PG, npages * PG, key, src) :
			    keymap_remove(km, first * PG, npages * PG, src);
		if (got != want)
			fail_msg("op %u: %s [%u, +%u) key %u src %u: got %d "
				 "want %d", op, add ? "add" : "remove", first,
				 npages, key, src, got, want);
		gen += changed;
		assert_int_equal(km->generation, gen);
		assert_int_equal(km->n, runs(m));
		check_invariants(km);
		for (i = 0; i < MPAGES; i++)
			if (keymap_lookup(km, i * PG + (op & 0xfff)) !=
			    m[i].key)
				fail_msg("op %u: page %u key %u want %u", op,
					 i, keymap_lookup(km, i * PG), m[i].key);
		adds += add && !got;
		removes += !add && !got;
		nospc += got == -PKSV_ENOSPC;
		conflicts += got == -PKSV_EINVAL;

		/* Now and then a rescan drops every discovered range. */
		if (op % 997 == 996) {
			bool any = false;

			for (i = 0; i < MPAGES; i++)
				if (m[i].source == DISC) {
					m[i].key = m[i].source = 0;
					any = true;
				}
			keymap_clear_source(km, DISC);
			gen += any;
			assert_int_equal(km->generation, gen);
		}
	}
	/* The run exercised every outcome. */
	assert_true(adds > 1000);
	assert_true(removes > 1000);
	assert_true(conflicts > 100);
	assert_true(nospc > 100);
	print_message("random: %u adds, %u removes, %u conflicts, %u ENOSPC\n",
		      adds, removes, conflicts, nospc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_init, km_teardown),
		cmocka_unit_test_teardown(test_errors, km_teardown),
		cmocka_unit_test_teardown(test_lookup_boundaries, km_teardown),
		cmocka_unit_test_teardown(test_merge, km_teardown),
		cmocka_unit_test_teardown(test_remove_split, km_teardown),
		cmocka_unit_test_teardown(test_clear_source, km_teardown),
		cmocka_unit_test_teardown(test_full, km_teardown),
		cmocka_unit_test_teardown(test_random_model, km_teardown),
	};

	return cmocka_run_group_tests_name("keymap", tests, NULL, NULL);
}
