// SPDX-License-Identifier: MIT
/* MOV to CR #GP(0) conditions (vmm/cr_rules.h). */
#include "cr_rules.h"

static bool in_64bit_mode(const struct cr_state *s)
{
	return (s->efer & CRR_EFER_LMA) && s->cs_long;
}

bool cr0_write_ok(const struct cr_state *s, u64 value)
{
	/* Bits 63:32 are reserved (64-bit mode exceptions). */
	if (value >> 32)
		return false;
	if ((value & CRR_CR0_PG) && !(value & CRR_CR0_PE))
		return false;
	if ((value & CRR_CR0_NW) && !(value & CRR_CR0_CD))
		return false;
	/* Entering IA-32e mode needs PAE (SDM Vol. 3A 10.8.5, 4.1.2). */
	if ((value & CRR_CR0_PG) && !(s->cr0 & CRR_CR0_PG) &&
	    (s->efer & CRR_EFER_LME) && !(s->cr4 & CRR_CR4_PAE))
		return false;
	/* "If the logical processor is in 64-bit mode or if CR4.PCIDE = 1,
	 * an attempt to clear CR0.PG causes #GP" (SDM Vol. 3A 4.1.2). */
	if (!(value & CRR_CR0_PG) && (s->cr0 & CRR_CR0_PG) &&
	    (in_64bit_mode(s) || (s->cr4 & CRR_CR4_PCIDE)))
		return false;
	/* CET needs WP (SDM Vol. 3A 2.5, CR4.CET). */
	if (!(value & CRR_CR0_WP) && (s->cr4 & CRR_CR4_CET))
		return false;
	return true;
}

bool cr4_write_ok(const struct cr_state *s, u64 value)
{
	bool lma = s->efer & CRR_EFER_LMA;

	/* Reserved or unsupported bits, bits 63:32 included (FRED is 32). */
	if (value & ~s->cr4_allowed)
		return false;
	/* "CR4.PAE cannot be cleared while IA-32e paging is active" (4.1.1). */
	if (lma && !(value & CRR_CR4_PAE))
		return false;
	/* LA57 cannot change in IA-32e mode (MOV CR exceptions). */
	if (lma && ((value ^ s->cr4) & CRR_CR4_LA57))
		return false;
	/* PCIDE: only in IA-32e mode, and 0 -> 1 only with PCID 0 (4.10.1). */
	if ((value & CRR_CR4_PCIDE) && !lma)
		return false;
	if ((value & CRR_CR4_PCIDE) && !(s->cr4 & CRR_CR4_PCIDE) && (s->cr3 & 0xfff))
		return false;
	if ((value & CRR_CR4_CET) && !(s->cr0 & CRR_CR0_WP))
		return false;
	return true;
}

bool cr3_write_ok(const struct cr_state *s, u64 value)
{
	unsigned int bits = s->phys_bits ? s->phys_bits : 36;

	/* Outside IA-32e mode MOV to CR3 takes 32 bits: nothing reserved. */
	if (!(s->efer & CRR_EFER_LMA))
		return !(value >> 32);
	/* Bits 63:MAXPHYADDR are reserved (SDM Vol. 3A 4.5, Table 4-12). */
	return bits >= 64 || !(value >> bits);
}
