// SPDX-License-Identifier: MIT
/*
 * Parking an AP that entered VMX root but could not be launched as a guest
 * (its VMCLEAR/VMPTRLD or its VMLAUNCH failed: boot/mp.c, vmm/build.c).
 *
 * Such a CPU must never run guest code natively: the guest could start it
 * with INIT-SIPI-SIPI (pksvisor does not intercept the ICR) and it would
 * run without EPT, able to read and write pksvisor's reservation and every
 * keyed page.  Staying in VMX root closes that door: INIT signals are
 * blocked whenever a logical processor is in VMX root operation (SDM Vol.
 * 3C 24.8 "Restrictions on VMX operation"), and a SIPI is ignored unless
 * the CPU is in wait-for-SIPI (SDM Vol. 3A 10.6.1), which a blocked INIT
 * never puts it in.  So the CPU stays in VMX root for good, halted with
 * interrupts off.
 *
 * What it runs meanwhile must not be the guest's to change: the firmware's
 * page tables, GDT, IDT and stack live in memory the OS reclaims, so the
 * park loop first switches to pksvisor's host page tables, this vCPU's
 * host GDT and stack, and an IDT of its own (all in the reservation, which
 * EPT hides from the guest).  Every vector of that IDT leads back into the
 * halt loop without IRET: an NMI (the only interrupt that wakes a HLT with
 * IF = 0, besides SMI and #MC) then leaves NMIs blocked until an IRET that
 * never comes (SDM Vol. 3A 6.7.1), so at most one NMI and one #MC frame
 * ever land on the stack.
 */
#include "build.h"
#include "host.h"
#include "vcpu.h"

#define PARK_STR_(x)	#x
#define PARK_STR(x)	PARK_STR_(x)

struct park_dtr {
	u16 limit;
	u64 base;
} __attribute__((packed));

/* Shared by all parked CPUs: written identically by each, before its LIDT. */
static u64 park_idt[256 * 2] __attribute__((aligned(4096)));

extern char park_halt_loop[];
void __attribute__((noreturn)) park_switch(u64 cr3, const struct park_dtr *gdtr,
					   const struct park_dtr *idtr, u64 rsp);

/*
 * rdi = host CR3, rsi = &GDTR, rdx = &IDTR, rcx = stack.  CR3 first: this
 * code, the descriptors and the stack are identity-mapped in both the
 * firmware's tables and pksvisor's host tables (vmm/host.c).  CS is
 * reloaded with a far return so that it is a descriptor of the host GDT.
 */
asm(".text\n"
    ".globl park_switch\n"
    "park_switch:\n"
    "	cli\n"
    "	mov %rdi, %cr3\n"
    "	lgdt (%rsi)\n"
    "	lidt (%rdx)\n"
    "	mov %rcx, %rsp\n"
    "	mov $" PARK_STR(HOST_DS_SEL) ", %eax\n"
    "	mov %eax, %ds\n"
    "	mov %eax, %es\n"
    "	mov %eax, %ss\n"
    "	pushq $" PARK_STR(HOST_CS_SEL) "\n"
    "	lea park_halt_loop(%rip), %rax\n"
    "	push %rax\n"
    "	lretq\n"
    ".globl park_halt_loop\n"
    "park_halt_loop:\n"
    "	hlt\n"
    "	jmp park_halt_loop\n");

static void park_build_idt(void)
{
	u64 handler = (u64)(uintptr_t)park_halt_loop;

	/* 64-bit interrupt gates, DPL 0, no IST (SDM Vol. 3A 6.14.1). */
	for (unsigned int v = 0; v < 256; v++) {
		park_idt[v * 2] = (handler & 0xffff) | ((u64)HOST_CS_SEL << 16) |
				  (0x8eull << 40) | ((handler >> 16 & 0xffff) << 48);
		park_idt[v * 2 + 1] = handler >> 32;
	}
}

void hv_park_ap(struct boot_info *bi, unsigned int id)
{
	struct hv *hv = bi->hv;
	struct vcpu *vcpu = hv->vcpus[id];
	struct park_dtr gdtr = { .limit = 5 * 8 - 1, .base = vcpu->host_gdt };
	struct park_dtr idtr = { .limit = sizeof(park_idt) - 1,
				 .base = (u64)(uintptr_t)park_idt };

	park_build_idt();
	/* The boot CPU waits for this store; after it this CPU says nothing. */
	__atomic_store_n(&bi->ap[id].state, BOOT_AP_PARKED, __ATOMIC_RELEASE);
	park_switch(hv->host_cr3, &gdtr, &idtr, vcpu->stack_top);
}
