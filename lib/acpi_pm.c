// SPDX-License-Identifier: MIT
/*
 * ACPI PM1 sleep control: table parsing and the decision what a guest's
 * write does (include/pksvisor/acpi_pm.h, docs/power.md).  ACPI 6.5
 * 5.2.9 (FADT), 4.8.3 (PM1 registers), 7.4.2 (\_Sx objects), 20.2 (AML).
 */
#include <pksvisor/acpi_pm.h>
#include <pksvisor/format.h>

/* FADT offsets (ACPI 6.5 Table 5.9). */
#define FADT_DSDT		40	/* u32 */
#define FADT_PM1A_EVT_BLK	56	/* u32 I/O port */
#define FADT_PM1B_EVT_BLK	60
#define FADT_PM1A_CNT_BLK	64
#define FADT_PM1B_CNT_BLK	68
#define FADT_X_DSDT		140	/* u64 */
#define FADT_X_PM1A_EVT_BLK	148	/* Generic Address Structures, 12 bytes */
#define FADT_X_PM1B_EVT_BLK	160
#define FADT_X_PM1A_CNT_BLK	172
#define FADT_X_PM1B_CNT_BLK	184

#define GAS_SPACE_IO		1

/* AML opcodes (ACPI 6.5 20.2). */
#define AML_ZERO		0x00
#define AML_ONE			0x01
#define AML_NAME		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_PACKAGE		0x12

static u32 get32(const u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24;
}

static u64 get64(const u8 *p)
{
	return get32(p) | (u64)get32(p + 4) << 32;
}

/* The 32-bit port field, overridden by the 64-bit GAS when that is I/O. */
static u16 fadt_port(const u8 *fadt, u32 len, u32 off32, u32 off_gas)
{
	u64 port = 0;

	if (len >= off32 + 4)
		port = get32(fadt + off32);
	if (len >= off_gas + 12 && fadt[off_gas] == GAS_SPACE_IO &&
	    get64(fadt + off_gas + 4))
		port = get64(fadt + off_gas + 4);
	/* Both bytes of a 16-bit register must be in I/O space. */
	return port && port <= 0xfffe ? (u16)port : 0;
}

int acpi_pm_from_fadt(struct acpi_pm *pm, const u8 *fadt, u32 len)
{
	if (!fadt || len < FADT_PM1B_CNT_BLK + 4)
		return -1;
	pm->pm1a_cnt = fadt_port(fadt, len, FADT_PM1A_CNT_BLK, FADT_X_PM1A_CNT_BLK);
	pm->pm1b_cnt = fadt_port(fadt, len, FADT_PM1B_CNT_BLK, FADT_X_PM1B_CNT_BLK);
	pm->pm1a_sts = fadt_port(fadt, len, FADT_PM1A_EVT_BLK, FADT_X_PM1A_EVT_BLK);
	pm->pm1b_sts = fadt_port(fadt, len, FADT_PM1B_EVT_BLK, FADT_X_PM1B_EVT_BLK);
	pm->have_fadt = true;
	return 0;
}

u64 acpi_fadt_dsdt(const u8 *fadt, u32 len)
{
	u64 dsdt = 0;

	if (len >= FADT_DSDT + 4)
		dsdt = get32(fadt + FADT_DSDT);
	if (len >= FADT_X_DSDT + 8 && get64(fadt + FADT_X_DSDT))
		dsdt = get64(fadt + FADT_X_DSDT);
	return dsdt;
}

/* One AML integer: ZeroOp, OneOp or BytePrefix n.  Returns its size or 0. */
static size_t aml_small_int(const u8 *p, size_t left, u8 *out)
{
	if (left >= 1 && (p[0] == AML_ZERO || p[0] == AML_ONE)) {
		*out = p[0];
		return 1;
	}
	if (left >= 2 && p[0] == AML_BYTE_PREFIX) {
		*out = p[1];
		return 2;
	}
	return 0;
}

int acpi_aml_sleep_type(const u8 *aml, size_t len, const char name[4],
			u8 *typ_a, u8 *typ_b)
{
	for (size_t i = 0; i + 6 <= len; i++) {
		size_t p = i + 5, n;

		/* NameOp NameSeg (a root prefix '\' before the name is allowed). */
		if (aml[i] != AML_NAME)
			continue;
		if (aml[i + 1] == '\\')
			p++;
		if (p > len || pksv_memcmp(aml + p - 4, name, 4))
			continue;
		if (p + 2 > len || aml[p] != AML_PACKAGE)
			continue;
		p++;
		/* PkgLength: bits 7:6 of the lead byte count the bytes that follow. */
		p += 1 + (aml[p] >> 6);
		p++;			/* NumElements */
		if (p >= len)
			continue;
		n = aml_small_int(aml + p, len - p, typ_a);
		if (!n)
			continue;
		p += n;
		if (!aml_small_int(aml + p, len - p, typ_b))
			*typ_b = *typ_a;
		return 0;
	}
	return -1;
}

/* The 16-bit register value a write makes visible, and whether it is one. */
static bool cnt_value(u16 base, u16 port, unsigned int size, u32 value, u16 *v)
{
	if (!base)
		return false;
	if (port == base && size >= 2) {
		*v = (u16)value;
		return true;
	}
	if (port == base + 1 && size == 1) {
		*v = (u16)(value << 8);
		return true;
	}
	return false;
}

enum acpi_pm_action acpi_pm_classify_write(const struct acpi_pm *pm, u16 port,
					   unsigned int size, u32 value)
{
	u16 v;
	u8 s3;

	if (cnt_value(pm->pm1a_cnt, port, size, value, &v))
		s3 = pm->s3_typ_a;
	else if (cnt_value(pm->pm1b_cnt, port, size, value, &v))
		s3 = pm->s3_typ_b;
	else
		return ACPI_PM_NONE;
	if (!(v & PM1_CNT_SLP_EN))
		return ACPI_PM_NONE;
	if (s3 != ACPI_SLP_TYP_UNKNOWN &&
	    ((v >> PM1_CNT_SLP_TYP_SHIFT) & PM1_CNT_SLP_TYP_MASK) == s3)
		return ACPI_PM_REFUSE_S3;
	return ACPI_PM_SLEEP;
}

/*
 * Where WAK_STS (bit 15 of the 16-bit PM1x_STS at sts) sits in an access
 * of size bytes at port: its bit number in the value, or -1 when the
 * access does not reach it.  Guests read the register whole (port == sts)
 * or its high byte alone (port == sts + 1).
 */
static int wak_bit(u16 sts, u16 port, unsigned int size)
{
	if (!sts)
		return -1;
	if (port == sts && size >= 2)
		return 15;
	if (port == sts + 1)
		return 7;
	return -1;
}

u32 acpi_pm_fixup_read(const struct acpi_pm *pm, u16 port, unsigned int size,
		       u32 value)
{
	int bit = wak_bit(pm->pm1a_sts, port, size);

	if (bit < 0)
		bit = wak_bit(pm->pm1b_sts, port, size);
	if (pm->wake_pending && bit >= 0)
		value |= 1u << bit;
	return value;
}

bool acpi_pm_clears_wake(const struct acpi_pm *pm, u16 port, unsigned int size,
			 u32 value)
{
	int bit = wak_bit(pm->pm1a_sts, port, size);

	if (bit < 0)
		bit = wak_bit(pm->pm1b_sts, port, size);
	return bit >= 0 && (value & (1u << bit));
}
