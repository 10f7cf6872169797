/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * Ring-3 excursions and a VMFUNC probe for pksv-vmfunc.efi (System V ABI).
 *
 *   void ring3_run(u64 rip, u64 rsp, u32 ecx, u64 cs3, u64 ss3)
 *	IRETQ to CPL 3 at rip/rsp with EAX = 0, ECX = ecx (VMFUNC leaf 0,
 *	list index) and interrupts off.  The user code ends in an exception
 *	(#UD from a refused VMFUNC, #GP from the HLT after it); the C handler
 *	sends the CPU back to ring3_back on the saved kernel stack
 *	(ring3_kernel_rsp), which returns to ring3_run's caller.
 *
 *   void vmfunc_probe(u32 index)
 *	VMFUNC(EAX = 0, ECX = index) at CPL 0 between vmfunc_probe_insn and
 *	vmfunc_probe_end: the handler resumes a #UD at the _end label.
 */
	.text

	.globl	ring3_run, ring3_back, ring3_kernel_rsp
	.hidden	ring3_run, ring3_back, ring3_kernel_rsp
ring3_run:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	/*
	 * IRET to CPL 3 nulls DS, ES, FS and GS when their DPL is 0 (SDM
	 * Vol. 2A IRET): keep the firmware's selectors to reload them.
	 */
	mov	%ds, %eax
	push	%rax
	mov	%es, %eax
	push	%rax
	mov	%fs, %eax
	push	%rax
	mov	%gs, %eax
	push	%rax
	mov	%rsp, ring3_kernel_rsp(%rip)
	push	%r8			/* SS */
	push	%rsi			/* RSP */
	pushfq				/* RFLAGS (IF is clear) */
	push	%rcx			/* CS */
	push	%rdi			/* RIP */
	mov	%edx, %ecx
	xor	%eax, %eax
	iretq
ring3_back:
	pop	%rax
	mov	%eax, %gs
	pop	%rax
	mov	%eax, %fs
	pop	%rax
	mov	%eax, %es
	pop	%rax
	mov	%eax, %ds
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret

	.globl	vmfunc_probe, vmfunc_probe_insn, vmfunc_probe_end
	.hidden	vmfunc_probe, vmfunc_probe_insn, vmfunc_probe_end
vmfunc_probe:
	mov	%edi, %ecx
	xor	%eax, %eax
vmfunc_probe_insn:
	vmfunc
vmfunc_probe_end:
	ret

	.data
	.balign	8
ring3_kernel_rsp:
	.quad	0

	.section .note.GNU-stack, "", @progbits
