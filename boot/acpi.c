// SPDX-License-Identifier: MIT
/*
 * Find the ACPI PM1a control block: a guest powers a real machine off by
 * writing SLP_TYPx|SLP_EN there, and pksvisor wants to print statistics
 * first.  ACPI 6.x 5.2.5 (RSDP), 5.2.8 (XSDT), 5.2.9 (FADT).
 */
#include <efi.h>
#include <efilib.h>
#include <pksvisor/format.h>
#include "boot.h"

struct acpi_header {
	char signature[4];
	u32 length;
	u8 revision, checksum;
	char oem_id[6], oem_table_id[8];
	u32 oem_revision, creator_id, creator_revision;
} __attribute__((packed));

#define FADT_PM1A_CNT_BLK	64	/* 32-bit I/O port */
#define FADT_X_PM1A_CNT_BLK	172	/* Generic Address Structure */

static u16 fadt_port(const u8 *fadt, u32 len)
{
	u32 port = 0;

	if (len >= FADT_PM1A_CNT_BLK + 4)
		port = *(const u32 *)(fadt + FADT_PM1A_CNT_BLK);
	/* The 64-bit GAS, when present and in I/O space (id 1), wins. */
	if (len >= FADT_X_PM1A_CNT_BLK + 12 && fadt[FADT_X_PM1A_CNT_BLK] == 1) {
		u64 x = *(const u64 *)(fadt + FADT_X_PM1A_CNT_BLK + 4);

		if (x)
			port = (u32)x;
	}
	return port <= 0xfffe ? (u16)port : 0;
}

u16 acpi_pm1a_cnt_port(EFI_SYSTEM_TABLE *st)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID;
	const u8 *rsdp = NULL;

	for (UINTN i = 0; i < st->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &st->ConfigurationTable[i];

		if (!CompareGuid(&t->VendorGuid, &acpi20))
			rsdp = t->VendorTable;
	}
	if (!rsdp || pksv_memcmp(rsdp, "RSD PTR ", 8) || rsdp[15] < 2)
		return 0;

	const struct acpi_header *xsdt =
		(const void *)(uintptr_t)*(const u64 *)(rsdp + 24);
	if (!xsdt || pksv_memcmp(xsdt->signature, "XSDT", 4))
		return 0;
	u32 n = (xsdt->length - sizeof(*xsdt)) / 8;
	const u8 *entries = (const u8 *)(xsdt + 1);

	for (u32 i = 0; i < n; i++) {
		const struct acpi_header *h =
			(const void *)(uintptr_t)*(const u64 *)(entries + i * 8);

		if (h && !pksv_memcmp(h->signature, "FACP", 4))
			return fadt_port((const u8 *)h, h->length);
	}
	return 0;
}
