// SPDX-License-Identifier: MIT
/*
 * Memory types from an MTRR snapshot (SDM Vol. 3A 12.11 "Memory Type Range
 * Registers").
 *
 * With EPT the memory type of guest accesses comes from the EPT leaf
 * entries (SDM Vol. 3C 29.3.7 "EPT and Memory Typing"): the CPU no longer
 * consults the MTRRs for guest-physical accesses, so pksvisor must put the
 * firmware's MTRR types into the EPT leaves itself or e.g. the MMIO hole
 * would become write-back cacheable.  Large EPT pages are only allowed
 * where the whole page has one memory type, which mtrr_range_type()
 * answers without walking every 4 KiB page of a 1 GiB range.
 */
#include <pksvisor/types.h>
#include <pksvisor/mtrr.h>

/* IA32_MTRR_DEF_TYPE (SDM Vol. 3A 12.11.2.1) */
#define DEF_TYPE_MASK	0xffull
#define DEF_FE		BIT(10)		/* fixed-range MTRRs enabled */
#define DEF_E		BIT(11)		/* MTRRs enabled */
/* IA32_MTRRCAP */
#define CAP_VCNT_MASK	0xffull
/* IA32_MTRR_PHYSMASKn (SDM Vol. 3A 12.11.2.3) */
#define VAR_VALID	BIT(11)
#define VAR_TYPE_MASK	0xffull

#define FIXED_END	0x100000ull	/* fixed ranges cover the first 1 MiB */

/*
 * Bound on the number of blocks one range query may examine.  Realistic
 * layouts (contiguous masks) need a few hundred at most; only perverse
 * non-contiguous masks could need more, and then MIXED is the safe answer:
 * the EPT code just uses smaller pages.
 */
#define BLOCK_BUDGET	4096

/* Sets of memory types as bit masks, 1 << type. */
#define TS(t)		(1u << (t))

/*
 * Types 2, 3 and 7+ are reserved; a firmware bug there must not make
 * memory cacheable, so treat them as UC.
 */
static u8 sane_type(u64 t)
{
	switch (t) {
	case MTRR_TYPE_UC:
	case MTRR_TYPE_WC:
	case MTRR_TYPE_WT:
	case MTRR_TYPE_WP:
	case MTRR_TYPE_WB:
		return (u8)t;
	default:
		return MTRR_TYPE_UC;
	}
}

/*
 * Type of a page matched by the variable ranges in set (SDM Vol. 3A
 * 12.11.4.1 "MTRR Precedences"): none -> default type; one type -> that
 * type; UC with anything -> UC; WT with WB -> WT; anything else is
 * undefined behaviour, for which UC is the only safe choice.
 */
static u8 combine(const struct mtrr_state *m, u32 set)
{
	u8 t;

	if (!set)
		return sane_type(m->def_type & DEF_TYPE_MASK);
	if (set & TS(MTRR_TYPE_UC))
		return MTRR_TYPE_UC;
	if (set == (TS(MTRR_TYPE_WT) | TS(MTRR_TYPE_WB)))
		return MTRR_TYPE_WT;
	for (t = 0; t < 8; t++) {
		if (set == TS(t))
			return t;
	}
	return MTRR_TYPE_UC;
}

/* Address bits the variable range masks compare: 12 .. MAXPHYADDR-1. */
static u64 phys_mask(const struct mtrr_state *m)
{
	/* CPUs without CPUID 0x80000008 have MAXPHYADDR 36 (SDM 4.1.4). */
	unsigned int bits = m->phys_bits ? m->phys_bits : 36;

	if (bits > 52)
		bits = 52;
	return (BIT(bits) - 1) & PAGE_MASK;
}

static unsigned int var_count(const struct mtrr_state *m)
{
	unsigned int n = m->cap & CAP_VCNT_MASK;

	return n < MTRR_MAX_VAR ? n : MTRR_MAX_VAR;
}

/*
 * Fixed-range type of pa < 1 MiB (SDM Vol. 3A 12.11.2.2, Table 12-9):
 * one byte per sub-range, 8 sub-ranges per MSR.
 */
static u8 fixed_type(const struct mtrr_state *m, u64 pa)
{
	unsigned int reg, byte;

	if (pa < 0x80000) {		/* MTRRfix64K_00000: 8 x 64 KiB */
		reg = 0;
		byte = pa >> 16;
	} else if (pa < 0xc0000) {	/* MTRRfix16K_80000/A0000: 16 KiB */
		reg = 1 + ((pa - 0x80000) >> 17);
		byte = ((pa - 0x80000) >> 14) & 7;
	} else {			/* MTRRfix4K_C0000..F8000: 4 KiB */
		reg = 3 + ((pa - 0xc0000) >> 15);
		byte = ((pa - 0xc0000) >> 12) & 7;
	}
	return sane_type((m->fixed[reg] >> (byte * 8)) & 0xff);
}

enum cover { COVER_NONE, COVER_ALL, COVER_PART };

/*
 * How variable range i covers the naturally aligned block [a, a + 2^k).
 * Inside the block only address bits below k vary, so the range matches
 * no page of it if a mask bit at or above k disagrees, every page if no
 * mask bit below k is set, and some pages otherwise.
 */
static enum cover var_cover(const struct mtrr_state *m, unsigned int i,
			    u64 a, unsigned int k)
{
	u64 mask = m->var_mask[i] & phys_mask(m);
	u64 low = BIT(k) - 1;

	if ((a & mask & ~low) != (m->var_base[i] & mask & ~low))
		return COVER_NONE;
	return (mask & low) ? COVER_PART : COVER_ALL;
}

/* Type of the aligned block [a, a + 2^k), k >= 12, or MTRR_TYPE_MIXED. */
static u8 block_type(const struct mtrr_state *m, u64 a, unsigned int k,
		     int *budget)
{
	u32 all = 0, part = 0, sub;
	unsigned int i, n = var_count(m);
	u8 t, t2;

	if (--*budget < 0)
		return MTRR_TYPE_MIXED;

	/* Below 1 MiB the fixed ranges replace the variable ones. */
	if ((m->def_type & DEF_FE) && a < FIXED_END) {
		if (a + BIT(k) <= FIXED_END) {
			u64 pa;

			/* At most 256 pages: simply compare them. */
			t = fixed_type(m, a);
			for (pa = a + PAGE_SIZE; pa < a + BIT(k);
			     pa += PAGE_SIZE) {
				if (fixed_type(m, pa) != t)
					return MTRR_TYPE_MIXED;
			}
			return t;
		}
		goto split;
	}

	for (i = 0; i < n; i++) {
		if (!(m->var_mask[i] & VAR_VALID))
			continue;
		t = sane_type(m->var_base[i] & VAR_TYPE_MASK);
		switch (var_cover(m, i, a, k)) {
		case COVER_ALL:
			all |= TS(t);
			break;
		case COVER_PART:
			part |= TS(t);
			break;
		case COVER_NONE:
			break;
		}
	}

	/*
	 * Ranges cutting through the block matter only if some combination
	 * of them changes the result.  Trying every subset of their (at most
	 * five) types is cheap and settles the common "WB range inside a
	 * WB default" case without splitting.
	 */
	t = combine(m, all);
	sub = part;
	do {
		if (combine(m, all | sub) != t)
			goto split;
		sub = (sub - 1) & part;
	} while (sub != part);
	return t;

split:
	/* A 4 KiB page always has a single type, so k > 12 here. */
	t = block_type(m, a, k - 1, budget);
	if (t == MTRR_TYPE_MIXED)
		return t;
	t2 = block_type(m, a + BIT(k - 1), k - 1, budget);
	return t2 == t ? t : MTRR_TYPE_MIXED;
}

u8 mtrr_type_of(const struct mtrr_state *m, u64 pa)
{
	int budget = BLOCK_BUDGET;

	/* SDM 12.11.2.1: with E clear all of memory is UC. */
	if (!(m->def_type & DEF_E))
		return MTRR_TYPE_UC;
	return block_type(m, pa & PAGE_MASK, PAGE_SHIFT, &budget);
}

u8 mtrr_range_type(const struct mtrr_state *m, u64 pa, u64 size)
{
	int budget = BLOCK_BUDGET;
	u64 lo, last;
	u8 type = MTRR_TYPE_MIXED;

	if (!(m->def_type & DEF_E))
		return MTRR_TYPE_UC;
	if (!size)
		return mtrr_type_of(m, pa);

	/* Whole pages, inclusive end so the top of memory cannot wrap. */
	lo = pa & PAGE_MASK;
	last = pa + size - 1;
	if (last < pa)
		last = ~0ull;
	last |= PAGE_SIZE - 1;

	/* Split [lo, last] into naturally aligned power-of-two blocks. */
	for (;;) {
		unsigned int k = PAGE_SHIFT;
		u8 t;

		/* last - lo cannot overflow, lo + size could. */
		while (k < 63 && !(lo & (BIT(k + 1) - 1)) &&
		       BIT(k + 1) - 1 <= last - lo)
			k++;
		t = block_type(m, lo, k, &budget);
		if (t == MTRR_TYPE_MIXED ||
		    (type != MTRR_TYPE_MIXED && t != type))
			return MTRR_TYPE_MIXED;
		type = t;
		if (BIT(k) - 1 >= last - lo)
			break;
		lo += BIT(k);
	}
	return type;
}
