// SPDX-License-Identifier: MIT
/*
 * Unit tests for ept/ept.c.  Pages come from an aligned arena, and their
 * pointers double as "physical" addresses just as in the identity mapped
 * hypervisor.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pksvisor/ept.h>
#include <pksvisor/mtrr.h>

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define WB ((uint64_t)MTRR_TYPE_WB << EPT_MT_SHIFT)
#define UC ((uint64_t)MTRR_TYPE_UC << EPT_MT_SHIFT)
#define MT(e) (((e) >> EPT_MT_SHIFT) & 7)

struct arena {
	uint8_t *mem;
	size_t pages;
	size_t used;
	size_t limit;		/* fail allocations beyond this many */
};

static u64 arena_alloc(void *ctx)
{
	struct arena *a = ctx;
	uint8_t *p;

	if (a->used >= a->pages || a->used >= a->limit)
		return 0;
	p = a->mem + a->used++ * 4096;
	/* The allocator contract: zeroed pages (the arena starts dirty). */
	memset(p, 0, 4096);
	return (uint64_t)(uintptr_t)p;
}

static struct arena *arena_new(size_t pages)
{
	struct arena *a = calloc(1, sizeof(*a));

	assert_non_null(a);
	a->mem = aligned_alloc(4096, pages * 4096);
	assert_non_null(a->mem);
	/* Garbage everywhere so that reliance on stale content shows. */
	memset(a->mem, 0xa5, pages * 4096);
	a->pages = pages;
	a->limit = pages;
	return a;
}

static int arena_teardown(void **state)
{
	struct arena *a = *state;

	if (a) {
		free(a->mem);
		free(a);
	}
	return 0;
}

/* OVMF-like layout (see test_mtrr.c): WB default, UC at A0000-BFFFF and
 * 0xC0000000-0xFFFFFFFF, WP at C0000-FFFFF. */
static void ovmf_layout(struct mtrr_state *m)
{
	int i;

	memset(m, 0, sizeof(*m));
	m->cap = 0x508;
	m->def_type = 0xc06;
	m->phys_bits = 40;
	m->fixed[0] = m->fixed[1] = 0x0606060606060606ull;
	m->fixed[2] = 0;
	for (i = 3; i < 11; i++)
		m->fixed[i] = 0x0505050505050505ull;
	m->var_base[0] = 0xc0000000ull | MTRR_TYPE_UC;
	m->var_mask[0] = 0xffc0000800ull;
}

static void expect_leaf(struct ept *ept, uint64_t gpa, int want_level,
			uint64_t want_attrs)
{
	int level = -1;
	u64 *e = ept_lookup(ept, gpa, &level);
	uint64_t size;

	if (!e)
		fail_msg("%#llx not mapped", (unsigned long long)gpa);
	if (level != want_level)
		fail_msg("%#llx at level %d, want %d", (unsigned long long)gpa,
			 level, want_level);
	size = 1ull << (12 + 9 * (level - 1));
	assert_int_equal(*e & EPT_ADDR_MASK, gpa & ~(size - 1));
	assert_int_equal(*e & ~EPT_ADDR_MASK,
			 want_attrs | (level > 1 ? EPT_LARGE : 0));
}

static void map_ovmf(void **state, bool allow_1g, struct ept *ept)
{
	struct arena *a = arena_new(64);
	struct mtrr_state m;

	*state = a;
	ovmf_layout(&m);
	assert_int_equal(ept_init(ept, arena_alloc, a, allow_1g), 0);
	assert_int_equal(ept_map_identity(ept, 0, 6 * GiB, &m), 0);
}

/*
 * MMIO above the boot-time map (vmm/exit_ept.c maps it on first access):
 * a BAR-like address at 512 GiB and one near the top of the 48-bit EPT
 * space each get one naturally aligned UC region, whatever the MTRRs say,
 * for one paging-structure page each (the memory cost docs/memory-layout.md
 * states); nothing beyond 48 bits.
 */
static void test_mmio_region(void **state)
{
	struct ept ept;
	u64 start, end, before;

	map_ovmf(state, true, &ept);
	before = ept.pages_used;
	assert_null(ept_lookup(&ept, 0x8000000000ull, NULL));
	assert_int_equal(ept_map_mmio_region(&ept, 0x8000001234ull, &start, &end), 0);
	assert_int_equal(start, 0x8000000000ull);
	assert_int_equal(end, 0x8000000000ull + GiB);
	expect_leaf(&ept, 0x8000000000ull, 3, EPT_RWX | UC);
	expect_leaf(&ept, 0x8000000000ull + GiB - 4096, 3, EPT_RWX | UC);
	assert_null(ept_lookup(&ept, 0x8000000000ull + GiB, NULL));
	assert_int_equal(ept.pages_used, before + 1);	/* one PDPT */
	/* RAM below is untouched. */
	expect_leaf(&ept, 5 * GiB, 3, EPT_RWX | WB);
	/* The same PDPT serves the next GiB: no page at all. */
	assert_int_equal(ept_map_mmio_region(&ept, 0x8000000000ull + GiB, &start, &end), 0);
	assert_int_equal(ept.pages_used, before + 1);
	/* Near the top of what 4-level EPT translates. */
	assert_int_equal(ept_map_mmio_region(&ept, 0xffffffff0000ull, &start, &end), 0);
	expect_leaf(&ept, 0xffffc0000000ull, 3, EPT_RWX | UC);
	assert_int_equal(ept.pages_used, before + 2);
	assert_int_equal(ept_map_mmio_region(&ept, 1ull << 48, &start, &end), -1);
	/* Bits above 47 never alias a mapped address. */
	assert_null(ept_lookup(&ept, (1ull << 48) | 0x8000000000ull, NULL));
	assert_int_equal(ept_protect_4k(&ept, (1ull << 48) | 0x8000000000ull, EPT_RWX), -1);
	assert_int_equal(ept_set_4k(&ept, 1ull << 50, 0, EPT_RWX, MTRR_TYPE_UC), -1);
}

/* ept_split_cost() bounds what restricting a range really allocates. */
static void test_split_cost(void **state)
{
	struct ept ept;
	u64 before, cost;

	assert_int_equal(ept_split_cost(0, 0), 0);
	assert_int_equal(ept_split_cost(0, 4096), 2);
	assert_int_equal(ept_split_cost(2 * MiB - 4096, 2 * MiB + 4096), 3);
	assert_int_equal(ept_split_cost(GiB, 2 * GiB), 512 + 1);
	{
		struct arena *a = arena_new(1024);
		struct mtrr_state m;

		*state = a;
		ovmf_layout(&m);
		assert_int_equal(ept_init(&ept, arena_alloc, a, true), 0);
		assert_int_equal(ept_map_identity(&ept, 0, 6 * GiB, &m), 0);
	}
	before = ept.pages_used;
	cost = ept_split_cost(4 * GiB + 3 * MiB, 5 * GiB + 4096);
	for (u64 gpa = 4 * GiB + 3 * MiB; gpa < 5 * GiB + 4096; gpa += 4096)
		assert_int_equal(ept_protect_4k(&ept, gpa, EPT_READ), 0);
	assert_true(ept.pages_used - before <= cost);
	assert_true(ept.pages_used - before + 2 >= cost);
}

static void test_mmio_region_no_1g(void **state)
{
	struct ept ept;
	u64 start, end, before;

	map_ovmf(state, false, &ept);
	before = ept.pages_used;
	assert_int_equal(ept_map_mmio_region(&ept, 0x8000201000ull, &start, &end), 0);
	assert_int_equal(start, 0x8000200000ull);
	assert_int_equal(end, 0x8000400000ull);
	expect_leaf(&ept, 0x8000200000ull, 2, EPT_RWX | UC);
	assert_null(ept_lookup(&ept, 0x8000000000ull, NULL));
	assert_null(ept_lookup(&ept, 0x8000400000ull, NULL));
	assert_int_equal(ept.pages_used, before + 2);	/* PDPT + PD */
}

static void test_map_1g(void **state)
{
	struct ept ept;

	map_ovmf(state, true, &ept);
	/* First GiB: legacy area forces 4K pages in the first 2 MiB. */
	expect_leaf(&ept, 0, 1, EPT_RWX | WB);
	expect_leaf(&ept, 0x9f000, 1, EPT_RWX | WB);
	expect_leaf(&ept, 0xa0000, 1, EPT_RWX | UC);
	expect_leaf(&ept, 0xbf000, 1, EPT_RWX | UC);
	expect_leaf(&ept, 0xc0000, 1, EPT_RWX | (5ull << EPT_MT_SHIFT));
	expect_leaf(&ept, 0x100000, 1, EPT_RWX | WB);
	expect_leaf(&ept, 0x1ff000, 1, EPT_RWX | WB);
	expect_leaf(&ept, 0x200000, 2, EPT_RWX | WB);
	expect_leaf(&ept, GiB - 2 * MiB, 2, EPT_RWX | WB);
	/* Uniform GiBs use 1 GiB pages; the PCI hole is one UC page. */
	expect_leaf(&ept, GiB, 3, EPT_RWX | WB);
	expect_leaf(&ept, 2 * GiB + 12345, 3, EPT_RWX | WB);
	expect_leaf(&ept, 3 * GiB, 3, EPT_RWX | UC);
	expect_leaf(&ept, 0xfee00000, 3, EPT_RWX | UC);
	expect_leaf(&ept, 4 * GiB, 3, EPT_RWX | WB);
	expect_leaf(&ept, 6 * GiB - 4096, 3, EPT_RWX | WB);
	assert_null(ept_lookup(&ept, 6 * GiB, NULL));
	assert_null(ept_lookup(&ept, 512 * GiB, NULL));
	/* PML4 + PDPT + PD for GiB 0 + PT for the first 2 MiB */
	assert_int_equal(ept.pages_used, 4);
}

static void test_map_no_1g(void **state)
{
	struct ept ept;

	map_ovmf(state, false, &ept);
	expect_leaf(&ept, 0xa0000, 1, EPT_RWX | UC);
	expect_leaf(&ept, 0x200000, 2, EPT_RWX | WB);
	expect_leaf(&ept, GiB, 2, EPT_RWX | WB);
	expect_leaf(&ept, 3 * GiB - 2 * MiB, 2, EPT_RWX | WB);
	expect_leaf(&ept, 3 * GiB, 2, EPT_RWX | UC);
	expect_leaf(&ept, 4 * GiB - 2 * MiB, 2, EPT_RWX | UC);
	expect_leaf(&ept, 4 * GiB, 2, EPT_RWX | WB);
	/* PML4 + PDPT + 6 PDs + 1 PT */
	assert_int_equal(ept.pages_used, 9);
}

static void test_uc_hole_small_pages(void **state)
{
	struct arena *a = arena_new(64);
	struct mtrr_state m;
	struct ept ept;

	*state = a;
	ovmf_layout(&m);
	/* A UC MMIO window of 64 KiB at 2 GiB + 1 MiB (local APIC style) */
	m.var_base[1] = 0x80100000ull | MTRR_TYPE_UC;
	m.var_mask[1] = 0xffffff0800ull;
	assert_int_equal(ept_init(&ept, arena_alloc, a, true), 0);
	assert_int_equal(ept_map_identity(&ept, GiB, 3 * GiB, &m), 0);
	expect_leaf(&ept, GiB, 3, EPT_RWX | WB);
	expect_leaf(&ept, 2 * GiB, 1, EPT_RWX | WB);
	expect_leaf(&ept, 2 * GiB + MiB - 4096, 1, EPT_RWX | WB);
	expect_leaf(&ept, 2 * GiB + MiB, 1, EPT_RWX | UC);
	expect_leaf(&ept, 2 * GiB + MiB + 0xf000, 1, EPT_RWX | UC);
	expect_leaf(&ept, 2 * GiB + MiB + 0x10000, 1, EPT_RWX | WB);
	expect_leaf(&ept, 2 * GiB + 2 * MiB, 2, EPT_RWX | WB);
	expect_leaf(&ept, 3 * GiB - 2 * MiB, 2, EPT_RWX | WB);
	assert_null(ept_lookup(&ept, 0, NULL));
	assert_null(ept_lookup(&ept, 3 * GiB, NULL));
}

static void test_unaligned_bounds(void **state)
{
	struct arena *a = arena_new(16);
	struct ept ept;

	*state = a;
	assert_int_equal(ept_init(&ept, arena_alloc, a, true), 0);
	/* [2M - 4K, 4M + 4K): no room for 1G, one 2M page in the middle */
	assert_int_equal(ept_map_identity(&ept, 2 * MiB - 4096,
					  4 * MiB + 4096, NULL), 0);
	assert_null(ept_lookup(&ept, 2 * MiB - 8192, NULL));
	expect_leaf(&ept, 2 * MiB - 4096, 1, EPT_RWX | WB);
	expect_leaf(&ept, 2 * MiB, 2, EPT_RWX | WB);
	expect_leaf(&ept, 4 * MiB, 1, EPT_RWX | WB);
	assert_null(ept_lookup(&ept, 4 * MiB + 4096, NULL));
}

static void test_split_keeps_neighbours(void **state)
{
	struct ept ept;
	u64 *e;
	int level;

	map_ovmf(state, true, &ept);
	/* Give the 1 GiB page at 4 GiB extra attributes that must survive. */
	e = ept_lookup(&ept, 4 * GiB, &level);
	assert_int_equal(level, 3);
	*e |= EPT_IGNORE_PAT | EPT_SUPPRESS_VE;
	*e &= ~EPT_WRITE;

	/* Remap one page elsewhere, UC, read only. */
	assert_int_equal(ept_set_4k(&ept, 4 * GiB + 3 * MiB + 0x5000,
				    0x12345000, EPT_READ, MTRR_TYPE_UC), 0);
	expect_leaf(&ept, 4 * GiB + 3 * MiB + 0x5000 - 4096 + 1, 1,
		    EPT_READ | EPT_EXEC | WB | EPT_IGNORE_PAT |
		    EPT_SUPPRESS_VE);
	e = ept_lookup(&ept, 4 * GiB + 3 * MiB + 0x5000, &level);
	assert_non_null(e);
	assert_int_equal(level, 1);
	assert_int_equal(*e, 0x12345000ull | EPT_READ | UC);
	expect_leaf(&ept, 4 * GiB + 3 * MiB + 0x6000, 1,
		    EPT_READ | EPT_EXEC | WB | EPT_IGNORE_PAT |
		    EPT_SUPPRESS_VE);
	/* The other 2 MiB pieces of the old 1 GiB page are 2 MiB leaves. */
	expect_leaf(&ept, 4 * GiB, 2, EPT_READ | EPT_EXEC | WB |
		    EPT_IGNORE_PAT | EPT_SUPPRESS_VE);
	expect_leaf(&ept, 5 * GiB - 2 * MiB, 2, EPT_READ | EPT_EXEC | WB |
		    EPT_IGNORE_PAT | EPT_SUPPRESS_VE);
	/* Neighbouring GiBs untouched */
	expect_leaf(&ept, 5 * GiB, 3, EPT_RWX | WB);
	expect_leaf(&ept, 3 * GiB, 3, EPT_RWX | UC);
	/* 4 before + PD + PT */
	assert_int_equal(ept.pages_used, 6);
}

static void test_protect_one_page(void **state)
{
	struct ept ept;
	uint64_t gpa = GiB + 7 * MiB + 0x3000, pa;
	int level;

	map_ovmf(state, true, &ept);
	assert_int_equal(ept_protect_4k(&ept, gpa, EPT_READ), 0);
	expect_leaf(&ept, gpa, 1, EPT_READ | WB);
	for (pa = GiB; pa < 2 * GiB; pa += 4096) {
		u64 *e = ept_lookup(&ept, pa, &level);

		assert_non_null(e);
		if (pa == gpa)
			continue;
		assert_int_equal(*e & EPT_RWX, EPT_RWX);
		assert_int_equal(MT(*e), MTRR_TYPE_WB);
	}
	/* A second change on an already split page allocates nothing. */
	pa = ept.pages_used;
	assert_int_equal(ept_protect_4k(&ept, gpa + 4096, 0), 0);
	assert_int_equal(ept.pages_used, pa);
	/* A page with no access left is still known (and restorable). */
	expect_leaf(&ept, gpa + 4096, 1, WB);
	assert_int_equal(ept_protect_4k(&ept, gpa + 4096, EPT_RWX), 0);
	expect_leaf(&ept, gpa + 4096, 1, EPT_RWX | WB);
	/* Only permission bits are taken from perms. */
	assert_int_equal(ept_protect_4k(&ept, gpa, ~0ull), 0);
	expect_leaf(&ept, gpa, 1, EPT_RWX | WB);
	/* Unmapped pages are refused, and no tables are created for them. */
	pa = ept.pages_used;
	assert_int_equal(ept_protect_4k(&ept, 100 * GiB, EPT_READ), -1);
	assert_null(ept_lookup(&ept, 100 * GiB, NULL));
	assert_int_equal(ept.pages_used, pa);
}

/* A freed page is counted and poisoned (the arena never reuses it). */
static unsigned int freed;

static void count_free(void *ctx, u64 pa)
{
	(void)ctx;
	freed++;
	memset((void *)(uintptr_t)pa, 0x5a, 4096);
}

/*
 * Large-page restriction (views at PMEM scale): a 1 GiB block keeps its
 * leaf, a 2 MiB block inside a 1 GiB leaf splits only that GiB, finer
 * mappings make the caller go down a level, unmapped space is refused.
 */
static void test_protect_block(void **state)
{
	struct ept ept;
	u64 before;

	map_ovmf(state, true, &ept);
	before = ept.pages_used;
	assert_int_equal(ept_protect_block(&ept, 4 * GiB, 3, EPT_EXEC), 0);
	expect_leaf(&ept, 4 * GiB + 123 * MiB, 3, EPT_EXEC | WB);
	assert_int_equal(ept.pages_used, before);
	/* 2 MiB at 5 GiB + 2 MiB: the 1 GiB leaf splits into a PD, no PT. */
	assert_int_equal(ept_protect_block(&ept, 5 * GiB + 2 * MiB, 2, EPT_READ | EPT_EXEC), 0);
	expect_leaf(&ept, 5 * GiB + 2 * MiB, 2, EPT_READ | EPT_EXEC | WB);
	expect_leaf(&ept, 5 * GiB, 2, EPT_RWX | WB);
	expect_leaf(&ept, 5 * GiB + 4 * MiB, 2, EPT_RWX | WB);
	assert_int_equal(ept.pages_used, before + 1);
	/* The first GiB is mapped finer (MTRR holes): go down a level. */
	assert_int_equal(ept_protect_block(&ept, 0, 3, EPT_EXEC), 1);
	assert_int_equal(ept_protect_block(&ept, 100 * GiB, 2, EPT_EXEC), -1);
	assert_int_equal(ept_protect_block(&ept, 4 * GiB, 0, EPT_EXEC), -1);
	/* Edges only: never more than 4 tables, never more than a 4 KiB split. */
	assert_int_equal(ept_block_cost(4 * GiB + 4096, 20 * GiB + 8192), 4);
	assert_int_equal(ept_block_cost(4 * GiB, 4 * GiB + 4096), 2);
	assert_int_equal(ept_block_cost(4 * GiB, 4 * GiB), 0);
	assert_true(ept_split_cost(4 * GiB + 4096, 20 * GiB + 8192) > 8192);
}

/*
 * ept_merge undoes a split once the 512 entries agree again (a page
 * override restored), at both levels, and refuses while one differs.
 */
static void test_merge_after_restore(void **state)
{
	struct ept ept;
	u64 gpa = 4 * GiB + 37 * MiB + 0x5000, before;

	map_ovmf(state, true, &ept);
	assert_int_equal(ept_protect_block(&ept, 4 * GiB, 3, EPT_EXEC), 0);
	before = ept.pages_used;
	assert_int_equal(ept_protect_4k(&ept, gpa, EPT_RWX), 0);
	assert_int_equal(ept.pages_used, before + 2);
	freed = 0;
	/* Still different: nothing merges. */
	assert_int_equal(ept_merge(&ept, gpa, 3, count_free, NULL), 0);
	assert_int_equal(freed, 0);
	expect_leaf(&ept, gpa, 1, EPT_RWX | WB);
	/* Restored: PT and PD go, the 1 GiB leaf is back as it was. */
	assert_int_equal(ept_protect_4k(&ept, gpa, EPT_EXEC), 0);
	assert_int_equal(ept_merge(&ept, gpa, 3, count_free, NULL), 2);
	assert_int_equal(freed, 2);
	assert_int_equal(ept.pages_used, before);
	expect_leaf(&ept, gpa, 3, EPT_EXEC | WB);
	/* Up to level 2 only: the PD stays. */
	assert_int_equal(ept_protect_4k(&ept, gpa, EPT_READ), 0);
	assert_int_equal(ept_protect_4k(&ept, gpa, EPT_EXEC), 0);
	assert_int_equal(ept_merge(&ept, gpa, 2, count_free, NULL), 1);
	expect_leaf(&ept, gpa, 2, EPT_EXEC | WB);
	/* Without 1 GiB pages a PD is never merged into a PDPT leaf. */
	ept.allow_1g = false;
	assert_int_equal(ept_merge(&ept, gpa, 3, count_free, NULL), 0);
	/* Memory types differ across the first GiB (MTRRs): never merged. */
	assert_int_equal(ept_merge(&ept, 0xa0000, 3, count_free, NULL), 0);
}

static void test_set_4k_unmapped(void **state)
{
	struct arena *a = arena_new(8);
	struct ept ept;
	u64 *e;
	int level = 0;

	*state = a;
	assert_int_equal(ept_init(&ept, arena_alloc, a, false), 0);
	assert_int_equal(ept_set_4k(&ept, 0x7fff0000123ull, 0xabc000,
				    EPT_READ | EPT_EXEC, MTRR_TYPE_WT), 0);
	e = ept_lookup(&ept, 0x7fff0000fffull, &level);
	assert_non_null(e);
	assert_int_equal(level, 1);
	assert_int_equal(*e, 0xabc000ull | EPT_READ | EPT_EXEC |
			 ((uint64_t)MTRR_TYPE_WT << EPT_MT_SHIFT));
	assert_null(ept_lookup(&ept, 0x7fff0001000ull, NULL));
	assert_int_equal(ept.pages_used, 4);
}

static void test_remap_over_finer(void **state)
{
	struct arena *a = arena_new(16);
	struct ept ept;

	*state = a;
	assert_int_equal(ept_init(&ept, arena_alloc, a, true), 0);
	/* A finer mapping exists; the identity map must not drop it. */
	assert_int_equal(ept_set_4k(&ept, GiB + 0x1000, 0x5000, EPT_READ,
				    MTRR_TYPE_WB), 0);
	assert_int_equal(ept_map_identity(&ept, GiB, 2 * GiB, NULL), 0);
	expect_leaf(&ept, GiB, 1, EPT_RWX | WB);
	expect_leaf(&ept, GiB + 0x1000, 1, EPT_RWX | WB);
	expect_leaf(&ept, GiB + 2 * MiB, 2, EPT_RWX | WB);
}

static void test_eptp(void **state)
{
	struct arena *a = arena_new(4);
	struct ept ept;
	uint64_t eptp;

	*state = a;
	assert_int_equal(ept_init(&ept, arena_alloc, a, false), 0);
	assert_int_equal(ept.pages_used, 1);
	assert_int_equal(ept.pml4 & 0xfff, 0);
	eptp = ept_eptp(&ept, false);
	assert_int_equal(eptp & 7, 6);			/* WB */
	assert_int_equal((eptp >> 3) & 7, 3);		/* 4-level walk */
	assert_int_equal(eptp & (1 << 6), 0);
	assert_int_equal(eptp & ~0xfffull, ept.pml4);
	assert_int_equal(eptp, ept.pml4 | 0x1e);
	assert_int_equal(ept_eptp(&ept, true), ept.pml4 | 0x5e);
}

static void test_alloc_failure(void **state)
{
	struct arena *a = arena_new(16);
	struct mtrr_state m;
	struct ept ept;
	u64 *e;
	int level;

	*state = a;
	ovmf_layout(&m);

	a->limit = 0;
	assert_int_equal(ept_init(&ept, arena_alloc, a, true), -1);

	/* PML4 + PDPT only: the first GiB needs a PD and a PT. */
	a->limit = 2;
	a->used = 0;
	assert_int_equal(ept_init(&ept, arena_alloc, a, true), 0);
	assert_int_equal(ept_map_identity(&ept, 0, 2 * GiB, &m), -1);
	assert_int_equal(ept.pages_used, 2);

	/* With room, the same call completes over the partial state. */
	a->limit = 16;
	assert_int_equal(ept_map_identity(&ept, 0, 2 * GiB, &m), 0);
	expect_leaf(&ept, 0xa0000, 1, EPT_RWX | UC);
	expect_leaf(&ept, GiB, 3, EPT_RWX | WB);

	/* Splitting needs a page: on failure the 1 GiB leaf is intact. */
	a->limit = a->used;
	assert_int_equal(ept_set_4k(&ept, GiB + 0x1000, 0, 0, 0), -1);
	assert_int_equal(ept_protect_4k(&ept, GiB + 0x1000, 0), -1);
	e = ept_lookup(&ept, GiB + 0x1000, &level);
	assert_non_null(e);
	assert_int_equal(level, 3);
	assert_int_equal(*e, GiB | EPT_RWX | WB | EPT_LARGE);

	/* One page: 1G -> 2M succeeds, 2M -> 4K fails; still consistent. */
	a->limit = a->used + 1;
	assert_int_equal(ept_protect_4k(&ept, GiB + 0x1000, 0), -1);
	expect_leaf(&ept, GiB + 0x1000, 2, EPT_RWX | WB);
	expect_leaf(&ept, 2 * GiB - 1, 2, EPT_RWX | WB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_map_1g, arena_teardown),
		cmocka_unit_test_teardown(test_mmio_region, arena_teardown),
		cmocka_unit_test_teardown(test_mmio_region_no_1g, arena_teardown),
		cmocka_unit_test_teardown(test_split_cost, arena_teardown),
		cmocka_unit_test_teardown(test_map_no_1g, arena_teardown),
		cmocka_unit_test_teardown(test_uc_hole_small_pages,
					  arena_teardown),
		cmocka_unit_test_teardown(test_unaligned_bounds,
					  arena_teardown),
		cmocka_unit_test_teardown(test_split_keeps_neighbours,
					  arena_teardown),
		cmocka_unit_test_teardown(test_protect_one_page,
					  arena_teardown),
		cmocka_unit_test_teardown(test_set_4k_unmapped,
					  arena_teardown),
		cmocka_unit_test_teardown(test_remap_over_finer,
					  arena_teardown),
		cmocka_unit_test_teardown(test_eptp, arena_teardown),
		cmocka_unit_test_teardown(test_protect_block, arena_teardown),
		cmocka_unit_test_teardown(test_merge_after_restore, arena_teardown),
		cmocka_unit_test_teardown(test_alloc_failure, arena_teardown),
	};

	return cmocka_run_group_tests_name("ept", tests, NULL, NULL);
}
