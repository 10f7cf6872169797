/* SPDX-License-Identifier: MIT */
/*
 * ACPI fixed-hardware sleep control as pksvisor sees it: where the PM1
 * control and status registers are, which SLP_TYP value means S3, and
 * what pksvisor does with a guest's write to them (docs/power.md).  Pure
 * code, unit tested on the host (tests/unit/test_acpi_pm.c).
 *
 * A guest enters a sleep state by writing SLP_TYPx (bits 12:10) together
 * with SLP_EN (bit 13) to PM1a_CNT and PM1b_CNT (ACPI 6.5 4.8.3.2.1,
 * 7.4.2).  S3 (and S2) lose the CPU context; on wake the firmware jumps
 * straight to the OS waking vector in the FACS, past pksvisor, so the OS
 * would resume natively with virtualization gone.  pksvisor refuses those
 * writes.  S1 keeps the context (VMX survives), S4 and S5 wake through a
 * full boot (the boot manager starts pksvisor again): those proceed.
 */
#ifndef PKSVISOR_ACPI_PM_H
#define PKSVISOR_ACPI_PM_H

#include <pksvisor/types.h>

#define ACPI_SLP_TYP_UNKNOWN	0xff

#define PM1_CNT_SLP_EN		BIT(13)
#define PM1_CNT_SLP_TYP_SHIFT	10
#define PM1_CNT_SLP_TYP_MASK	7u
#define PM1_STS_WAK		BIT(15)

struct acpi_pm {
	u16 pm1a_cnt, pm1b_cnt;		/* I/O ports, 0 = absent */
	u16 pm1a_sts, pm1b_sts;		/* PM1x_EVT_BLK: status is its first half */
	u8 s3_typ_a, s3_typ_b;		/* \_S3_ SLP_TYPa/b, or ACPI_SLP_TYP_UNKNOWN */
	bool have_fadt;
	bool wake_pending;		/* an S3 was refused: show WAK_STS until cleared */
};

enum acpi_pm_action {
	ACPI_PM_NONE,		/* not a sleep request: perform it */
	ACPI_PM_SLEEP,		/* S1/S4/S5 (or unknown type): print stats, perform */
	ACPI_PM_REFUSE_S3,	/* S3 (S2): drop the write, return to the guest */
};

/*
 * Does an access of size bytes at port touch a PM1 control register?  A
 * string OUT there cannot be inspected (pksvisor has no instruction
 * emulator to read its source operand), so it is refused as a whole.
 */
static inline bool acpi_pm_touches_cnt(const struct acpi_pm *pm, u16 port, unsigned int size)
{
	const u16 cnt[2] = { pm->pm1a_cnt, pm->pm1b_cnt };

	for (unsigned int i = 0; i < 2; i++)
		if (cnt[i] && port < cnt[i] + 2 && cnt[i] < port + size)
			return true;
	return false;
}

/*
 * Classify a guest OUT of size bytes (1, 2, 4) of value to port.  Only
 * ports of pm are considered; a byte write to the control register's high
 * byte (port + 1) carries SLP_TYP and SLP_EN on its own.
 */
enum acpi_pm_action acpi_pm_classify_write(const struct acpi_pm *pm, u16 port,
					   unsigned int size, u32 value);

/*
 * The value a guest IN from port returns, given the hardware's value:
 * after a refused S3, PM1 status shows WAK_STS (the guest's sleep code
 * waits for it, ACPI 4.8.3.1.1) until the guest clears it.
 */
u32 acpi_pm_fixup_read(const struct acpi_pm *pm, u16 port, unsigned int size,
		       u32 value);

/* Does this OUT clear WAK_STS (write 1 to bit 15 of PM1x_STS)? */
bool acpi_pm_clears_wake(const struct acpi_pm *pm, u16 port, unsigned int size,
			 u32 value);

/*
 * SLP_TYPa and SLP_TYPb of the \_Sx_ package (name "_S3_") in an AML
 * table body (DSDT/SSDT without header): NameOp "_S3_" PackageOp PkgLength
 * NumElements, then two integers (ZeroOp, OneOp, BytePrefix n).  Returns
 * 0 and fills typ_a/typ_b, or -1 when there is no such package.
 */
int acpi_aml_sleep_type(const u8 *aml, size_t len, const char name[4],
			u8 *typ_a, u8 *typ_b);

/* Fill pm's ports from a FADT (whole table, length len).  Returns 0/-1. */
int acpi_pm_from_fadt(struct acpi_pm *pm, const u8 *fadt, u32 len);

/* The DSDT address the FADT names (X_DSDT when set, else DSDT), 0 if none. */
u64 acpi_fadt_dsdt(const u8 *fadt, u32 len);

#endif
