// SPDX-License-Identifier: MIT
/*
 * One NMI IPI through the physical local APIC (SDM Vol. 3A 11.6, "Issuing
 * Interprocessor Interrupts").  The guest owns the APIC and may have left
 * it in either mode (SDM 11.12.1, IA32_APIC_BASE[10] = x2APIC enable):
 *
 *  - x2APIC: one WRMSR of the 64-bit ICR (MSR 0x830; destination in bits
 *    63:32, SDM 11.12.9).  A single write, nothing of the guest's to save.
 *  - xAPIC: the ICR is two MMIO registers, and the write of the low half
 *    sends (SDM 11.6.1).  The guest may have been interrupted by this VM
 *    exit between its own writes of ICR_HI and ICR_LO, so ICR_HI is saved
 *    and restored around ours.  Delivery status (bit 12) is polled before
 *    our write (an IPI of the guest's may still be pending) and after it
 *    (so the guest never finds our IPI pending).
 *
 * The destination is the physical APIC ID boot/mp.c recorded for the
 * target's CPU (vcpu->apic_id, from MP services).
 */
#include <pksvisor/x86.h>
#include "lapic.h"
#include "guest_refuse.h"

#define MSR_X2APIC_ICR		0x830

#define XAPIC_ICR_LO		0x300
#define XAPIC_ICR_HI		0x310

/* ICR fields (SDM Vol. 3A Figure 11-12). */
#define ICR_DELIVERY_NMI	(4u << 8)	/* vector field ignored */
#define ICR_DELIVERY_PENDING	BIT(12)		/* xAPIC only */
#define ICR_LEVEL_ASSERT	BIT(14)

static void xapic_wait_idle(volatile u32 *icr_lo)
{
	while (*icr_lo & ICR_DELIVERY_PENDING)
		cpu_relax();
}

bool lapic_send_nmi(u32 apic_id, u64 mapped_limit)
{
	u64 base = rdmsr(MSR_IA32_APIC_BASE);
	volatile u32 *icr_lo, *icr_hi;
	u32 saved_hi;

	if (!(base & APIC_BASE_ENABLE))
		return false;
	if (base & APIC_BASE_X2APIC) {
		wrmsr(MSR_X2APIC_ICR, ((u64)apic_id << 32) | ICR_LEVEL_ASSERT | ICR_DELIVERY_NMI);
		return true;
	}
	/*
	 * pksvisor's host tables map all of [0, phys_limit) 1:1, MMIO UC by
	 * MTRR.  A page above (refused at WRMSR: guest_refuse.h) would #PF
	 * here in VMX root: fail closed, as for an APIC that is off.
	 */
	if (apic_base_unmapped(base, mapped_limit))
		return false;
	icr_lo = (volatile u32 *)(uintptr_t)((base & APIC_BASE_ADDR_MASK) + XAPIC_ICR_LO);
	icr_hi = (volatile u32 *)(uintptr_t)((base & APIC_BASE_ADDR_MASK) + XAPIC_ICR_HI);
	xapic_wait_idle(icr_lo);
	saved_hi = *icr_hi;
	*icr_hi = apic_id << 24;	/* xAPIC: 8-bit destination in 31:24 */
	*icr_lo = ICR_LEVEL_ASSERT | ICR_DELIVERY_NMI;
	xapic_wait_idle(icr_lo);
	*icr_hi = saved_hi;
	return true;
}
