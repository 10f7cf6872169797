// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-vmcall: issue a pksvisor hypercall (PKSV_HC_NOP) from user space.
 * pksvisor answers VMCALL only at CPL 0: at CPL 3 the guest gets #UD, as on
 * a CPU without a hypervisor, so this process must die of SIGILL and the
 * kernel must live on.  Prints "returned" (and exits 1) if VMCALL returns.
 */
#include <stdio.h>

int main(void)
{
	/* RAX = "PKSV" << 32 | PKSV_HC_NOP (include/pksvisor/hypercall.h) */
	unsigned long rax = (0x504b5356UL << 32) | 0x03, rbx = 0x1234;

	printf("pksv-vmcall: VMCALL at CPL 3\n");
	fflush(stdout);
	__asm__ volatile("vmcall" : "+a" (rax), "+b" (rbx) : : "rcx", "rdx", "memory");
	printf("pksv-vmcall: returned rax=%#lx rbx=%#lx\n", rax, rbx);
	return 1;
}
