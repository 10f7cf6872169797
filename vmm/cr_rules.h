/* SPDX-License-Identifier: MIT */
/*
 * Which MOV to CR0/CR3/CR4 values the CPU refuses with #GP(0) (SDM Vol. 2B
 * "MOV—Move to/from Control Registers", Protected Mode and 64-Bit Mode
 * Exceptions; Vol. 3A 2.5, 4.1.1, 4.10.1).  pksvisor emulates the writes
 * that exit (vmm/exit_cr.c); a value the CPU would refuse must get #GP,
 * never reach the VMCS: many of them fail the VM-entry checks on guest
 * control registers (SDM Vol. 3C 27.3.1.1).  Pure, host unit tested.
 */
#ifndef PKSVISOR_CR_RULES_H
#define PKSVISOR_CR_RULES_H

#include <pksvisor/types.h>

#define CRR_CR0_PE	BIT(0)
#define CRR_CR0_WP	BIT(16)
#define CRR_CR0_NW	BIT(29)
#define CRR_CR0_CD	BIT(30)
#define CRR_CR0_PG	BIT(31)
#define CRR_CR4_PAE	BIT(5)
#define CRR_CR4_LA57	BIT(12)
#define CRR_CR4_PCIDE	BIT(17)
#define CRR_CR4_CET	BIT(23)
#define CRR_EFER_LME	BIT(8)
#define CRR_EFER_LMA	BIT(10)

/* The guest's architectural state before the write. */
struct cr_state {
	u64 cr0, cr3, cr4, efer;
	bool cs_long;		/* CS.L: 64-bit mode (with EFER.LMA) */
	unsigned int phys_bits;	/* MAXPHYADDR */
	u64 cr4_allowed;	/* CR4 bits this CPU (as the guest sees it) has */
};

bool cr0_write_ok(const struct cr_state *s, u64 value);
bool cr4_write_ok(const struct cr_state *s, u64 value);
/* value with bit 63 (PCID no-flush) already removed when CR4.PCIDE = 1. */
bool cr3_write_ok(const struct cr_state *s, u64 value);

#endif
