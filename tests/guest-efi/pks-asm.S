/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * Low-level pieces of the PKS test environment of pks-conformance.efi and
 * pksv-pv.efi (System V ABI).
 *
 * Probes: each access that may fault is one instruction between a
 * pks_*_insn label and a pks_*_end label; the exception handler in
 * pks-env.c resumes a faulting probe at its _end label, so a
 * probe "returns" whether or not its access faulted (the C side reads the
 * recorded vector).
 *
 *   u64  pks_probe_read(const void *p)       8-byte load; 0 when it faults
 *   void pks_probe_write(void *p, u64 v)     8-byte store
 *   void pks_probe_call(void *target)        call target (a page holding
 *                                            a ret): an instruction fetch;
 *                                            the handler emulates the ret
 *                                            when the fetch faults
 *   void pks_probe_wrmsr(u32 msr, u64 v)
 *   u64  pks_probe_rdmsr(u32 msr)            0 when it faults
 *
 * Exception entry: pks_exc_stubs holds 32 stubs, 16 bytes apart (stub v
 * at pks_exc_stubs + 16 * v).  Each pushes a 0 error code when the CPU
 * does not push one, then the vector, then jumps to the common code that
 * saves every general-purpose register and calls
 *   void pks_exc_c(struct pks_frame *f)
 * (layout in pks-env.h), which may change f->rip and f->rsp.
 */
	.text

	.globl	pks_probe_read, pks_probe_read_insn, pks_probe_read_end
	.hidden	pks_probe_read, pks_probe_read_insn, pks_probe_read_end
pks_probe_read:
	xor	%eax, %eax
pks_probe_read_insn:
	mov	(%rdi), %rax
pks_probe_read_end:
	ret

	.globl	pks_probe_write, pks_probe_write_insn, pks_probe_write_end
	.hidden	pks_probe_write, pks_probe_write_insn, pks_probe_write_end
pks_probe_write:
pks_probe_write_insn:
	mov	%rsi, (%rdi)
pks_probe_write_end:
	ret

	.globl	pks_probe_call
	.hidden	pks_probe_call
pks_probe_call:
	call	*%rdi
	ret

	.globl	pks_probe_wrmsr, pks_probe_wrmsr_insn, pks_probe_wrmsr_end
	.hidden	pks_probe_wrmsr, pks_probe_wrmsr_insn, pks_probe_wrmsr_end
pks_probe_wrmsr:
	mov	%edi, %ecx
	mov	%esi, %eax
	mov	%rsi, %rdx
	shr	$32, %rdx
pks_probe_wrmsr_insn:
	wrmsr
pks_probe_wrmsr_end:
	ret

	.globl	pks_probe_rdmsr, pks_probe_rdmsr_insn, pks_probe_rdmsr_end
	.hidden	pks_probe_rdmsr, pks_probe_rdmsr_insn, pks_probe_rdmsr_end
pks_probe_rdmsr:
	mov	%edi, %ecx
	xor	%eax, %eax
	xor	%edx, %edx
pks_probe_rdmsr_insn:
	rdmsr
pks_probe_rdmsr_end:
	shl	$32, %rdx
	or	%rdx, %rax
	ret

/* Vectors whose exceptions push an error code: 8, 10-14, 17, 21, 29, 30. */
	.macro	stub v
	.balign	16
	.if (\v == 8) || (\v >= 10 && \v <= 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
	.else
	pushq	$0
	.endif
	pushq	$\v
	jmp	pks_exc_common
	.endm

	.globl	pks_exc_stubs
	.hidden	pks_exc_stubs
	.balign	16
pks_exc_stubs:
	.irp	v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	stub	\v
	.endr

/*
 * Stack on entry: vector, error code, rip, cs, rflags, rsp, ss (the CPU
 * aligned RSP to 16 before pushing).  15 registers more make 22 quadwords:
 * RSP stays 16-byte aligned for the call.
 */
pks_exc_common:
	cld
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	call	pks_exc_c
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	add	$16, %rsp		/* vector, error code */
	iretq

	.section .note.GNU-stack, "", @progbits
