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

/*
 * The structure at off: 1 and its APIC ID and flags if it is a processor
 * structure, 0 if another type, -1 if malformed.  *next = the offset after it.
 */
static int cpu_at(const u8 *madt, u32 len, u32 off, u32 *next, u32 *id, u32 *flags)
{
	u8 type, slen;

	if (len - off < 2)
		return -1;
	type = madt[off];
	slen = madt[off + 1];
	/* A length below 2 would never move on; past the end, a lie. */
	if (slen < 2 || slen > len - off)
		return -1;
	*next = off + slen;
	if (type == MADT_LOCAL_APIC) {
		if (slen < 8)
			return -1;
		*id = madt[off + 3];
		*flags = get32(madt + off + 4);
		return 1;
	}
	if (type == MADT_LOCAL_X2APIC) {
		if (slen < 16)
			return -1;
		*id = get32(madt + off + 4);
		*flags = get32(madt + off + 8);
		return 1;
	}
	return 0;
}

static bool startable(u32 flags)
{
	return flags & (MADT_CPU_ENABLED | MADT_CPU_ONLINE_CAPABLE);
}

/*
 * Distinct APIC IDs: firmware may describe one CPU both as a Local APIC
 * and as a Local x2APIC structure (ACPI 6.5 5.2.12.12), which is one CPU
 * the OS can start, not two (review3 F6).  Quadratic in the number of
 * structures, once at boot.
 */
int acpi_madt_startable_cpus(const u8 *madt, u32 len)
{
	u32 off = MADT_FIXED_LEN, next, id, flags;
	int cpus = 0, r;

	if (!madt || len < MADT_FIXED_LEN)
		return -1;
	while (off < len) {
		u32 prev = MADT_FIXED_LEN, pnext, pid, pflags;
		bool seen = false;

		r = cpu_at(madt, len, off, &next, &id, &flags);
		if (r < 0)
			return -1;
		if (r == 0 || !startable(flags)) {
			off = next;
			continue;
		}
		while (prev < off && !seen) {
			if (cpu_at(madt, len, prev, &pnext, &pid, &pflags) == 1 &&
			    startable(pflags) && pid == id)
				seen = true;
			prev = pnext;
		}
		cpus += !seen;
		off = next;
	}
	return cpus;
}
