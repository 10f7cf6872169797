// SPDX-License-Identifier: MIT
/* Unit tests for ept/mtrr.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <pksvisor/mtrr.h>

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define VALID (1ull << 11)

/* Mask for a contiguous power-of-two sized variable range. */
static uint64_t var_mask(uint64_t size, unsigned int phys_bits)
{
	return (~(size - 1) & ((1ull << phys_bits) - 1) & ~0xfffull) | VALID;
}

static uint64_t bytes8(uint8_t t)
{
	return 0x0101010101010101ull * t;
}

/*
 * Values as read on QEMU q35 + OVMF (40 physical address bits): MTRRcap
 * 0x508 (8 variable ranges, fixed, WC), default WB with E and FE set, the
 * legacy VGA window A0000-BFFFF UC in the fixed ranges, and the 32-bit
 * PCI hole 0xC0000000-0xFFFFFFFF UC through variable range 0.  The
 * expansion ROM area is made WP here to have a third type to tell apart.
 */
static void ovmf_layout(struct mtrr_state *m)
{
	int i;

	memset(m, 0, sizeof(*m));
	m->cap = 0x508;
	m->def_type = 0xc06;
	m->phys_bits = 40;
	m->fixed[0] = bytes8(MTRR_TYPE_WB);	/* 00000-7FFFF */
	m->fixed[1] = bytes8(MTRR_TYPE_WB);	/* 80000-9FFFF */
	m->fixed[2] = bytes8(MTRR_TYPE_UC);	/* A0000-BFFFF */
	for (i = 3; i < 11; i++)
		m->fixed[i] = bytes8(MTRR_TYPE_WP);	/* C0000-FFFFF */
	m->var_base[0] = 0xc0000000ull | MTRR_TYPE_UC;
	m->var_mask[0] = var_mask(GiB, 40);
	assert_int_equal(m->var_mask[0], 0xffc0000800ull);
}

static void test_ovmf_pages(void **state)
{
	struct mtrr_state m;

	(void)state;
	ovmf_layout(&m);
	assert_int_equal(mtrr_type_of(&m, 0), MTRR_TYPE_WB);
	assert_int_equal(mtrr_type_of(&m, 0x9f000), MTRR_TYPE_WB);
	assert_int_equal(mtrr_type_of(&m, 0x9ffff), MTRR_TYPE_WB);
	assert_int_equal(mtrr_type_of(&m, 0xa0000), MTRR_TYPE_UC);
	assert_int_equal(mtrr_type_of(&m, 0xbf123), MTRR_TYPE_UC);
	assert_int_equal(mtrr_type_of(&m, 0xc0000), MTRR_TYPE_WP);
	assert_int_equal(mtrr_type_of(&m, 0xff000), MTRR_TYPE_WP);
	assert_int_equal(mtrr_type_of(&m, 0x100000), MTRR_TYPE_WB);
	assert_int_equal(mtrr_type_of(&m, 0xbffff000), MTRR_TYPE_WB);
	assert_int_equal(mtrr_type_of(&m, 0xc0000000), MTRR_TYPE_UC);
	assert_int_equal(mtrr_type_of(&m, 0xfee00000), MTRR_TYPE_UC);
	assert_int_equal(mtrr_type_of(&m, 0xfffff000), MTRR_TYPE_UC);
	assert_int_equal(mtrr_type_of(&m, 0x100000000), MTRR_TYPE_WB);
	assert_int_equal(mtrr_type_of(&m, 0x13ffff000), MTRR_TYPE_WB);
}

static void test_fixed_individual_bytes(void **state)
{
	struct mtrr_state m;

	(void)state;
	ovmf_layout(&m);
	/* One byte per sub-range: check the byte order of each MSR kind. */
	m.fixed[0] = 0x0600000000000004ull;	/* 0-FFFF WT, 70000-7FFFF WB */
	m.fixed[1] = 0x0000000000000100ull;	/* 84000-87FFF WC */
	m.fixed[10] = 0x0400000000000000ull;	/* FF000 WT */
	assert_int_equal(mtrr_type_of(&m, 0x0f000), MTRR_TYPE_WT);
	assert_int_equal(mtrr_type_of(&m, 0x10000), MTRR_TYPE_UC);
	assert_int_equal(mtrr_type_of(&m, 0x7f000), MTRR_TYPE_WB);
	assert_int_equal(mtrr_type_of(&m, 0x83000), MTRR_TYPE_UC);
	assert_int_equal(mtrr_type_of(&m, 0x84000), MTRR_TYPE_WC);
	assert_int_equal(mtrr_type_of(&m, 0x88000), MTRR_TYPE_UC);
	assert_int_equal(mtrr_type_of(&m, 0xfe000), MTRR_TYPE_UC);
	assert_int_equal(mtrr_type_of(&m, 0xff000), MTRR_TYPE_WT);
	/* Reserved type values are treated as UC, never cacheable. */
	m.fixed[0] = bytes8(2);
	assert_int_equal(mtrr_type_of(&m, 0), MTRR_TYPE_UC);
}

static void test_ovmf_ranges(void **state)
{
	struct mtrr_state m;

	(void)state;
	ovmf_layout(&m);
	/* The first GiB and the first 2 MiB hold the UC/WP legacy area. */
	assert_int_equal(mtrr_range_type(&m, 0, GiB), MTRR_TYPE_MIXED);
	assert_int_equal(mtrr_range_type(&m, 0, 2 * MiB), MTRR_TYPE_MIXED);
	assert_int_equal(mtrr_range_type(&m, 0, 0xa0000), MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, 0xa0000, 0x20000), MTRR_TYPE_UC);
	assert_int_equal(mtrr_range_type(&m, 0x9f000, 0x2000),
			 MTRR_TYPE_MIXED);
	assert_int_equal(mtrr_range_type(&m, MiB, MiB), MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, 2 * MiB, 2 * MiB), MTRR_TYPE_WB);
	/* 1 GiB pages: RAM, RAM, hole, RAM above 4 GiB */
	assert_int_equal(mtrr_range_type(&m, GiB, GiB), MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, 2 * GiB, GiB), MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, 3 * GiB, GiB), MTRR_TYPE_UC);
	assert_int_equal(mtrr_range_type(&m, 4 * GiB, GiB), MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, 2 * GiB, 2 * GiB),
			 MTRR_TYPE_MIXED);
	/* 2 MiB pages on either side of the hole's start */
	assert_int_equal(mtrr_range_type(&m, 3 * GiB - 2 * MiB, 2 * MiB),
			 MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, 3 * GiB, 2 * MiB), MTRR_TYPE_UC);
	assert_int_equal(mtrr_range_type(&m, 3 * GiB - 4096, 8192),
			 MTRR_TYPE_MIXED);
	/* Unaligned, odd-sized ranges are rounded out to whole pages. */
	assert_int_equal(mtrr_range_type(&m, 0x100123, 0x5000), MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, 0xbffff800, 0x10),
			 MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, 0xbffff800, 0x1000),
			 MTRR_TYPE_MIXED);
	/* Size 0 is the type of the page; ranges up to the top of memory. */
	assert_int_equal(mtrr_range_type(&m, 3 * GiB, 0), MTRR_TYPE_UC);
	assert_int_equal(mtrr_range_type(&m, 4 * GiB, 252 * GiB),
			 MTRR_TYPE_WB);
	/* Above MAXPHYADDR the masks alias: 1 TiB + 3 GiB matches range 0. */
	assert_int_equal(mtrr_range_type(&m, 1ull << 40, 1ull << 40),
			 MTRR_TYPE_MIXED);
	assert_int_equal(mtrr_type_of(&m, (1ull << 40) + 3 * GiB),
			 MTRR_TYPE_UC);
	assert_int_equal(mtrr_range_type(&m, 0xfffffffffffff000ull, 0x1000),
			 MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, 0xffffffff00000000ull,
					 0x100000000ull), MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, 0xffffff0000000000ull,
					 0x100000000ull), MTRR_TYPE_MIXED);
	assert_int_equal(mtrr_range_type(&m, 0xffffff00c0000000ull, GiB),
			 MTRR_TYPE_UC);
}

static void test_overlaps(void **state)
{
	struct mtrr_state m;

	(void)state;
	ovmf_layout(&m);
	/* WB over 2-3 GiB and WT over 2.5-2.75 GiB: the overlap is WT. */
	m.var_base[1] = 0x80000000ull | MTRR_TYPE_WB;
	m.var_mask[1] = var_mask(GiB, 40);
	m.var_base[2] = 0xa0000000ull | MTRR_TYPE_WT;
	m.var_mask[2] = var_mask(256 * MiB, 40);
	assert_int_equal(mtrr_type_of(&m, 0x9ffff000), MTRR_TYPE_WB);
	assert_int_equal(mtrr_type_of(&m, 0xa0000000), MTRR_TYPE_WT);
	assert_int_equal(mtrr_type_of(&m, 0xaffff000), MTRR_TYPE_WT);
	assert_int_equal(mtrr_type_of(&m, 0xb0000000), MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, 0xa0000000, 256 * MiB),
			 MTRR_TYPE_WT);
	assert_int_equal(mtrr_range_type(&m, 2 * GiB, GiB), MTRR_TYPE_MIXED);

	/* UC wins over WB (and over WT). */
	m.var_base[3] = 0xa8000000ull | MTRR_TYPE_UC;
	m.var_mask[3] = var_mask(2 * MiB, 40);
	assert_int_equal(mtrr_type_of(&m, 0xa8000000), MTRR_TYPE_UC);
	assert_int_equal(mtrr_type_of(&m, 0xa81ff000), MTRR_TYPE_UC);
	assert_int_equal(mtrr_type_of(&m, 0xa8200000), MTRR_TYPE_WT);
	assert_int_equal(mtrr_range_type(&m, 0xa8000000, 2 * MiB),
			 MTRR_TYPE_UC);

	/* UC over the WB default */
	m.var_base[4] = 0x40000000ull | MTRR_TYPE_UC;
	m.var_mask[4] = var_mask(4096, 40);
	assert_int_equal(mtrr_type_of(&m, 0x40000000), MTRR_TYPE_UC);
	assert_int_equal(mtrr_type_of(&m, 0x40001000), MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, GiB, 2 * MiB), MTRR_TYPE_MIXED);
	assert_int_equal(mtrr_range_type(&m, GiB + 2 * MiB, 2 * MiB),
			 MTRR_TYPE_WB);

	/* Undefined combinations (WC with WB) are made UC. */
	m.var_base[5] = 0x50000000ull | MTRR_TYPE_WC;
	m.var_mask[5] = var_mask(16 * MiB, 40);
	m.var_base[6] = 0x50000000ull | MTRR_TYPE_WB;
	m.var_mask[6] = var_mask(8 * MiB, 40);
	assert_int_equal(mtrr_type_of(&m, 0x50000000), MTRR_TYPE_UC);
	assert_int_equal(mtrr_type_of(&m, 0x50800000), MTRR_TYPE_WC);

	/* Identical types overlapping stay that type. */
	m.var_base[7] = 0x50000000ull | MTRR_TYPE_WC;
	m.var_mask[7] = var_mask(32 * MiB, 40);
	assert_int_equal(mtrr_type_of(&m, 0x50800000), MTRR_TYPE_WC);
	assert_int_equal(mtrr_type_of(&m, 0x51800000), MTRR_TYPE_WC);
}

static void test_disabled_and_invalid(void **state)
{
	struct mtrr_state m;

	(void)state;
	/* E clear: everything is UC regardless of the rest. */
	ovmf_layout(&m);
	m.def_type &= ~(1ull << 11);
	assert_int_equal(mtrr_type_of(&m, 0), MTRR_TYPE_UC);
	assert_int_equal(mtrr_type_of(&m, 0x100000000), MTRR_TYPE_UC);
	assert_int_equal(mtrr_range_type(&m, 0, 1ull << 40), MTRR_TYPE_UC);

	/* FE clear: the first MiB follows the variable ranges/default. */
	ovmf_layout(&m);
	m.def_type &= ~(1ull << 10);
	assert_int_equal(mtrr_type_of(&m, 0xa0000), MTRR_TYPE_WB);
	assert_int_equal(mtrr_type_of(&m, 0xc0000), MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, 0, GiB), MTRR_TYPE_WB);

	/* Default type UC with WB RAM described by variable ranges. */
	ovmf_layout(&m);
	m.def_type = 0xc00 | MTRR_TYPE_UC;
	m.var_base[0] = 0 | MTRR_TYPE_WB;
	m.var_mask[0] = var_mask(2 * GiB, 40);
	m.var_base[1] = 0x80000000ull | MTRR_TYPE_WB;
	m.var_mask[1] = var_mask(GiB, 40);
	assert_int_equal(mtrr_range_type(&m, GiB, GiB), MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, 2 * GiB, GiB), MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, GiB, 2 * GiB), MTRR_TYPE_WB);
	assert_int_equal(mtrr_range_type(&m, 3 * GiB, GiB), MTRR_TYPE_UC);
	assert_int_equal(mtrr_range_type(&m, 4 * GiB, GiB), MTRR_TYPE_UC);

	/* Valid bit clear: the range is ignored. */
	m.var_mask[1] &= ~VALID;
	assert_int_equal(mtrr_range_type(&m, 2 * GiB, GiB), MTRR_TYPE_UC);
	m.var_mask[1] |= VALID;

	/* Ranges beyond MTRRcap.VCNT are ignored even if "valid". */
	m.cap = 0x501;
	assert_int_equal(mtrr_range_type(&m, 2 * GiB, GiB), MTRR_TYPE_UC);
	assert_int_equal(mtrr_range_type(&m, GiB, GiB), MTRR_TYPE_WB);
}

static void test_phys_bits(void **state)
{
	struct mtrr_state m;

	(void)state;
	ovmf_layout(&m);
	/*
	 * With 36 address bits the masks only compare bits 35:12, so the
	 * 1 GiB range at 3 GiB also matches its alias at 64 + 3 GiB.
	 */
	m.phys_bits = 36;
	m.var_mask[0] = var_mask(GiB, 36);
	assert_int_equal(m.var_mask[0], 0xfc0000800ull);
	assert_int_equal(mtrr_type_of(&m, 3 * GiB), MTRR_TYPE_UC);
	assert_int_equal(mtrr_type_of(&m, 4 * GiB), MTRR_TYPE_WB);
	assert_int_equal(mtrr_type_of(&m, 67 * GiB), MTRR_TYPE_UC);
	/* 40 bits with the 40-bit mask: no alias at 67 GiB */
	ovmf_layout(&m);
	assert_int_equal(mtrr_type_of(&m, 67 * GiB), MTRR_TYPE_WB);
	assert_int_equal(mtrr_type_of(&m, 1027 * GiB), MTRR_TYPE_UC);
}

/* Deterministic xorshift so failures reproduce. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const uint8_t types[] = { MTRR_TYPE_UC, MTRR_TYPE_WC, MTRR_TYPE_WT,
				 MTRR_TYPE_WP, MTRR_TYPE_WB };

/*
 * Compare mtrr_range_type() with a page-by-page walk of mtrr_type_of() on
 * random layouts, including non-contiguous masks (legal, if unusual).
 */
static void test_against_brute_force(void **state)
{
	struct mtrr_state m;
	int layout, q, i;

	(void)state;
	for (layout = 0; layout < 200; layout++) {
		memset(&m, 0, sizeof(m));
		m.cap = 0x508;
		m.phys_bits = 36;
		m.def_type = 0xc00 | types[rnd() % 5];
		for (i = 0; i < 11; i++)
			m.fixed[i] = (rnd() & 1) ? bytes8(MTRR_TYPE_WB) :
				     bytes8(types[rnd() % 5]);
		for (i = 0; i < (int)(rnd() % 9); i++) {
			/* ranges of 4 KiB .. 64 MiB inside the first 256 MiB */
			unsigned int sh = 12 + rnd() % 15;
			uint64_t size = 1ull << sh;
			uint64_t base = (rnd() % (256 * MiB)) & ~(size - 1);

			m.var_base[i] = base | types[rnd() % 5];
			m.var_mask[i] = var_mask(size, 36);
			if (rnd() % 8 == 0)	/* non-contiguous */
				m.var_mask[i] &= ~(1ull << (12 + rnd() % 14));
			if (rnd() % 10 == 0)
				m.var_mask[i] &= ~VALID;
		}
		for (q = 0; q < 40; q++) {
			uint64_t size = (rnd() & 1) ? 2 * MiB :
					4096ull << (rnd() % 9);
			uint64_t pa = (rnd() % (258 * MiB)) & ~(size - 1);
			uint8_t want = mtrr_type_of(&m, pa);
			uint64_t off;

			for (off = 4096; off < size; off += 4096) {
				if (mtrr_type_of(&m, pa + off) != want) {
					want = MTRR_TYPE_MIXED;
					break;
				}
			}
			if (mtrr_range_type(&m, pa, size) != want)
				fail_msg("layout %d: [%#llx, +%#llx) got %u want %u",
					 layout, (unsigned long long)pa,
					 (unsigned long long)size,
					 mtrr_range_type(&m, pa, size), want);
		}
	}
}

/* 1 GiB queries must be cheap even with all ranges in use. */
static void test_large_ranges_fast(void **state)
{
	struct mtrr_state m;
	clock_t t0;
	uint64_t pa;
	int i, uniform = 0;

	(void)state;
	ovmf_layout(&m);
	m.cap = 0x508 + 0x18;	/* 32 ranges */
	for (i = 1; i < 32; i++) {
		m.var_base[i] = (i * 5 * GiB + i * 2 * MiB) | MTRR_TYPE_WB;
		m.var_mask[i] = var_mask(4096, 40);
	}
	t0 = clock();
	for (pa = 0; pa < 512 * GiB; pa += GiB)
		uniform += mtrr_range_type(&m, pa, GiB) != MTRR_TYPE_MIXED;
	/* WB pages inside the WB default do not split anything. */
	assert_int_equal(uniform, 511);
	/* 512 queries; a page walk would take minutes under ASan. */
	assert_true(clock() - t0 < 2 * CLOCKS_PER_SEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ovmf_pages),
		cmocka_unit_test(test_fixed_individual_bytes),
		cmocka_unit_test(test_ovmf_ranges),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_disabled_and_invalid),
		cmocka_unit_test(test_phys_bits),
		cmocka_unit_test(test_against_brute_force),
		cmocka_unit_test(test_large_ranges_fast),
	};

	return cmocka_run_group_tests_name("mtrr", tests, NULL, NULL);
}
