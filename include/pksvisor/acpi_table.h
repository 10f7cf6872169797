/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * acpi_table.h: the header every ACPI system description table starts with
 * (ACPI 6.5 5.2.6).  pksvisor reads the firmware's tables with it
 * (boot/acpi.c: XSDT, FADT, DSDT); the test firmware stand-in
 * tests/guest-efi/fw-acpi.efi builds its tables with it.  <stdint.h> types:
 * the EFI test programs have u8/u32 typedefs of their own.
 */
#ifndef PKSVISOR_ACPI_TABLE_H
#define PKSVISOR_ACPI_TABLE_H

#include <stdint.h>

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem_id[6], oem_table_id[8];
	uint32_t oem_revision, creator_id, creator_revision;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI table header is 36 bytes");

#endif /* PKSVISOR_ACPI_TABLE_H */
