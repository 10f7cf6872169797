// SPDX-License-Identifier: MIT
/*
 * Unit tests for vmm/cr_rules.c: the MOV to CR values that must get #GP(0)
 * instead of reaching the VMCS (where most would fail VM entry and, before
 * these rules, halted pksvisor).  Expectations from SDM Vol. 2B "MOV—Move
 * to/from Control Registers" exceptions and Vol. 3A 2.5, 4.1, 4.10.1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../vmm/cr_rules.h"

#define PE	CRR_CR0_PE
#define WP	CRR_CR0_WP
#define NW	CRR_CR0_NW
#define CD	CRR_CR0_CD
#define PG	CRR_CR0_PG
#define NE	BIT(5)
#define ET	BIT(4)
#define PAE	CRR_CR4_PAE
#define LA57	CRR_CR4_LA57
#define PCIDE	CRR_CR4_PCIDE
#define CET	CRR_CR4_CET
#define PKS	BIT(24)
#define LME	CRR_EFER_LME
#define LMA	CRR_EFER_LMA

/* A 64-bit kernel: paging, PAE, long mode, CS.L. */
static struct cr_state long_mode(void)
{
	return (struct cr_state){
		.cr0 = PG | WP | NE | ET | PE, .cr3 = 0x1000, .cr4 = PAE,
		.efer = LME | LMA, .cs_long = true, .phys_bits = 40,
		.cr4_allowed = 0x00000000ffffffffull & ~BIT(13),
	};
}

/* Protected mode, paging off, LME set: about to enter IA-32e mode. */
static struct cr_state pre_long(void)
{
	return (struct cr_state){
		.cr0 = NE | ET | PE, .cr3 = 0x1000, .cr4 = 0, .efer = LME,
		.cs_long = false, .phys_bits = 40, .cr4_allowed = 0xffffffffull,
	};
}

static void test_cr0(void **state)
{
	struct cr_state s = long_mode(), p = pre_long();

	(void)state;
	assert_true(cr0_write_ok(&s, s.cr0));
	assert_true(cr0_write_ok(&s, s.cr0 & ~WP));
	assert_false(cr0_write_ok(&s, s.cr0 | BIT(32)));	/* bits 63:32 */
	assert_false(cr0_write_ok(&s, (s.cr0 | NW) & ~CD));	/* NW without CD */
	assert_true(cr0_write_ok(&s, s.cr0 | NW | CD));
	assert_false(cr0_write_ok(&s, s.cr0 & ~PE));		/* PG without PE */
	assert_false(cr0_write_ok(&s, s.cr0 & ~PG));		/* clear PG in 64-bit mode */
	s.cs_long = false;					/* compatibility mode */
	assert_true(cr0_write_ok(&s, s.cr0 & ~PG));
	s.cr4 |= PCIDE;						/* ... but not with PCIDE */
	assert_false(cr0_write_ok(&s, s.cr0 & ~PG));
	/* PG with LME and without PAE: SDM 10.8.5 */
	assert_false(cr0_write_ok(&p, p.cr0 | PG));
	p.cr4 |= PAE;
	assert_true(cr0_write_ok(&p, p.cr0 | PG));
	p.efer = 0;
	p.cr4 = 0;						/* 32-bit paging: fine */
	assert_true(cr0_write_ok(&p, p.cr0 | PG));
	/* WP may not be cleared while CET is on */
	s = long_mode();
	s.cr4 |= CET;
	assert_false(cr0_write_ok(&s, s.cr0 & ~WP));
}

static void test_cr4(void **state)
{
	struct cr_state s = long_mode(), p = pre_long();

	(void)state;
	assert_true(cr4_write_ok(&s, s.cr4 | PKS));
	assert_false(cr4_write_ok(&s, s.cr4 | BIT(32)));	/* FRED, unsupported */
	assert_false(cr4_write_ok(&s, s.cr4 | BIT(63)));
	assert_false(cr4_write_ok(&s, s.cr4 | BIT(13)));	/* not offered */
	assert_false(cr4_write_ok(&s, (s.cr4 | PKS) & ~PAE));	/* leave IA-32e */
	assert_false(cr4_write_ok(&s, s.cr4 | LA57));		/* LA57 in IA-32e */
	assert_true(cr4_write_ok(&s, s.cr4 | PCIDE));		/* CR3[11:0] = 0 */
	s.cr3 |= 0x8;						/* PWT */
	assert_false(cr4_write_ok(&s, s.cr4 | PCIDE));
	s.cr4 |= PCIDE;						/* already set: fine */
	assert_true(cr4_write_ok(&s, s.cr4));
	assert_false(cr4_write_ok(&p, p.cr4 | PCIDE));		/* not IA-32e */
	assert_true(cr4_write_ok(&p, p.cr4 | LA57));		/* paging off */
	assert_true(cr4_write_ok(&p, p.cr4 | PAE));
	s = long_mode();
	s.cr0 &= ~WP;
	assert_false(cr4_write_ok(&s, s.cr4 | CET));		/* CET needs WP */
}

static void test_cr3(void **state)
{
	struct cr_state s = long_mode(), p = pre_long();

	(void)state;
	assert_true(cr3_write_ok(&s, 0xfffffff000ull));
	assert_true(cr3_write_ok(&s, (1ull << 40) - 0x1000));
	assert_false(cr3_write_ok(&s, 1ull << 40));		/* MAXPHYADDR */
	assert_false(cr3_write_ok(&s, 1ull << 50));
	assert_false(cr3_write_ok(&s, BIT(63)));		/* caller strips it with PCIDE */
	s.phys_bits = 52;
	assert_true(cr3_write_ok(&s, 1ull << 50));
	assert_true(cr3_write_ok(&p, 0xfffff000ull));
	assert_false(cr3_write_ok(&p, 1ull << 32));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cr0),
		cmocka_unit_test(test_cr4),
		cmocka_unit_test(test_cr3),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
