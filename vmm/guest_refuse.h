/* SPDX-License-Identifier: MIT */
/*
 * What the guest may not have because it could reach pksvisor's memory
 * through host-physical addresses, as pure decisions (host unit tested in
 * tests/unit/test_guest_refuse.c; docs/threat-model.md):
 *
 *  - Intel Processor Trace writes its trace to *physical* addresses taken
 *    from IA32_RTIT_OUTPUT_BASE / the ToPA tables (SDM Vol. 3C 33.2.7),
 *    which EPT does not translate unless "Intel PT uses guest physical
 *    addresses" is set: a guest could aim it at the reservation.  pksvisor
 *    hides PT: CPUID.(7,0):EBX[25] clear, leaf 0x14 all zeros, and every
 *    RTIT MSR (0x560-0x587: OUTPUT_BASE, OUTPUT_MASK_PTRS, CTL, STATUS,
 *    CR3_MATCH, ADDRn_A/B) gives #GP, as on a CPU without PT.
 *  - IA32_APIC_BASE (0x1b) relocates the xAPIC page (SDM Vol. 3A 11.4.4):
 *    over the reservation it would shadow pksvisor's own memory for
 *    pksvisor (host accesses to that page would reach the APIC); a write
 *    whose base page lies in the reservation gets #GP.  And pksvisor
 *    itself writes the xAPIC ICR in VMX root to send a shootdown NMI
 *    (vmm/lapic.c) through its host page tables, which map [0, phys_limit)
 *    only (vmm/host.c): a write that enables xAPIC mode with the page at
 *    or above phys_limit gets #GP too, or the next shootdown would #PF in
 *    VMX root and halt the machine (review2 finding 4).  Both refusals
 *    are deviations from hardware no OS meets: Linux never moves the APIC.
 */
#ifndef PKSVISOR_GUEST_REFUSE_H
#define PKSVISOR_GUEST_REFUSE_H

#include <pksvisor/types.h>

#define CPUID_LEAF_INTEL_PT	0x14
#define CPUID7_EBX_INTEL_PT	BIT(25)
#define MSR_IA32_APIC_BASE	0x01b
#define APIC_BASE_BSP		(1ull << 8)	/* this processor is the BSP (SDM 11.4.4) */
#define APIC_BASE_X2APIC	BIT(10)		/* IA32_APIC_BASE.EXTD (SDM 11.12.1) */
#define APIC_BASE_ENABLE	BIT(11)		/* IA32_APIC_BASE.EN */
#define APIC_BASE_ADDR_MASK	0x000ffffffffff000ull	/* bits 51:12 (MAXPHYADDR bound) */
#define MSR_IA32_RTIT_FIRST	0x560			/* IA32_RTIT_OUTPUT_BASE */
#define MSR_IA32_RTIT_LAST	0x587			/* IA32_RTIT_ADDR3_B */

static inline bool msr_is_rtit(u32 msr)
{
	return msr >= MSR_IA32_RTIT_FIRST && msr <= MSR_IA32_RTIT_LAST;
}

/* CPUID as the guest sees it: Intel PT absent. */
static inline void cpuid_hide_pt(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	if (leaf == 7 && sub == 0)
		*b &= ~CPUID7_EBX_INTEL_PT;
	if (leaf == CPUID_LEAF_INTEL_PT)
		*a = *b = *c = *d = 0;
}

/* A WRMSR IA32_APIC_BASE of value that puts the APIC page in [base, base+size). */
static inline bool apic_base_in_range(u64 value, u64 base, u64 size)
{
	u64 page = value & APIC_BASE_ADDR_MASK;

	return page + 0x1000 > base && page < base + size;
}

/*
 * An IA32_APIC_BASE value that puts the APIC in xAPIC mode (EN = 1,
 * EXTD = 0: the only mode whose registers are memory, SDM 11.4.1) with
 * its page outside [0, limit), the host identity map.  x2APIC mode and
 * a disabled APIC use no page; leaving x2APIC for xAPIC goes through a
 * disabled state first (SDM 11.12.5), so that later write is checked.
 */
static inline bool apic_base_unmapped(u64 value, u64 limit)
{
	u64 page = value & APIC_BASE_ADDR_MASK;

	if ((value & (APIC_BASE_ENABLE | APIC_BASE_X2APIC)) != APIC_BASE_ENABLE)
		return false;
	return page >= limit || limit - page < 0x1000;
}

#endif
