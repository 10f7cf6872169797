/* SPDX-License-Identifier: MIT */
/*
 * The physical local APIC, as pksvisor uses it in VMX root: to send one
 * NMI to another CPU (the shootdown, vmm/shootdown.c).  The guest owns
 * the APIC otherwise; pksvisor leaves every register as it found it.
 */
#ifndef PKSVISOR_LAPIC_H
#define PKSVISOR_LAPIC_H

#include <pksvisor/types.h>

/*
 * Send an NMI IPI to the CPU with this (x2)APIC ID, in whichever mode
 * (xAPIC MMIO or x2APIC MSRs) the guest left this CPU's APIC.  False when
 * the APIC is globally disabled (IA32_APIC_BASE[11] = 0) or its xAPIC
 * page lies outside [0, mapped_limit), which the host page tables map
 * (hv->phys_limit): nothing sent.
 */
bool lapic_send_nmi(u32 apic_id, u64 mapped_limit);

#endif
