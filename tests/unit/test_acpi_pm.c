// SPDX-License-Identifier: MIT
/* Unit tests for lib/acpi_pm.c: ACPI PM1 sleep control (docs/power.md). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <pksvisor/acpi_pm.h>

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* A FADT as QEMU q35 builds it: PM base 0x600, PM1a only. */
static void test_fadt_ports(void **state)
{
	uint8_t fadt[276] = { 'F', 'A', 'C', 'P' };
	struct acpi_pm pm = { 0 };

	(void)state;
	put32(fadt + 40, 0x7ffe0000);		/* DSDT */
	put32(fadt + 56, 0x600);		/* PM1a_EVT_BLK */
	put32(fadt + 64, 0x604);		/* PM1a_CNT_BLK */
	assert_int_equal(acpi_pm_from_fadt(&pm, fadt, sizeof(fadt)), 0);
	assert_true(pm.have_fadt);
	assert_int_equal(pm.pm1a_cnt, 0x604);
	assert_int_equal(pm.pm1a_sts, 0x600);
	assert_int_equal(pm.pm1b_cnt, 0);
	assert_int_equal(pm.pm1b_sts, 0);
	assert_int_equal(acpi_fadt_dsdt(fadt, sizeof(fadt)), 0x7ffe0000);

	/* X_PM1b_CNT_BLK in I/O space and X_DSDT win over the 32-bit fields. */
	fadt[184] = 1;
	put64(fadt + 188, 0x1804);
	put64(fadt + 140, 0x1234567000ull);
	assert_int_equal(acpi_pm_from_fadt(&pm, fadt, sizeof(fadt)), 0);
	assert_int_equal(pm.pm1b_cnt, 0x1804);
	assert_int_equal(acpi_fadt_dsdt(fadt, sizeof(fadt)), 0x1234567000ull);
	/* A GAS in memory space is no port. */
	fadt[184] = 0;
	put32(fadt + 68, 0);
	assert_int_equal(acpi_pm_from_fadt(&pm, fadt, sizeof(fadt)), 0);
	assert_int_equal(pm.pm1b_cnt, 0);
	/* Too short to hold the control blocks. */
	assert_int_equal(acpi_pm_from_fadt(&pm, fadt, 60), -1);
}

static void test_aml_sleep_type(void **state)
{
	/* Name (_S3, Package (4) { 0x05, 0x05, 0, 0 }) as iasl emits it. */
	static const uint8_t s3_byte[] = {
		0x10, 0x08, 0x08, '_', 'S', '4', '_', 0x12, 0x06, 0x04, 0x0a, 0x06, 0x0a, 0x06, 0x00, 0x00,
		0x08, '_', 'S', '3', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00,
	};
	/* Name (\_S3, Package () { One, One }) (QEMU's DSDT). */
	static const uint8_t s3_one[] = {
		0x08, '\\', '_', 'S', '3', '_', 0x12, 0x04, 0x02, 0x01, 0x01,
	};
	/* A 2-byte PkgLength and ZeroOp for SLP_TYPa, nothing for b. */
	static const uint8_t s3_long[] = {
		0x08, '_', 'S', '3', '_', 0x12, 0x40, 0x01, 0x01, 0x00,
	};
	static const uint8_t no_s3[] = {
		0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00,
		0x08, '_', 'S', '3', '_',	/* truncated */
	};
	uint8_t a = 0xee, b = 0xee;

	(void)state;
	assert_int_equal(acpi_aml_sleep_type(s3_byte, sizeof(s3_byte), "_S3_", &a, &b), 0);
	assert_int_equal(a, 5);
	assert_int_equal(b, 5);
	assert_int_equal(acpi_aml_sleep_type(s3_byte, sizeof(s3_byte), "_S4_", &a, &b), 0);
	assert_int_equal(a, 6);
	assert_int_equal(acpi_aml_sleep_type(s3_one, sizeof(s3_one), "_S3_", &a, &b), 0);
	assert_int_equal(a, 1);
	assert_int_equal(b, 1);
	assert_int_equal(acpi_aml_sleep_type(s3_long, sizeof(s3_long), "_S3_", &a, &b), 0);
	assert_int_equal(a, 0);
	assert_int_equal(b, 0);
	assert_int_equal(acpi_aml_sleep_type(no_s3, sizeof(no_s3), "_S3_", &a, &b), -1);
}

static const struct acpi_pm q35 = {
	.pm1a_cnt = 0x604, .pm1a_sts = 0x600, .s3_typ_a = 1, .s3_typ_b = 1,
	.have_fadt = true,
};

#define SLP(typ)	(PM1_CNT_SLP_EN | (typ) << PM1_CNT_SLP_TYP_SHIFT)

static void test_classify(void **state)
{
	struct acpi_pm pm = q35;

	(void)state;
	/* S3: refused, as a word, a dword or the high byte alone. */
	assert_int_equal(acpi_pm_classify_write(&pm, 0x604, 2, SLP(1)), ACPI_PM_REFUSE_S3);
	assert_int_equal(acpi_pm_classify_write(&pm, 0x604, 4, SLP(1) | 1), ACPI_PM_REFUSE_S3);
	assert_int_equal(acpi_pm_classify_write(&pm, 0x605, 1, SLP(1) >> 8), ACPI_PM_REFUSE_S3);
	/* S5 (0 on q35) and S4: performed after the statistics. */
	assert_int_equal(acpi_pm_classify_write(&pm, 0x604, 2, SLP(0)), ACPI_PM_SLEEP);
	assert_int_equal(acpi_pm_classify_write(&pm, 0x604, 2, SLP(2)), ACPI_PM_SLEEP);
	/* SLP_TYP without SLP_EN (Linux's first write) and SCI_EN: nothing. */
	assert_int_equal(acpi_pm_classify_write(&pm, 0x604, 2, 1 << 10 | 1), ACPI_PM_NONE);
	assert_int_equal(acpi_pm_classify_write(&pm, 0x604, 1, 0xff), ACPI_PM_NONE);
	/* Other ports. */
	assert_int_equal(acpi_pm_classify_write(&pm, 0x600, 2, SLP(1)), ACPI_PM_NONE);
	assert_int_equal(acpi_pm_classify_write(&pm, 0xcf9, 1, 6), ACPI_PM_NONE);
	/* PM1b uses SLP_TYPb. */
	pm.pm1b_cnt = 0x1804;
	pm.s3_typ_b = 3;
	assert_int_equal(acpi_pm_classify_write(&pm, 0x1804, 2, SLP(3)), ACPI_PM_REFUSE_S3);
	assert_int_equal(acpi_pm_classify_write(&pm, 0x1804, 2, SLP(1)), ACPI_PM_SLEEP);
	/* No \_S3_: nothing to refuse. */
	pm.s3_typ_a = pm.s3_typ_b = ACPI_SLP_TYP_UNKNOWN;
	assert_int_equal(acpi_pm_classify_write(&pm, 0x604, 2, SLP(1)), ACPI_PM_SLEEP);
	/* No port at all (no FADT, no pm1a_cnt=): port 0 is never matched. */
	memset(&pm, 0, sizeof(pm));
	pm.s3_typ_a = 0;
	assert_int_equal(acpi_pm_classify_write(&pm, 0, 2, SLP(0)), ACPI_PM_NONE);
}

static void test_wake_status(void **state)
{
	struct acpi_pm pm = q35;

	(void)state;
	/* Before a refusal, reads are the hardware's. */
	assert_int_equal(acpi_pm_fixup_read(&pm, 0x600, 2, 0x0001), 0x0001);
	pm.wake_pending = true;
	assert_int_equal(acpi_pm_fixup_read(&pm, 0x600, 2, 0x0001), 0x8001);
	assert_int_equal(acpi_pm_fixup_read(&pm, 0x600, 4, 0), 0x8000);
	assert_int_equal(acpi_pm_fixup_read(&pm, 0x601, 1, 0x01), 0x81);
	assert_int_equal(acpi_pm_fixup_read(&pm, 0x600, 1, 0x01), 0x01);
	assert_int_equal(acpi_pm_fixup_read(&pm, 0x604, 2, 0x0001), 0x0001);
	/* Writing 1 to WAK_STS clears it; other status bits do not. */
	assert_true(acpi_pm_clears_wake(&pm, 0x600, 2, 0x8000));
	assert_true(acpi_pm_clears_wake(&pm, 0x601, 1, 0x80));
	assert_false(acpi_pm_clears_wake(&pm, 0x600, 2, 0x0001));
	assert_false(acpi_pm_clears_wake(&pm, 0x604, 2, 0x8000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fadt_ports),
		cmocka_unit_test(test_aml_sleep_type),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_wake_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
