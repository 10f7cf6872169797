/* SPDX-License-Identifier: MIT */
/*
 * acpi_madt.h: how many processors an ACPI MADT lets the OS start (ACPI
 * 6.5 5.2.12).  pksvisor compares that with the CPUs it virtualizes
 * (boot/mp.c): a CPU the OS can start with INIT-SIPI but pksvisor does not
 * run on would run natively, outside EPT.  Pure code, unit tested on the
 * host (tests/unit/test_acpi_madt.c).
 */
#ifndef PKSVISOR_ACPI_MADT_H
#define PKSVISOR_ACPI_MADT_H

#include <pksvisor/types.h>

/* Interrupt controller structure types that describe one processor. */
#define MADT_LOCAL_APIC		0	/* 8 bytes: APIC ID at 3, flags at 4 */
#define MADT_LOCAL_X2APIC	9	/* 16 bytes: x2APIC ID at 4, flags at 8 */

/* Local (x2)APIC flags (ACPI 6.5 Table 5.23). */
#define MADT_CPU_ENABLED	0x1u
#define MADT_CPU_ONLINE_CAPABLE	0x2u

/* The fixed part: the 36-byte header, local APIC address, flags. */
#define MADT_FIXED_LEN		44u

/*
 * The processors the MADT of len bytes lists as Enabled or Online Capable
 * (the OS may start both), or -1 when the table is malformed (shorter
 * than its fixed part, or a structure that overruns it or is too short
 * for its type).
 */
int acpi_madt_startable_cpus(const u8 *madt, u32 len);

#endif /* PKSVISOR_ACPI_MADT_H */
