/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * Instructions pksv-nohalt.efi drives at pksvisor (System V ABI).  Each
 * one that may fault sits between an _insn and an _end label; the
 * exception handler (pksv-nohalt.c) resumes a faulting one at its _end.
 *
 *   void nh_write_cr0(u64 v), nh_write_cr3(u64 v), nh_write_cr4(u64 v)
 *   void nh_tf_cpuid(void)     CPUID with RFLAGS.TF = 1; the trap is owed
 *                              right after it, at nh_tf_cpuid_after
 *   void nh_gather(const void *base, const u32 *idx, u32 *out)
 *                              VPGATHERDD of 8 dwords at base + idx[i]
 */
	.text

	.globl	nh_write_cr0, nh_write_cr0_insn, nh_write_cr0_end
	.hidden	nh_write_cr0, nh_write_cr0_insn, nh_write_cr0_end
nh_write_cr0:
nh_write_cr0_insn:
	mov	%rdi, %cr0
nh_write_cr0_end:
	ret

	.globl	nh_write_cr3, nh_write_cr3_insn, nh_write_cr3_end
	.hidden	nh_write_cr3, nh_write_cr3_insn, nh_write_cr3_end
nh_write_cr3:
nh_write_cr3_insn:
	mov	%rdi, %cr3
nh_write_cr3_end:
	ret

	.globl	nh_write_cr4, nh_write_cr4_insn, nh_write_cr4_end
	.hidden	nh_write_cr4, nh_write_cr4_insn, nh_write_cr4_end
nh_write_cr4:
nh_write_cr4_insn:
	mov	%rdi, %cr4
nh_write_cr4_end:
	ret

	.globl	nh_tf_cpuid, nh_tf_cpuid_after
	.hidden	nh_tf_cpuid, nh_tf_cpuid_after
nh_tf_cpuid:
	push	%rbx
	xor	%eax, %eax
	xor	%ecx, %ecx
	pushfq
	orq	$0x100, (%rsp)
	popfq
	/* TF applies from here: one trap after CPUID (emulated by pksvisor). */
	cpuid
nh_tf_cpuid_after:
	nop
	nop
	pushfq
	andq	$~0x100, (%rsp)
	popfq
	pop	%rbx
	ret

	.globl	nh_gather
	.hidden	nh_gather
nh_gather:
	vmovdqu	(%rsi), %ymm1
	vpcmpeqd %ymm2, %ymm2, %ymm2
	vpxor	%ymm0, %ymm0, %ymm0
	vpgatherdd %ymm2, (%rdi,%ymm1,1), %ymm0
	vmovdqu	%ymm0, (%rdx)
	vzeroupper
	ret

/*
 *   void nh_movsq(const void *src, void *dst)   one MOVSQ: a read and a
 *                              write that may each need a single step
 *   void nh_gather16(const void *base, const u32 *idx, u32 *out)
 *                              AVX-512 VPGATHERDD of 16 dwords (k1 = all)
 */
	.globl	nh_movsq
	.hidden	nh_movsq
nh_movsq:
	mov	%rdi, %rax
	mov	%rsi, %rdi
	mov	%rax, %rsi
	movsq
	ret

	.globl	nh_gather16
	.hidden	nh_gather16
nh_gather16:
	vmovdqu32 (%rsi), %zmm1
	kxnorw	%k0, %k0, %k1
	vpxord	%zmm0, %zmm0, %zmm0
	vpgatherdd (%rdi,%zmm1,1), %zmm0{%k1}
	vmovdqu32 %zmm0, (%rdx)
	vzeroupper
	ret

/*
 *   u64 nh_rep_outsb(u16 port, const void *src, u64 n)   returns RCX after
 *   u64 nh_rep_insb(u16 port, void *dst, u64 n)          returns RCX after
 */
	.globl	nh_rep_outsb
	.hidden	nh_rep_outsb
nh_rep_outsb:
	mov	%edi, %eax
	mov	%rdx, %rcx
	mov	%eax, %edx
	cld
	rep outsb
	mov	%rcx, %rax
	ret

	.globl	nh_rep_insb
	.hidden	nh_rep_insb
nh_rep_insb:
	mov	%edi, %eax
	mov	%rdx, %rcx
	mov	%eax, %edx
	mov	%rsi, %rdi
	cld
	rep insb
	mov	%rcx, %rax
	ret

/*
 *   u64 nh_tf_load(const u64 *p)   one load with RFLAGS.TF = 1; the trap is
 *                              owed right after it, at nh_tf_load_after
 */
	.globl	nh_tf_load, nh_tf_load_after
	.hidden	nh_tf_load, nh_tf_load_after
nh_tf_load:
	pushfq
	orq	$0x100, (%rsp)
	popfq
	mov	(%rdi), %rax
nh_tf_load_after:
	nop
	nop
	pushfq
	andq	$~0x100, (%rsp)
	popfq
	ret

	/* No executable stack (ld assumes one without this note). */
	.section .note.GNU-stack, "", @progbits
