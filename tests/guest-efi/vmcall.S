/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * void pksv_vmcall_regs(struct hc_regs *r)   (System V ABI, r in %rdi)
 *
 * Loads every general-purpose register except %rsp from *r, executes
 * VMCALL and stores every register back into *r, so a test can prove that
 * a hypercall preserves the registers the ABI says it preserves.
 * Layout of struct hc_regs (u64 each): rax rbx rcx rdx rsi rdi rbp
 * r8 r9 r10 r11 r12 r13 r14 r15.
 */
	.text
	.globl	pksv_vmcall_regs
	.type	pksv_vmcall_regs, @function
pksv_vmcall_regs:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rdi			/* the struct pointer, needed after VMCALL */

	mov	0x00(%rdi), %rax
	mov	0x08(%rdi), %rbx
	mov	0x10(%rdi), %rcx
	mov	0x18(%rdi), %rdx
	mov	0x20(%rdi), %rsi
	mov	0x30(%rdi), %rbp
	mov	0x38(%rdi), %r8
	mov	0x40(%rdi), %r9
	mov	0x48(%rdi), %r10
	mov	0x50(%rdi), %r11
	mov	0x58(%rdi), %r12
	mov	0x60(%rdi), %r13
	mov	0x68(%rdi), %r14
	mov	0x70(%rdi), %r15
	mov	0x28(%rdi), %rdi

	vmcall

	xchg	%rdi, (%rsp)		/* %rdi = pointer, stack = guest %rdi */
	mov	%rax, 0x00(%rdi)
	mov	%rbx, 0x08(%rdi)
	mov	%rcx, 0x10(%rdi)
	mov	%rdx, 0x18(%rdi)
	mov	%rsi, 0x20(%rdi)
	mov	%rbp, 0x30(%rdi)
	mov	%r8,  0x38(%rdi)
	mov	%r9,  0x40(%rdi)
	mov	%r10, 0x48(%rdi)
	mov	%r11, 0x50(%rdi)
	mov	%r12, 0x58(%rdi)
	mov	%r13, 0x60(%rdi)
	mov	%r14, 0x68(%rdi)
	mov	%r15, 0x70(%rdi)
	pop	%rax
	mov	%rax, 0x28(%rdi)

	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret
	.size	pksv_vmcall_regs, . - pksv_vmcall_regs

	.section .note.GNU-stack, "", @progbits
