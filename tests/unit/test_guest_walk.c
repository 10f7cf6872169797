// SPDX-License-Identifier: MIT
/*
 * Unit tests for pks/guest_walk.c.  Guest page tables are built in a fake
 * guest-physical memory: an array of 4 KiB pages at GMEM_BASE, read through
 * a callback that refuses anything outside it, as the hypervisor refuses
 * guest-physical addresses that are not RAM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pksvisor/pks.h>

#define P	BIT(0)
#define RW	BIT(1)
#define US	BIT(2)
#define PS	BIT(7)
#define PAT_L	BIT(12)		/* PAT bit of a large-page entry */
#define XD	BIT(63)
#define KEY(k)	((u64)(k) << 59)

#define GMEM_BASE	0x10000000ull
#define GMEM_PAGES	128

struct gmem {
	u64 page[GMEM_PAGES][512];
	unsigned int used;
	unsigned int reads;
};

static int gmem_read(void *ctx, u64 gpa, u64 *val)
{
	struct gmem *g = ctx;
	u64 off = gpa - GMEM_BASE;

	g->reads++;
	if (gpa < GMEM_BASE || off >= GMEM_PAGES * 4096ull || (gpa & 7))
		return -1;
	*val = g->page[off / 4096][(off % 4096) / 8];
	return 0;
}

static u64 gmem_table(struct gmem *g)
{
	assert_true(g->used < GMEM_PAGES);
	memset(g->page[g->used], 0, 4096);
	return GMEM_BASE + 4096ull * g->used++;
}

static u64 *entry(struct gmem *g, u64 table, unsigned int idx)
{
	u64 off = table - GMEM_BASE;

	assert_true(table >= GMEM_BASE && off < GMEM_PAGES * 4096ull);
	assert_true(idx < 512);
	return &g->page[off / 4096][idx];
}

static unsigned int idx(u64 gla, int level)
{
	return (gla >> (12 + 9 * (level - 1))) & 511;
}

/*
 * Map gla with a leaf at leaf_level (1 = 4K, 2 = 2M, 3 = 1G) whose entry
 * is exactly leaf; non-leaf entries get flags[level] | address, creating
 * tables as needed (existing entries keep their address, take the flags).
 */
static void map(struct gmem *g, u64 root, int levels, u64 gla, int leaf_level,
		u64 leaf, const u64 *flags)
{
	u64 table = root;
	int level;

	for (level = levels; level > leaf_level; level--) {
		u64 *e = entry(g, table, idx(gla, level));
		u64 next = *e & P ? *e & 0x000ffffffffff000ull : gmem_table(g);

		*e = next | (flags ? flags[level] : P | RW | US);
		table = next;
	}
	*entry(g, table, idx(gla, leaf_level)) = leaf;
}

static struct gmem *gmem_new(void **state)
{
	struct gmem *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	*state = g;
	return g;
}

static int gmem_teardown(void **state)
{
	free(*state);
	return 0;
}

static const u64 all_user[6] = { 0, P | RW | US, P | RW | US, P | RW | US,
				 P | RW | US, P | RW | US };

static void test_walk_4k(void **state)
{
	struct gmem *g = gmem_new(state);
	u64 cr3 = gmem_table(g);
	u64 gla = 0xffff888012345678ull;
	struct guest_walk w;

	map(g, cr3, 4, gla, 1, 0xabcdef000ull | P | RW | KEY(9), all_user);
	assert_int_equal(guest_walk(cr3, false, gla, gmem_read, g, &w), 0);
	assert_int_equal(w.gpa, 0xabcdef678ull);
	assert_int_equal(w.page_gpa, 0xabcdef000ull);
	assert_int_equal(w.page_size, 4096);
	assert_int_equal(w.leaf, 0xabcdef000ull | P | RW | KEY(9));
	assert_int_equal(w.key, 9);
	assert_true(w.supervisor);	/* leaf U/S = 0 */
	assert_true(w.writable);
	assert_false(w.nx);
	/* leaf_gpa is where the PTE lives: read it back. */
	{
		u64 v;

		assert_int_equal(gmem_read(g, w.leaf_gpa, &v), 0);
		assert_int_equal(v, w.leaf);
		assert_int_equal(w.leaf_gpa & 0xfff, idx(gla, 1) * 8);
	}
	/* The next page is not mapped; neither is the next 2 MiB. */
	assert_int_equal(guest_walk(cr3, false, gla + 4096, gmem_read, g, &w), 1);
	assert_int_equal(guest_walk(cr3, false, gla + SZ_2M, gmem_read, g, &w), 1);
}

static void test_walk_large(void **state)
{
	struct gmem *g = gmem_new(state);
	u64 cr3 = gmem_table(g);
	u64 gla2m = 0xffffc90000000000ull + 5 * SZ_2M + 0x12345;
	u64 gla1g = 0xffff888000000000ull + 3 * SZ_1G + 0x2345678;
	struct guest_walk w;

	/* 2 MiB page at 0x7_4020_0000 with PAT and key 4; bits 20:13 clear. */
	map(g, cr3, 4, gla2m, 2,
	    0x740200000ull | P | RW | PS | PAT_L | KEY(4), all_user);
	assert_int_equal(guest_walk(cr3, false, gla2m, gmem_read, g, &w), 0);
	assert_int_equal(w.page_size, SZ_2M);
	assert_int_equal(w.page_gpa, 0x740200000ull);
	assert_int_equal(w.gpa, 0x740200000ull + 0x12345);
	assert_int_equal(w.key, 4);
	assert_true(w.supervisor);

	/* Reserved bits 20:13 set: ignored, the base stays 2 MiB aligned. */
	map(g, cr3, 4, gla2m + SZ_2M, 2,
	    0x740400000ull | 0x1fe000ull | P | PS | US, all_user);
	assert_int_equal(guest_walk(cr3, false, gla2m + SZ_2M, gmem_read, g,
				    &w), 0);
	assert_int_equal(w.page_gpa, 0x740400000ull);
	assert_int_equal(w.gpa, 0x740400000ull + 0x12345);
	assert_false(w.supervisor);
	assert_false(w.writable);
	assert_int_equal(w.key, 0);

	/* 1 GiB page at 0x1_8000_0000 with PAT, XD and key 15. */
	map(g, cr3, 4, gla1g, 3,
	    0x180000000ull | P | RW | PS | PAT_L | XD | KEY(15), all_user);
	assert_int_equal(guest_walk(cr3, false, gla1g, gmem_read, g, &w), 0);
	assert_int_equal(w.page_size, SZ_1G);
	assert_int_equal(w.page_gpa, 0x180000000ull);
	assert_int_equal(w.gpa, 0x180000000ull + 0x2345678);
	assert_int_equal(w.key, 15);
	assert_true(w.nx);
	assert_true(w.supervisor);

	/* Top address bits: bits 51:30 are all address. */
	map(g, cr3, 4, gla1g + SZ_1G, 3,
	    0x000fffffc0000000ull | P | PS | US | KEY(1), all_user);
	assert_int_equal(guest_walk(cr3, false, gla1g + SZ_1G, gmem_read, g,
				    &w), 0);
	assert_int_equal(w.page_gpa, 0x000fffffc0000000ull);
	assert_int_equal(w.key, 1);
}

/* Not present at each level, in 4- and 5-level paging. */
static void test_not_present(void **state)
{
	struct gmem *g = gmem_new(state);
	int levels, lvl;

	for (levels = 4; levels <= 5; levels++)
	for (lvl = 1; lvl <= levels; lvl++) {
		u64 cr3, gla = 0xff11223344556000ull & ~0xfffull;
		u64 t, *e = NULL;
		struct guest_walk w;
		int l;

		g->used = 0;
		cr3 = gmem_table(g);
		map(g, cr3, levels, gla, 1, 0x5000ull | P | RW, all_user);
		assert_int_equal(guest_walk(cr3, levels == 5, gla, gmem_read,
					    g, &w), 0);
		/* Find the entry of level lvl and clear its P bit only. */
		t = cr3;
		for (l = levels; l >= lvl; l--) {
			e = entry(g, t, idx(gla, l));
			t = *e & 0x000ffffffffff000ull;
		}
		*e &= ~P;
		memset(&w, 0x5a, sizeof(w));
		if (guest_walk(cr3, levels == 5, gla, gmem_read, g, &w) != 1)
			fail_msg("levels %d: P = 0 at level %d not seen",
				 levels, lvl);
	}
}

static void test_read_failure(void **state)
{
	struct gmem *g = gmem_new(state);
	u64 cr3 = gmem_table(g);
	u64 pdpt = gmem_table(g);
	struct guest_walk w;

	/* PML4E points outside guest RAM. */
	*entry(g, cr3, 0) = 0x7000000000ull | P | RW;
	assert_int_equal(guest_walk(cr3, false, 0x1000, gmem_read, g, &w), -1);
	/* CR3 itself outside guest RAM. */
	assert_int_equal(guest_walk(0x1000, false, 0, gmem_read, g, &w), -1);
	/* A good path still works. */
	*entry(g, cr3, 1) = pdpt | P | RW;
	*entry(g, pdpt, 0) = 0x40000000ull | P | PS;
	assert_int_equal(guest_walk(cr3, false, 1ull << 39, gmem_read, g, &w),
			 0);
	assert_int_equal(w.page_gpa, 0x40000000ull);
}

/*
 * U/S, R/W and XD accumulate over every level: each flag changed at one
 * level only, 4K, 2M and 1G leaves, 4- and 5-level.
 */
static void test_accumulate(void **state)
{
	struct gmem *g = gmem_new(state);
	int levels, leaf, lvl, what;

	for (levels = 4; levels <= 5; levels++)
	for (leaf = 1; leaf <= 3; leaf++)
	for (lvl = leaf; lvl <= levels; lvl++)
	for (what = 0; what < 4; what++) {
		u64 flags[6] = { 0, P | RW | US, P | RW | US, P | RW | US,
				 P | RW | US, P | RW | US };
		u64 gla = 0x0123456789abc000ull, cr3, leafv;
		struct guest_walk w;

		if (what == 1)
			flags[lvl] &= ~US;
		else if (what == 2)
			flags[lvl] &= ~RW;
		else if (what == 3)
			flags[lvl] |= XD;
		leafv = flags[leaf] | (leaf > 1 ? PS : 0) | KEY(leaf + lvl);
		g->used = 0;
		cr3 = gmem_table(g);
		map(g, cr3, levels, gla, leaf, leafv, flags);
		assert_int_equal(guest_walk(cr3, levels == 5, gla, gmem_read,
					    g, &w), 0);
		if (w.supervisor != (what == 1) || w.writable != (what != 2) ||
		    w.nx != (what == 3))
			fail_msg("levels %d leaf %d flag %d at level %d: "
				 "sup %d wr %d nx %d", levels, leaf, what, lvl,
				 w.supervisor, w.writable, w.nx);
		assert_int_equal(w.key, leaf + lvl);
		assert_int_equal(w.page_size, 1ull << (12 + 9 * (leaf - 1)));
	}
}

static void test_keys(void **state)
{
	struct gmem *g = gmem_new(state);
	u64 cr3 = gmem_table(g);
	unsigned int k;

	for (k = 0; k < PKS_NR_KEYS; k++) {
		u64 gla = 0xffffffff80000000ull + k * 4096ull;
		struct guest_walk w;

		map(g, cr3, 4, gla, 1, (0x100000ull + k * 4096) | P | KEY(k) |
		    BIT(58) | BIT(52), NULL);
		assert_int_equal(guest_walk(cr3, false, gla, gmem_read, g, &w),
				 0);
		assert_int_equal(w.key, k);
		assert_int_equal(w.page_gpa, 0x100000ull + k * 4096);
	}
	{
		/* Key bits in a non-leaf entry mean nothing. */
		u64 flags[6] = { 0, 0, P | RW | KEY(7), P | RW | KEY(7),
				 P | RW | KEY(7), 0 };
		u64 gla = 0x7f0000000000ull;
		struct guest_walk w;

		map(g, cr3, 4, gla, 1, 0x3000ull | P | RW, flags);
		assert_int_equal(guest_walk(cr3, false, gla, gmem_read, g, &w),
				 0);
		assert_int_equal(w.key, 0);
	}
}

static void test_five_level(void **state)
{
	struct gmem *g = gmem_new(state);
	u64 cr3 = gmem_table(g);
	/* Bits 56:48 select the PML5 entry (0x1a3 here). */
	u64 gla = 0xffa3000000000000ull | 0x0000123456789000ull;
	struct guest_walk w;

	map(g, cr3, 5, gla, 1, 0x9000ull | P | RW | KEY(2), all_user);
	assert_int_equal(idx(gla, 5), 0x1a3);
	assert_int_equal(guest_walk(cr3, true, gla | 0xabc, gmem_read, g, &w),
			 0);
	assert_int_equal(w.gpa, 0x9abcull);
	assert_int_equal(w.key, 2);
	/* The same tables as 4-level: the PML5 is read as a PML4. */
	assert_int_equal(guest_walk(cr3, false, gla, gmem_read, g, &w), 1);
	/* A different PML5 slot with the same low 48 bits: not present. */
	assert_int_equal(guest_walk(cr3, true, gla ^ (1ull << 48), gmem_read,
				    g, &w), 1);
}

static void test_cr3_bits(void **state)
{
	struct gmem *g = gmem_new(state);
	u64 cr3 = gmem_table(g);
	u64 gla = 0x400000ull;
	struct guest_walk w;

	map(g, cr3, 4, gla, 2, 0x400000ull | P | PS | KEY(3), all_user);
	/* PCID in 11:0, "no flush" bit 63 and LAM bits 62:61 are not address. */
	assert_int_equal(guest_walk(cr3 | 0xfff | BIT(63) | BIT(62) | BIT(61),
				    false, gla, gmem_read, g, &w), 0);
	assert_int_equal(w.key, 3);
}

static void test_ps_in_pml4e_ignored(void **state)
{
	struct gmem *g = gmem_new(state);
	u64 cr3 = gmem_table(g);
	u64 gla = 0x8000000000ull;	/* PML4 index 1 */
	struct guest_walk w;

	map(g, cr3, 4, gla, 1, 0x6000ull | P | RW, all_user);
	*entry(g, cr3, 1) |= PS;
	assert_int_equal(guest_walk(cr3, false, gla, gmem_read, g, &w), 0);
	assert_int_equal(w.page_size, 4096);
	assert_int_equal(w.page_gpa, 0x6000ull);
}

/* Scan ------------------------------------------------------------------ */

struct seen {
	unsigned int ntables, nkeyed;
	u64 tables[256];
	struct { u64 gpa, size; unsigned int key; } keyed[256];
};

static void on_keyed(void *ctx, u64 page_gpa, u64 size, unsigned int key)
{
	struct seen *s = ctx;

	assert_true(s->nkeyed < ARRAY_SIZE(s->keyed));
	s->keyed[s->nkeyed].gpa = page_gpa;
	s->keyed[s->nkeyed].size = size;
	s->keyed[s->nkeyed].key = key;
	s->nkeyed++;
}

static void on_table(void *ctx, u64 table_gpa)
{
	struct seen *s = ctx;

	assert_true(s->ntables < ARRAY_SIZE(s->tables));
	s->tables[s->ntables++] = table_gpa;
}

/* Levels reported through table_level: every one must be 1..5. */
static unsigned int level_calls, bad_levels;

static void on_table_level(void *ctx, u64 table_gpa, int level)
{
	(void)ctx;
	(void)table_gpa;
	level_calls++;
	if (level < 1 || level > 5)
		bad_levels++;
}

static const struct guest_scan_ops ops = {
	.keyed = on_keyed, .table = on_table, .table_level = on_table_level,
};

static bool has_keyed(const struct seen *s, u64 gpa, u64 size,
		      unsigned int key)
{
	unsigned int i, n = 0;

	for (i = 0; i < s->nkeyed; i++)
		n += s->keyed[i].gpa == gpa && s->keyed[i].size == size &&
		     s->keyed[i].key == key;
	return n == 1;
}

static bool has_table(const struct seen *s, u64 gpa)
{
	unsigned int i, n = 0;

	for (i = 0; i < s->ntables; i++)
		n += s->tables[i] == gpa;
	return n == 1;
}

/*
 * Tree used by several scan tests (4-level, root at the first page):
 *   PML4[0] -> A: A[0] -> B: B[0] -> C: C[0] 4K sup key 1
 *                                      C[1] 4K user (all levels) key 2
 *                                      C[2] 4K sup key 0
 *                         B[1] 2M sup key 3
 *              A[1] 1G sup key 4
 *   PML4[1] -> D (user): D[0] -> E (PDE U/S = 0): E[0] -> F: F[5] 4K user key 5
 *   PML4[256] (U/S = 0) -> G: G[0] 1G user key 6, G[1] not present key 7
 * 8 tables, 5 keyed supervisor leaves.
 */
static u64 build_tree(struct gmem *g, u64 *t)
{
	u64 root = gmem_table(g);
	int i;

	for (i = 0; i < 7; i++)
		t[i] = gmem_table(g);	/* A B C D E F G */
	*entry(g, root, 0) = t[0] | P | RW | US;
	*entry(g, t[0], 0) = t[1] | P | RW | US;
	*entry(g, t[1], 0) = t[2] | P | RW | US;
	*entry(g, t[2], 0) = 0x1000ull | P | RW | KEY(1);
	*entry(g, t[2], 1) = 0x2000ull | P | RW | US | KEY(2);
	*entry(g, t[2], 2) = 0x3000ull | P | RW;
	*entry(g, t[1], 1) = 0x200000ull | P | RW | PS | KEY(3);
	*entry(g, t[0], 1) = 0x40000000ull | P | RW | PS | KEY(4);
	*entry(g, root, 1) = t[3] | P | RW | US;
	*entry(g, t[3], 0) = t[4] | P | RW | US;
	*entry(g, t[4], 0) = t[5] | P | RW;
	*entry(g, t[5], 5) = 0x5000ull | P | RW | US | KEY(5);
	*entry(g, root, 256) = t[6] | P | RW;
	*entry(g, t[6], 0) = 0x80000000ull | P | RW | US | PS | KEY(6);
	*entry(g, t[6], 1) = 0xc0000000ull | RW | US | PS | KEY(7);
	return root;
}

static void test_scan_tree(void **state)
{
	struct gmem *g = gmem_new(state);
	struct seen s = { 0 };
	u64 t[7], root = build_tree(g, t);
	int i;

	level_calls = bad_levels = 0;
	assert_int_equal(guest_scan_keys(root, false, gmem_read, g, &ops, &s,
					 100), 0);
	/* Every table walked is reported with its level (1..4 here). */
	assert_true(level_calls >= 8);
	assert_int_equal(bad_levels, 0);
	assert_int_equal(s.ntables, 8);
	assert_true(has_table(&s, root));
	for (i = 0; i < 7; i++)
		assert_true(has_table(&s, t[i]));
	assert_int_equal(s.nkeyed, 5);
	assert_true(has_keyed(&s, 0x1000, 4096, 1));
	assert_true(has_keyed(&s, 0x200000, SZ_2M, 3));
	assert_true(has_keyed(&s, 0x40000000, SZ_1G, 4));
	assert_true(has_keyed(&s, 0x5000, 4096, 5));
	assert_true(has_keyed(&s, 0x80000000, SZ_1G, 6));

	/* The bound: 8 tables pass with max 8, not with 7. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(guest_scan_keys(root, false, gmem_read, g, &ops, &s,
					 8), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(guest_scan_keys(root, false, gmem_read, g, &ops, &s,
					 7), -1);
	assert_int_equal(s.ntables, 7);
	/* What was seen before the bound hit is reported. */
	assert_true(s.nkeyed >= 4);
	memset(&s, 0, sizeof(s));
	assert_int_equal(guest_scan_keys(root, false, gmem_read, g, &ops, &s,
					 0), -1);
	assert_int_equal(s.ntables, 0);
	assert_int_equal(s.nkeyed, 0);

	/* NULL ops and NULL callbacks are fine. */
	assert_int_equal(guest_scan_keys(root, false, gmem_read, g, NULL, NULL,
					 100), 0);
	{
		struct guest_scan_ops only_keyed = { .keyed = on_keyed };

		memset(&s, 0, sizeof(s));
		assert_int_equal(guest_scan_keys(root, false, gmem_read, g,
						 &only_keyed, &s, 100), 0);
		assert_int_equal(s.nkeyed, 5);
		assert_int_equal(s.ntables, 0);
	}
}

/*
 * PML4[510] -> PML4 ("recursive mapping").  The PML4 is then also a
 * PDPT, a PD and a PT: 4 table visits, one table page, and the entry
 * itself is a 4K leaf when the PML4 is read as a PT.
 */
static void test_scan_self_map(void **state)
{
	struct gmem *g = gmem_new(state);
	struct seen s = { 0 };
	u64 root = gmem_table(g);

	*entry(g, root, 510) = root | P | RW | KEY(8);
	assert_int_equal(guest_scan_keys(root, false, gmem_read, g, &ops, &s,
					 4), 0);
	assert_int_equal(s.ntables, 1);
	assert_int_equal(s.nkeyed, 1);
	assert_true(has_keyed(&s, root, 4096, 8));
	memset(&s, 0, sizeof(s));
	assert_int_equal(guest_scan_keys(root, false, gmem_read, g, &ops, &s,
					 3), -1);

	/* Every slot pointing back: terminates, bounded. */
	{
		int i;

		for (i = 0; i < 512; i++)
			*entry(g, root, i) = root | P | RW | US;
		memset(&s, 0, sizeof(s));
		g->reads = 0;
		assert_int_equal(guest_scan_keys(root, false, gmem_read, g,
						 &ops, &s, 1000), 0);
		assert_int_equal(s.ntables, 1);
		assert_int_equal(s.nkeyed, 0);
		/* 4 visits of 512 entries: no walk was repeated. */
		assert_int_equal(g->reads, 4 * 512);
		/* 5-level too: PML5 = PML4 = ... = PT. */
		g->reads = 0;
		assert_int_equal(guest_scan_keys(root, true, gmem_read, g,
						 &ops, &s, 1000), 0);
		assert_int_equal(g->reads, 5 * 512);
	}
}

/* A table reached through many entries is walked once. */
static void test_scan_shared_table(void **state)
{
	struct gmem *g = gmem_new(state);
	struct seen s = { 0 };
	u64 root = gmem_table(g), a = gmem_table(g);
	int i;

	for (i = 0; i < 100; i++)
		*entry(g, root, i) = a | P | RW;
	*entry(g, a, 3) = 0x40000000ull * 3 | P | PS | KEY(9);
	assert_int_equal(guest_scan_keys(root, false, gmem_read, g, &ops, &s,
					 2), 0);
	assert_int_equal(s.ntables, 2);
	assert_int_equal(s.nkeyed, 1);
}

/*
 * A table first reached through a user path, then through a supervisor
 * one: its user leaves become supervisor on the second path, so it must
 * be walked again (and reported once, by that walk).
 */
static void test_scan_user_then_sup(void **state)
{
	struct gmem *g = gmem_new(state);
	struct seen s = { 0 };
	u64 root = gmem_table(g), a = gmem_table(g);

	*entry(g, root, 0) = a | P | RW | US;
	*entry(g, root, 1) = a | P | RW;
	*entry(g, a, 0) = 0x40000000ull | P | US | PS | KEY(7);
	assert_int_equal(guest_scan_keys(root, false, gmem_read, g, &ops, &s,
					 3), 0);
	assert_int_equal(s.ntables, 2);
	assert_int_equal(s.nkeyed, 1);
	assert_true(has_keyed(&s, 0x40000000ull, SZ_1G, 7));
	assert_int_equal(guest_scan_keys(root, false, gmem_read, g, &ops, &s,
					 2), -1);

	/* Supervisor path first: the user path adds nothing. */
	*entry(g, root, 0) = a | P | RW;
	*entry(g, root, 1) = a | P | RW | US;
	memset(&s, 0, sizeof(s));
	assert_int_equal(guest_scan_keys(root, false, gmem_read, g, &ops, &s,
					 2), 0);
	assert_int_equal(s.nkeyed, 1);
}

static void test_scan_unreadable_table(void **state)
{
	struct gmem *g = gmem_new(state);
	struct seen s = { 0 };
	u64 t[7], root = build_tree(g, t);

	/* PML4[2] points outside RAM: skipped, the rest still reported. */
	*entry(g, root, 2) = 0x7000000000ull | P | RW;
	assert_int_equal(guest_scan_keys(root, false, gmem_read, g, &ops, &s,
					 100), 0);
	assert_int_equal(s.nkeyed, 5);
	assert_true(has_keyed(&s, 0x80000000, SZ_1G, 6));
}

static void test_scan_five_level(void **state)
{
	struct gmem *g = gmem_new(state);
	struct seen s = { 0 };
	u64 cr3 = gmem_table(g);
	u64 gla = 0xff80000000000000ull | 0x123456789000ull;

	map(g, cr3, 5, gla, 1, 0x9000ull | P | RW | KEY(11), NULL);
	map(g, cr3, 5, 0x1000, 2, 0x200000ull | P | RW | PS | KEY(12), NULL);
	map(g, cr3, 5, 0x1000 + SZ_1G, 3, SZ_1G | P | PS | KEY(13), NULL);
	assert_int_equal(guest_scan_keys(cr3 | 0x18, true, gmem_read, g, &ops,
					 &s, 100), 0);
	/* PML5; PML4, PDPT, PD, PT for gla; PML4, PDPT, PD for the rest. */
	assert_int_equal(s.ntables, 8);
	/* Leaf U/S = 0 under all-user uppers: supervisor. */
	assert_int_equal(s.nkeyed, 3);
	assert_true(has_keyed(&s, 0x9000, 4096, 11));
	assert_true(has_keyed(&s, 0x200000, SZ_2M, 12));
	assert_true(has_keyed(&s, SZ_1G, SZ_1G, 13));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_walk_4k, gmem_teardown),
		cmocka_unit_test_teardown(test_walk_large, gmem_teardown),
		cmocka_unit_test_teardown(test_not_present, gmem_teardown),
		cmocka_unit_test_teardown(test_read_failure, gmem_teardown),
		cmocka_unit_test_teardown(test_accumulate, gmem_teardown),
		cmocka_unit_test_teardown(test_keys, gmem_teardown),
		cmocka_unit_test_teardown(test_five_level, gmem_teardown),
		cmocka_unit_test_teardown(test_cr3_bits, gmem_teardown),
		cmocka_unit_test_teardown(test_ps_in_pml4e_ignored,
					  gmem_teardown),
		cmocka_unit_test_teardown(test_scan_tree, gmem_teardown),
		cmocka_unit_test_teardown(test_scan_self_map, gmem_teardown),
		cmocka_unit_test_teardown(test_scan_shared_table,
					  gmem_teardown),
		cmocka_unit_test_teardown(test_scan_user_then_sup,
					  gmem_teardown),
		cmocka_unit_test_teardown(test_scan_unreadable_table,
					  gmem_teardown),
		cmocka_unit_test_teardown(test_scan_five_level, gmem_teardown),
	};

	return cmocka_run_group_tests_name("guest_walk", tests, NULL, NULL);
}
