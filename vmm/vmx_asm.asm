; SPDX-License-Identifier: MIT
;
; VM entry/exit stubs, fault-tolerant MSR/XSETBV accessors and host
; exception entry points.  Everything else is C.

bits 64
default rel
section .text

extern vmexit_dispatch
extern vmresume_failed
extern host_exception

; The 15 GPRs in struct guest_regs order (RAX lowest); RSP is not saved.
%macro PUSH_GPRS 0
	push r15
	push r14
	push r13
	push r12
	push r11
	push r10
	push r9
	push r8
	push rdi
	push rsi
	push rbp
	push rbx
	push rdx
	push rcx
	push rax
%endmacro
%macro POP_GPRS 0
	pop rax
	pop rcx
	pop rdx
	pop rbx
	pop rbp
	pop rsi
	pop rdi
	pop r8
	pop r9
	pop r10
	pop r11
	pop r12
	pop r13
	pop r14
	pop r15
%endmacro

%define VMCS_GUEST_RSP 0x681c
%define VMCS_GUEST_RIP 0x681e

; int vmx_launch(void)
; Launches the current context as the guest: the guest starts at .guest with
; this very stack, so to the caller the function returns 0 "inside" the VM.
; Returns -1 if VMLAUNCH failed (VMfailValid/VMfailInvalid).
global vmx_launch
vmx_launch:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	mov rdx, VMCS_GUEST_RSP
	vmwrite rdx, rsp
	mov rdx, VMCS_GUEST_RIP
	lea rax, [.guest]
	vmwrite rdx, rax
	vmlaunch
	; Only reached when VMLAUNCH failed.
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	mov eax, -1
	ret
.guest:
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	xor eax, eax
	ret

; VM exits land here with RSP = the host stack top the VMCS names, where
; the vcpu pointer is stored.  The layout of the pushes is struct guest_regs.
global vmx_exit_stub
vmx_exit_stub:
	PUSH_GPRS
	mov rdi, [rsp + 15 * 8]		; struct vcpu *
	mov rsi, rsp			; struct guest_regs *
	sub rsp, 8			; SysV: 16-byte aligned at the call
	call vmexit_dispatch
	add rsp, 8
	POP_GPRS
	vmresume
	; VMRESUME failed: report it (does not return).
	mov rdi, [rsp]
	call vmresume_failed
	ud2

; int safe_rdmsr(u32 msr, u64 *value): 0, or -1 if RDMSR raised #GP.
global safe_rdmsr
safe_rdmsr:
	mov ecx, edi
.insn:	rdmsr
	shl rdx, 32
	or rax, rdx
	mov [rsi], rax
	xor eax, eax
	ret
.fix:	mov eax, -1
	ret

; int safe_wrmsr(u32 msr, u64 value)
global safe_wrmsr
safe_wrmsr:
	mov ecx, edi
	mov rax, rsi
	mov rdx, rsi
	shr rdx, 32
.insn:	wrmsr
	xor eax, eax
	ret
.fix:	mov eax, -1
	ret

; int safe_xsetbv(u32 xcr, u64 value)
global safe_xsetbv
safe_xsetbv:
	mov ecx, edi
	mov rax, rsi
	mov rdx, rsi
	shr rdx, 32
.insn:	xsetbv
	xor eax, eax
	ret
.fix:	mov eax, -1
	ret

; void host_unblock_nmis(void)
; An NMI-caused VM exit leaves NMIs blocked until the next IRET (SDM Vol. 3C
; 28.1); pksvisor handles such exits without an NMI handler of its own, so
; it executes an IRET to the next instruction: same CS, SS, RSP and RFLAGS.
global host_unblock_nmis
host_unblock_nmis:
	mov rdx, rsp			; RSP with the return address on top
	mov rax, ss
	push rax
	push rdx
	pushfq
	mov rax, cs
	push rax
	lea rax, [.done]
	push rax
	iretq
.done:
	ret

; Host exceptions.  Each stub makes the frame uniform (vector, error code)
; and calls host_exception(struct host_frame *), which either fixes the RIP
; up (faults in the safe_* accessors above) or reports and halts.
%macro EXC_NOERR 1
exc_%1:
	push 0
	push %1
	jmp exc_common
%endmacro
%macro EXC_ERR 1
exc_%1:
	push %1
	jmp exc_common
%endmacro

EXC_NOERR 0
EXC_NOERR 1
EXC_NOERR 2
EXC_NOERR 3
EXC_NOERR 4
EXC_NOERR 5
EXC_NOERR 6
EXC_NOERR 7
EXC_ERR 8
EXC_NOERR 9
EXC_ERR 10
EXC_ERR 11
EXC_ERR 12
EXC_ERR 13
EXC_ERR 14
EXC_NOERR 15
EXC_NOERR 16
EXC_ERR 17
EXC_NOERR 18
EXC_NOERR 19
EXC_NOERR 20
EXC_ERR 21
EXC_NOERR 22
EXC_NOERR 23
EXC_NOERR 24
EXC_NOERR 25
EXC_NOERR 26
EXC_NOERR 27
EXC_NOERR 28
EXC_ERR 29
EXC_ERR 30
EXC_NOERR 31
exc_spurious:
	push 0
	push 255
	jmp exc_common

exc_common:
	PUSH_GPRS
	mov rdi, rsp
	mov rbx, rsp
	and rsp, -16
	call host_exception
	mov rsp, rbx
	POP_GPRS
	add rsp, 16			; vector, error code
	iretq

section .data
align 8
; Entry points of the host IDT: vectors 0..31, then one for the rest.
global host_exc_stubs
host_exc_stubs:
%assign i 0
%rep 32
	dq exc_ %+ i
%assign i i + 1
%endrep
	dq exc_spurious

; (faulting instruction, continuation) pairs for host_exception().
global host_fixups
global host_fixups_count
host_fixups:
	dq safe_rdmsr.insn, safe_rdmsr.fix
	dq safe_wrmsr.insn, safe_wrmsr.fix
	dq safe_xsetbv.insn, safe_xsetbv.fix
host_fixups_count:
	dq 3

; An empty .note.GNU-stack: the stack needs no execute permission (without
; it ld assumes it does and warns).
section .note.GNU-stack noalloc noexec nowrite progbits
