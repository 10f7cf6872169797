// SPDX-License-Identifier: MIT
/*
 * Find the ACPI PM1 sleep control registers and the S3 sleep type: a guest
 * powers a real machine off or suspends it by writing SLP_TYPx|SLP_EN
 * there; pksvisor prints statistics before a power-off and refuses S3
 * (docs/power.md).  ACPI 6.5 5.2.5 (RSDP), 5.2.8 (XSDT), 5.2.9 (FADT),
 * 5.2.11.1 (DSDT), 7.4.2 (\_Sx).  The parsing itself is lib/acpi_pm.c.
 * Also the MADT's count of startable CPUs (lib/acpi_madt.c, boot/mp.c).
 */
#include <efi.h>
#include <efilib.h>
#include <pksvisor/acpi_madt.h>
#include <pksvisor/acpi_table.h>
#include <pksvisor/format.h>
#include "boot.h"

/* Tables above this size are not ACPI tables but a bad pointer. */
#define ACPI_TABLE_MAX	(16u << 20)

/* The first table named sig that the XSDT lists, or NULL. */
static const struct acpi_header *find_table(EFI_SYSTEM_TABLE *st, const char *sig)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID;
	const u8 *rsdp = NULL;

	for (UINTN i = 0; i < st->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &st->ConfigurationTable[i];

		if (!CompareGuid(&t->VendorGuid, &acpi20))
			rsdp = t->VendorTable;
	}
	if (!rsdp || pksv_memcmp(rsdp, "RSD PTR ", 8) || rsdp[15] < 2)
		return NULL;

	const struct acpi_header *xsdt =
		(const void *)(uintptr_t)*(const u64 *)(rsdp + 24);
	if (!xsdt || pksv_memcmp(xsdt->signature, "XSDT", 4) ||
	    xsdt->length < sizeof(*xsdt) || xsdt->length > ACPI_TABLE_MAX)
		return NULL;
	u32 n = (xsdt->length - sizeof(*xsdt)) / 8;
	const u8 *entries = (const u8 *)(xsdt + 1);

	for (u32 i = 0; i < n; i++) {
		const struct acpi_header *h =
			(const void *)(uintptr_t)*(const u64 *)(entries + i * 8);

		if (h && !pksv_memcmp(h->signature, sig, 4) &&
		    h->length <= ACPI_TABLE_MAX)
			return h;
	}
	return NULL;
}

static const struct acpi_header *find_fadt(EFI_SYSTEM_TABLE *st)
{
	return find_table(st, "FACP");
}

int acpi_madt_cpus(EFI_SYSTEM_TABLE *st)
{
	const struct acpi_header *madt = find_table(st, "APIC");

	if (!madt)
		return ACPI_NO_MADT;
	return acpi_madt_startable_cpus((const u8 *)madt, madt->length);
}

void acpi_pm_find(EFI_SYSTEM_TABLE *st, struct acpi_pm *pm)
{
	const struct acpi_header *fadt = find_fadt(st);
	const struct acpi_header *dsdt;

	pksv_memset(pm, 0, sizeof(*pm));
	pm->s3_typ_a = pm->s3_typ_b = ACPI_SLP_TYP_UNKNOWN;
	if (!fadt || acpi_pm_from_fadt(pm, (const u8 *)fadt, fadt->length))
		return;
	dsdt = (const void *)(uintptr_t)acpi_fadt_dsdt((const u8 *)fadt, fadt->length);
	if (!dsdt || pksv_memcmp(dsdt->signature, "DSDT", 4) ||
	    dsdt->length < sizeof(*dsdt) || dsdt->length > ACPI_TABLE_MAX)
		return;
	/* No \_S3_ package: the platform offers no S3 and the OS never asks. */
	if (acpi_aml_sleep_type((const u8 *)(dsdt + 1), dsdt->length - sizeof(*dsdt),
				"_S3_", &pm->s3_typ_a, &pm->s3_typ_b))
		pm->s3_typ_a = pm->s3_typ_b = ACPI_SLP_TYP_UNKNOWN;
}

/* pm1a_cnt= and slp_typ_s3= override what the tables say (docs/power.md). */
void acpi_pm_apply_config(struct acpi_pm *pm, const struct pksv_config *cfg)
{
	if (cfg->pm1a_cnt)
		pm->pm1a_cnt = cfg->pm1a_cnt;
	if (cfg->slp_typ_s3 != CONFIG_SLP_TYP_NONE)
		pm->s3_typ_a = pm->s3_typ_b = cfg->slp_typ_s3;
}

static void port_str(char *buf, size_t n, u16 port)
{
	if (port)
		pksv_snprintf(buf, n, "0x%x", port);
	else
		pksv_snprintf(buf, n, "none");
}

void acpi_pm_report(const struct acpi_pm *pm, const struct pksv_config *cfg)
{
	char a[8], b[8], s[8];

	if (!pm->have_fadt && !cfg->pm1a_cnt) {
		boot_msg("ACPI: no FADT (the firmware publishes no ACPI tables): "
			 "S3 suspend cannot be intercepted (pm1a_cnt= names the port)");
		return;
	}
	port_str(a, sizeof(a), pm->pm1a_cnt);
	port_str(b, sizeof(b), pm->pm1b_cnt);
	port_str(s, sizeof(s), pm->pm1a_sts);
	if (pm->s3_typ_a == ACPI_SLP_TYP_UNKNOWN) {
		boot_msg("ACPI: PM1a_CNT %s%s PM1b_CNT %s PM1a_STS %s; no \\_S3_ in the DSDT: "
			 "the platform offers no S3", a, cfg->pm1a_cnt ? " (pm1a_cnt=)" : "", b, s);
		return;
	}
	boot_msg("ACPI: PM1a_CNT %s%s PM1b_CNT %s PM1a_STS %s, S3 SLP_TYP %u/%u%s: "
		 "S3 suspend will be refused", a, cfg->pm1a_cnt ? " (pm1a_cnt=)" : "",
		 b, s, pm->s3_typ_a, pm->s3_typ_b,
		 cfg->slp_typ_s3 != CONFIG_SLP_TYP_NONE ? " (slp_typ_s3=)" : "");
}
