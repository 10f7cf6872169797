// SPDX-License-Identifier: MIT
/*
 * EPT paging structures (SDM Vol. 3C 29.3 "The Extended Page Table
 * Mechanism (EPT)").
 *
 * A 4-level structure: PML4 (level 4, 512 GiB per entry), PDPT (level 3,
 * 1 GiB), PD (level 2, 2 MiB), PT (level 1, 4 KiB).  Level 3 and 2
 * entries with bit 7 set are leaves mapping 1 GiB / 2 MiB pages (SDM
 * 29.3.2, Tables 29-2..29-6).
 *
 * Tables are addressed by physical address cast to a pointer: pksvisor
 * runs identity mapped, and in the host unit tests the "physical"
 * addresses handed out by the allocator are ordinary pointers.
 *
 * Nothing here invalidates TLBs: callers changing live mappings must
 * INVEPT afterwards (SDM 29.4.3.1).
 */
#include <pksvisor/types.h>
#include <pksvisor/ept.h>
#include <pksvisor/format.h>

#define EPT_ENTRIES	512
#define EPT_MT_MASK	(7ull << EPT_MT_SHIFT)

/* EPTP fields (SDM Vol. 3C 25.6.11 "Extended-Page-Table Pointer") */
#define EPTP_MT_WB	6ull		/* bits 2:0 paging-structure type */
#define EPTP_WALK_4	(3ull << 3)	/* bits 5:3 page-walk length - 1 */
#define EPTP_AD		BIT(6)		/* accessed/dirty flags enabled */

static inline u64 *table(u64 pa)
{
	return (u64 *)(uintptr_t)pa;
}

/* Bytes mapped by one entry of a table at this level. */
static inline u64 level_size(int level)
{
	return 1ull << (PAGE_SHIFT + 9 * (level - 1));
}

static inline unsigned int level_index(u64 gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * (level - 1))) & (EPT_ENTRIES - 1);
}

/*
 * An entry is in use when it is non-zero.  Permissions alone would not
 * do: a page whose permissions were all revoked (e.g. hidden pksvisor
 * memory) is still mapped by us, even though the CPU treats it as not
 * present.
 */
static inline bool in_use(u64 e)
{
	return e != 0;
}

static inline bool is_leaf(u64 e, int level)
{
	return level == 1 || (e & EPT_LARGE);
}

static u64 alloc_table(struct ept *ept)
{
	u64 pa = ept->alloc(ept->alloc_ctx);

	if (!pa)
		return 0;
	/* The allocator promises zeroed pages; a stale entry would be a hole
	 * in the guest's isolation, so do not rely on it. */
	pksv_memset(table(pa), 0, PAGE_SIZE);
	ept->pages_used++;
	return pa;
}

int ept_init(struct ept *ept, ept_alloc_fn alloc, void *ctx, bool allow_1g)
{
	ept->alloc = alloc;
	ept->alloc_ctx = ctx;
	ept->allow_1g = allow_1g;
	ept->pages_used = 0;
	ept->pml4 = alloc_table(ept);
	return ept->pml4 ? 0 : -1;
}

/*
 * Replace the large leaf *entry (level 3 or 2) by a table of 512 entries
 * mapping the same range with the same permissions, memory type, ignore-
 * PAT and other attribute bits, one level down.  The new table is filled
 * before it is linked, so on failure (or to a concurrent walker) the
 * structure is unchanged.
 */
static int split(struct ept *ept, u64 *entry, int level)
{
	u64 e = *entry, attrs, base, step, pa, *t;
	unsigned int i;

	pa = alloc_table(ept);
	if (!pa)
		return -1;
	t = table(pa);
	step = level_size(level - 1);
	base = e & EPT_ADDR_MASK & ~(level_size(level) - 1);
	attrs = e & ~EPT_ADDR_MASK;
	/* In a PTE bit 7 is ignored; keep it clean. */
	if (level - 1 == 1)
		attrs &= ~EPT_LARGE;
	for (i = 0; i < EPT_ENTRIES; i++)
		t[i] = (base + i * step) | attrs;
	*entry = pa | EPT_RWX;
	return 0;
}

/*
 * Entry for gpa at level target, creating tables and splitting large
 * pages above it as needed.  NULL when out of memory.
 */
static u64 *walk_create(struct ept *ept, u64 gpa, int target)
{
	u64 *t = table(ept->pml4);
	int level;

	/* 4 levels translate bits 47:0; higher bits must not alias. */
	if (gpa >> 48)
		return NULL;
	for (level = 4; level > target; level--) {
		u64 *e = &t[level_index(gpa, level)];

		if (!in_use(*e)) {
			u64 pa = alloc_table(ept);

			if (!pa)
				return NULL;
			/* Non-leaf entries grant everything; leaves decide
			 * (SDM 29.3.3: access rights are ANDed). */
			*e = pa | EPT_RWX;
		} else if (is_leaf(*e, level)) {
			if (split(ept, e, level))
				return NULL;
		}
		t = table(*e & EPT_ADDR_MASK);
	}
	return &t[level_index(gpa, target)];
}

static u64 leaf(u64 pa, u64 perms, u8 memtype, int level)
{
	u64 e = (pa & EPT_ADDR_MASK) | (perms & EPT_RWX) |
		(((u64)memtype << EPT_MT_SHIFT) & EPT_MT_MASK);

	return level > 1 ? e | EPT_LARGE : e;
}

/*
 * Install an identity leaf for the naturally aligned page at gpa.
 * Returns 0, -1 on allocation failure, or 1 if a table of finer mappings
 * already sits where the large leaf would go (the caller then maps the
 * range with smaller pages instead of discarding those mappings).
 */
static int set_identity(struct ept *ept, u64 gpa, int level, u8 type)
{
	u64 *e = walk_create(ept, gpa, level);

	if (!e)
		return -1;
	if (level > 1 && in_use(*e) && !is_leaf(*e, level))
		return 1;
	*e = leaf(gpa, EPT_RWX, type, level);
	return 0;
}

/* MTRR_TYPE_* fixed for the whole range, or from the MTRRs. */
#define TYPE_FROM_MTRR	0xff

static u8 range_type(const struct mtrr_state *mtrr, u8 fixed, u64 pa, u64 size)
{
	if (fixed != TYPE_FROM_MTRR)
		return fixed;
	/* Without an MTRR snapshot (tests, or no MTRRs) map normal RAM. */
	if (!mtrr)
		return MTRR_TYPE_WB;
	return mtrr_range_type(mtrr, pa, size);
}

static int map_range(struct ept *ept, u64 start, u64 end,
		     const struct mtrr_state *mtrr, u8 fixed);

int ept_map_identity(struct ept *ept, u64 start, u64 end,
		     const struct mtrr_state *mtrr)
{
	return map_range(ept, start, end, mtrr, TYPE_FROM_MTRR);
}

/*
 * MMIO found above the boot-time map: the naturally aligned 1 GiB (2 MiB
 * without 1 GiB pages) region holding gpa, identity, uncacheable.  With
 * EPT the leaf's memory type stands in for the MTRRs (SDM 29.3.7.2), and
 * what lies above the firmware's memory map is device space.  Only within
 * the 48 bits a 4-level EPT translates.
 */
int ept_map_mmio_region(struct ept *ept, u64 gpa, u64 *start, u64 *end)
{
	u64 size = ept->allow_1g ? 1ull << 30 : 1ull << 21;

	if (gpa >> 48)
		return -1;
	*start = gpa & ~(size - 1);
	*end = *start + size;
	return map_range(ept, *start, *end, NULL, MTRR_TYPE_UC);
}

static int map_range(struct ept *ept, u64 start, u64 end,
		     const struct mtrr_state *mtrr, u8 fixed)
{
	u64 gpa = start & PAGE_MASK;

	end = ALIGN_UP(end, PAGE_SIZE);
	while (gpa < end) {
		int level = ept->allow_1g ? 3 : 2;
		int r = 1;

		/*
		 * Largest page that is aligned, fits, and has one memory
		 * type (SDM 29.3.7: a large page has a single type, so a
		 * page spanning an MTRR boundary would change the type of
		 * part of it).
		 */
		for (; level >= 1; level--) {
			u64 sz = level_size(level);
			u8 type;

			if (gpa & (sz - 1) || end - gpa < sz)
				continue;
			type = range_type(mtrr, fixed, gpa, sz);
			if (type == MTRR_TYPE_MIXED)
				continue;
			r = set_identity(ept, gpa, level, type);
			if (r < 0)
				return -1;
			if (r == 0)
				break;
		}
		/* A 4 KiB page is always uniform and never in the way. */
		if (level < 1)
			return -1;
		gpa += level_size(level);
	}
	return 0;
}

int ept_set_4k(struct ept *ept, u64 gpa, u64 hpa, u64 perms, u8 memtype)
{
	u64 *e = walk_create(ept, gpa & PAGE_MASK, 1);

	if (!e)
		return -1;
	*e = leaf(hpa, perms, memtype, 1);
	return 0;
}

/*
 * Change only the permission bits of the naturally aligned page of the
 * given level (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB) at gpa.  A larger leaf
 * above it is split down to that level (its other parts keep their
 * rights); finer mappings already there are left alone: 1, and the caller
 * goes down a level.  -1: not mapped, or no memory for a split.
 */
int ept_protect_block(struct ept *ept, u64 gpa, int level, u64 perms)
{
	int found;
	u64 *e = ept_lookup(ept, gpa, &found);

	if (!e || level < 1 || level > 3)
		return -1;
	if (found < level)
		return 1;
	if (found > level) {
		e = walk_create(ept, gpa & ~(level_size(level) - 1), level);
		if (!e)
			return -1;
	}
	*e = (*e & ~EPT_RWX) | (perms & EPT_RWX);
	return 0;
}

/*
 * The table below entry (at level, 2 or 3) maps one naturally aligned
 * range with one set of attributes: every child a leaf, addresses
 * contiguous from the aligned base, attribute bits equal (bit 7 aside,
 * which only 4 KiB entries lack).  Then it can be one large leaf again.
 */
static bool table_uniform(u64 entry, int level, u64 *leaf_out)
{
	const u64 *t = table(entry & EPT_ADDR_MASK);
	u64 step = level_size(level - 1), attrs, base;

	if (!in_use(t[0]) || !is_leaf(t[0], level - 1))
		return false;
	base = t[0] & EPT_ADDR_MASK;
	if (base & (level_size(level) - 1))
		return false;
	attrs = t[0] & ~EPT_ADDR_MASK & ~EPT_LARGE;
	for (unsigned int i = 1; i < EPT_ENTRIES; i++) {
		if (!in_use(t[i]) || !is_leaf(t[i], level - 1) ||
		    (t[i] & EPT_ADDR_MASK) != base + i * step ||
		    (t[i] & ~EPT_ADDR_MASK & ~EPT_LARGE) != attrs)
			return false;
	}
	*leaf_out = base | attrs | EPT_LARGE;
	return true;
}

int ept_merge(struct ept *ept, u64 gpa, int up_to_level,
	      void (*free_page)(void *ctx, u64 pa), void *ctx)
{
	int merged = 0;

	for (int level = 2; level <= up_to_level && level <= 3; level++) {
		u64 *t = table(ept->pml4), *e = NULL, leaf, table_pa;

		if (gpa >> 48)
			return merged;
		/* The entry at this level, through tables only. */
		for (int l = 4; l >= level; l--) {
			e = &t[level_index(gpa, l)];
			if (!in_use(*e) || (l < 4 && is_leaf(*e, l)))
				return merged;
			if (l > level)
				t = table(*e & EPT_ADDR_MASK);
		}
		if (level == 3 && !ept->allow_1g)
			return merged;
		if (!table_uniform(*e, level, &leaf))
			return merged;
		/*
		 * The entry stops naming the table before the table is given
		 * back: never a moment where a walk through *e reaches a page
		 * the pool may hand out (its first word is the free-list link).
		 */
		table_pa = *e & EPT_ADDR_MASK;
		__atomic_store_n(e, leaf, __ATOMIC_RELEASE);
		free_page(ctx, table_pa);
		ept->pages_used--;
		merged++;
	}
	return merged;
}

int ept_protect_4k(struct ept *ept, u64 gpa, u64 perms)
{
	int level;
	u64 *e = ept_lookup(ept, gpa, &level);

	/* Changing permissions must not invent a mapping. */
	if (!e)
		return -1;
	if (level > 1) {
		e = walk_create(ept, gpa & PAGE_MASK, 1);
		if (!e)
			return -1;
	}
	*e = (*e & ~EPT_RWX) | (perms & EPT_RWX);
	return 0;
}

/*
 * Unrolled: every EPT violation, UNPROTECT/PROTECT and page override walks
 * here, and the loop with variable shifts cost about three times the
 * instructions (docs/benchmarks.md, pksvisor instructions per call).
 * PML4 entries are never leaves (SDM 29.3.2).
 */
static inline u64 *entry_at(u64 e, u64 gpa, int level)
{
	return &table(e & EPT_ADDR_MASK)[level_index(gpa, level)];
}

u64 *ept_lookup(const struct ept *ept, u64 gpa, int *level)
{
	u64 *e;
	int l = 1;

	if (gpa >> 48)
		return NULL;
	e = &table(ept->pml4)[level_index(gpa, 4)];
	if (!in_use(*e))
		return NULL;
	e = entry_at(*e, gpa, 3);
	if (!in_use(*e))
		return NULL;
	if (*e & EPT_LARGE) {
		l = 3;
		goto found;
	}
	e = entry_at(*e, gpa, 2);
	if (!in_use(*e))
		return NULL;
	if (*e & EPT_LARGE) {
		l = 2;
		goto found;
	}
	e = entry_at(*e, gpa, 1);
	if (!in_use(*e))
		return NULL;
found:
	if (level)
		*level = l;
	return e;
}

u64 ept_eptp(const struct ept *ept, bool ad)
{
	return (ept->pml4 & EPT_ADDR_MASK) | EPTP_MT_WB | EPTP_WALK_4 |
	       (ad ? EPTP_AD : 0);
}

/*
 * Paging-structure pages that restricting every 4 KiB page of [start, end)
 * may allocate in an EPT mapped with large pages: one PT per 2 MiB region
 * and one PD per 1 GiB region touched (an upper bound: regions already
 * split cost nothing).
 */
u64 ept_split_cost(u64 start, u64 end)
{
	if (end <= start)
		return 0;
	return ((end - 1) >> 21) - (start >> 21) + 1 +
	       ((end - 1) >> 30) - (start >> 30) + 1;
}

/*
 * Restricting [start, end) at the largest page sizes it allows
 * (ept_protect_block from 1 GiB down) only splits at its two edges: at
 * most one PD and one PT per edge, and never more than splitting it all.
 */
u64 ept_block_cost(u64 start, u64 end)
{
	u64 all = ept_split_cost(start, end);

	return all < 4 ? all : 4;
}
