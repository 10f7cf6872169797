// SPDX-License-Identifier: MIT
/*
 * Count the processors an ACPI MADT lets the OS start (ACPI 6.5 5.2.12.2
 * "Processor Local APIC Structure", 5.2.12.12 "Processor Local x2APIC
 * Structure").  A structure with neither Enabled nor Online Capable set
 * is a CPU the OS must not start; either bit means the OS may send it
 * INIT-SIPI.  The fields are read byte by byte: the table is packed and
 * comes from the firmware.
 */
#include <pksvisor/acpi_madt.h>

static u32 get32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

int acpi_madt_startable_cpus(const u8 *madt, u32 len)
{
	u32 off = MADT_FIXED_LEN;
	int cpus = 0;

	if (!madt || len < MADT_FIXED_LEN)
		return -1;
	while (off < len) {
		u8 type, slen;
		u32 flags;

		if (len - off < 2)
			return -1;
		type = madt[off];
		slen = madt[off + 1];
		/* A length below 2 would never move on; past the end, a lie. */
		if (slen < 2 || slen > len - off)
			return -1;
		if (type == MADT_LOCAL_APIC) {
			if (slen < 8)
				return -1;
			flags = get32(madt + off + 4);
		} else if (type == MADT_LOCAL_X2APIC) {
			if (slen < 16)
				return -1;
			flags = get32(madt + off + 8);
		} else {
			off += slen;
			continue;
		}
		if (flags & (MADT_CPU_ENABLED | MADT_CPU_ONLINE_CAPABLE))
			cpus++;
		off += slen;
	}
	return cpus;
}
