/* SPDX-License-Identifier: MIT */
/*
 * MTRR snapshot and memory-type lookup (SDM Vol. 3A 12.11 "Memory Type
 * Range Registers").  Pure: the snapshot is read once at boot (or fed from
 * recorded values in unit tests) and EPT leaf memory types are derived
 * from it.
 */
#ifndef PKSVISOR_MTRR_H
#define PKSVISOR_MTRR_H

#include <pksvisor/types.h>

#define MTRR_TYPE_UC	0
#define MTRR_TYPE_WC	1
#define MTRR_TYPE_WT	4
#define MTRR_TYPE_WP	5
#define MTRR_TYPE_WB	6
#define MTRR_TYPE_MIXED	0xff	/* range is not uniform */

#define MTRR_MAX_VAR	32

/* Read at boot (mtrr_read()), read-only afterwards: no lock. */
struct mtrr_state {
	u64 cap;		/* IA32_MTRRCAP (0xfe) */
	u64 def_type;		/* IA32_MTRR_DEF_TYPE (0x2ff) */
	u64 fixed[11];		/* 64K_00000, 16K_80000, 16K_A0000, 4K_C0000..4K_F8000 */
	u64 var_base[MTRR_MAX_VAR];
	u64 var_mask[MTRR_MAX_VAR];
	unsigned int phys_bits;	/* MAXPHYADDR, for the variable-range masks */
};

/* Memory type of the 4 KiB page containing pa. */
u8 mtrr_type_of(const struct mtrr_state *m, u64 pa);

/* Type of [pa, pa + size) if uniform, else MTRR_TYPE_MIXED. */
u8 mtrr_range_type(const struct mtrr_state *m, u64 pa, u64 size);

/* Read the running CPU's MTRRs (ept/mtrr_read.c, not in unit tests). */
void mtrr_read(struct mtrr_state *m);

#endif
