/* SPDX-License-Identifier: MIT */
/*
 * VMX architecture definitions: VMCS field encodings (SDM Vol. 3D
 * Appendix B), control bits (SDM Vol. 3C 25.6, 25.7, 25.8), exit
 * qualifications (SDM Vol. 3C 28.2) and the VMX instruction wrappers.
 * Plain x86 (MSRs, CRs, CPUID, port I/O) is the ground floor below it,
 * include/pksvisor/x86.h.
 */
#ifndef PKSVISOR_VMX_H
#define PKSVISOR_VMX_H

#include <pksvisor/types.h>
#include <pksvisor/x86.h>
#include "vmx_caps.h"

/* VMCS fields: 16-bit */
#define VMCS_VPID			0x0000
#define VMCS_GUEST_ES_SEL		0x0800
#define VMCS_GUEST_CS_SEL		0x0802
#define VMCS_GUEST_SS_SEL		0x0804
#define VMCS_GUEST_DS_SEL		0x0806
#define VMCS_GUEST_FS_SEL		0x0808
#define VMCS_GUEST_GS_SEL		0x080a
#define VMCS_GUEST_LDTR_SEL		0x080c
#define VMCS_GUEST_TR_SEL		0x080e
#define VMCS_HOST_ES_SEL		0x0c00
#define VMCS_HOST_CS_SEL		0x0c02
#define VMCS_HOST_SS_SEL		0x0c04
#define VMCS_HOST_DS_SEL		0x0c06
#define VMCS_HOST_FS_SEL		0x0c08
#define VMCS_HOST_GS_SEL		0x0c0a
#define VMCS_HOST_TR_SEL		0x0c0c
/* 64-bit */
#define VMCS_IO_BITMAP_A		0x2000
#define VMCS_IO_BITMAP_B		0x2002
#define VMCS_MSR_BITMAP			0x2004
#define VMCS_EXIT_MSR_STORE_ADDR	0x2006
#define VMCS_EXIT_MSR_LOAD_ADDR		0x2008
#define VMCS_ENTRY_MSR_LOAD_ADDR	0x200a
#define VMCS_TSC_OFFSET			0x2010
#define VMCS_VMFUNC_CONTROLS		0x2018
#define VMCS_EPTP			0x201a
#define VMCS_EPTP_LIST_ADDR		0x2024
#define VMCS_VE_INFO_ADDR		0x202a
#define VMCS_GUEST_PHYS_ADDR		0x2400
#define VMCS_LINK_POINTER		0x2800
#define VMCS_GUEST_DEBUGCTL		0x2802
#define VMCS_GUEST_PAT			0x2804
#define VMCS_GUEST_EFER			0x2806
#define VMCS_GUEST_PDPTE0		0x280a
#define VMCS_GUEST_PKRS			0x2818
#define VMCS_HOST_PAT			0x2c00
#define VMCS_HOST_EFER			0x2c02
#define VMCS_HOST_PKRS			0x2c06
/* 32-bit */
#define VMCS_PIN_CONTROLS		0x4000
#define VMCS_PROC_CONTROLS		0x4002
#define VMCS_EXCEPTION_BITMAP		0x4004
#define VMCS_PF_ERROR_MASK		0x4006
#define VMCS_PF_ERROR_MATCH		0x4008
#define VMCS_CR3_TARGET_COUNT		0x400a
#define VMCS_EXIT_CONTROLS		0x400c
#define VMCS_EXIT_MSR_STORE_COUNT	0x400e
#define VMCS_EXIT_MSR_LOAD_COUNT	0x4010
#define VMCS_ENTRY_CONTROLS		0x4012
#define VMCS_ENTRY_MSR_LOAD_COUNT	0x4014
#define VMCS_ENTRY_INTR_INFO		0x4016
#define VMCS_ENTRY_EXCEPTION_ERROR	0x4018
#define VMCS_ENTRY_INSTR_LEN		0x401a
#define VMCS_PROC_CONTROLS2		0x401e
#define VMCS_VM_INSTR_ERROR		0x4400
#define VMCS_EXIT_REASON		0x4402
#define VMCS_EXIT_INTR_INFO		0x4404
#define VMCS_EXIT_INTR_ERROR		0x4406
#define VMCS_IDT_VECTORING_INFO		0x4408
#define VMCS_IDT_VECTORING_ERROR	0x440a
#define VMCS_EXIT_INSTR_LEN		0x440c
#define VMCS_EXIT_INSTR_INFO		0x440e
#define VMCS_GUEST_ES_LIMIT		0x4800
#define VMCS_GUEST_CS_LIMIT		0x4802
#define VMCS_GUEST_SS_LIMIT		0x4804
#define VMCS_GUEST_DS_LIMIT		0x4806
#define VMCS_GUEST_FS_LIMIT		0x4808
#define VMCS_GUEST_GS_LIMIT		0x480a
#define VMCS_GUEST_LDTR_LIMIT		0x480c
#define VMCS_GUEST_TR_LIMIT		0x480e
#define VMCS_GUEST_GDTR_LIMIT		0x4810
#define VMCS_GUEST_IDTR_LIMIT		0x4812
#define VMCS_GUEST_ES_AR		0x4814
#define VMCS_GUEST_CS_AR		0x4816
#define VMCS_GUEST_SS_AR		0x4818
#define VMCS_GUEST_DS_AR		0x481a
#define VMCS_GUEST_FS_AR		0x481c
#define VMCS_GUEST_GS_AR		0x481e
#define VMCS_GUEST_LDTR_AR		0x4820
#define VMCS_GUEST_TR_AR		0x4822
#define VMCS_GUEST_INTERRUPTIBILITY	0x4824
#define VMCS_GUEST_ACTIVITY		0x4826
#define VMCS_GUEST_SYSENTER_CS		0x482a
#define VMCS_PREEMPTION_TIMER		0x482e
#define VMCS_HOST_SYSENTER_CS		0x4c00
/* natural width */
#define VMCS_CR0_MASK			0x6000
#define VMCS_CR4_MASK			0x6002
#define VMCS_CR0_SHADOW			0x6004
#define VMCS_CR4_SHADOW			0x6006
#define VMCS_EXIT_QUALIFICATION		0x6400
#define VMCS_GUEST_LINEAR_ADDR		0x640a
#define VMCS_GUEST_CR0			0x6800
#define VMCS_GUEST_CR3			0x6802
#define VMCS_GUEST_CR4			0x6804
#define VMCS_GUEST_ES_BASE		0x6806
#define VMCS_GUEST_CS_BASE		0x6808
#define VMCS_GUEST_SS_BASE		0x680a
#define VMCS_GUEST_DS_BASE		0x680c
#define VMCS_GUEST_FS_BASE		0x680e
#define VMCS_GUEST_GS_BASE		0x6810
#define VMCS_GUEST_LDTR_BASE		0x6812
#define VMCS_GUEST_TR_BASE		0x6814
#define VMCS_GUEST_GDTR_BASE		0x6816
#define VMCS_GUEST_IDTR_BASE		0x6818
#define VMCS_GUEST_DR7			0x681a
#define VMCS_GUEST_RSP			0x681c
#define VMCS_GUEST_RIP			0x681e
#define VMCS_GUEST_RFLAGS		0x6820
#define VMCS_GUEST_PENDING_DBG		0x6822
#define VMCS_GUEST_SYSENTER_ESP		0x6824
#define VMCS_GUEST_SYSENTER_EIP		0x6826
#define VMCS_HOST_CR0			0x6c00
#define VMCS_HOST_CR3			0x6c02
#define VMCS_HOST_CR4			0x6c04
#define VMCS_HOST_FS_BASE		0x6c06
#define VMCS_HOST_GS_BASE		0x6c08
#define VMCS_HOST_TR_BASE		0x6c0a
#define VMCS_HOST_GDTR_BASE		0x6c0c
#define VMCS_HOST_IDTR_BASE		0x6c0e
#define VMCS_HOST_SYSENTER_ESP		0x6c10
#define VMCS_HOST_SYSENTER_EIP		0x6c12
#define VMCS_HOST_RSP			0x6c14
#define VMCS_HOST_RIP			0x6c16

/* Pin-based controls (SDM 25.6.1) */
#define PIN_EXT_INTR_EXITING		BIT(0)
#define PIN_NMI_EXITING			BIT(3)
#define PIN_VIRTUAL_NMIS		BIT(5)
#define PIN_PREEMPTION_TIMER		BIT(6)
/* Primary processor-based controls (SDM 25.6.2) */
#define PROC_INTR_WINDOW_EXITING	BIT(2)
#define PROC_HLT_EXITING		BIT(7)
#define PROC_CR3_LOAD_EXITING		BIT(15)
#define PROC_CR3_STORE_EXITING		BIT(16)
#define PROC_NMI_WINDOW_EXITING		BIT(22)
#define PROC_USE_IO_BITMAPS		BIT(25)
#define PROC_MTF			BIT(27)
#define PROC_USE_MSR_BITMAPS		BIT(28)
#define PROC_SECONDARY			BIT(31)
/* Secondary processor-based controls */
#define PROC2_EPT			BIT(1)
#define PROC2_RDTSCP			BIT(3)
#define PROC2_VPID			BIT(5)
#define PROC2_UNRESTRICTED		BIT(7)
#define PROC2_INVPCID			BIT(12)
#define PROC2_VMFUNC			BIT(13)
#define PROC2_EPT_VE			BIT(18)
#define PROC2_XSAVES			BIT(20)
#define PROC2_USER_WAIT_PAUSE		BIT(26)
/* VM-exit controls (SDM 25.7.1) */
#define EXIT_SAVE_DEBUG			BIT(2)
#define EXIT_HOST_ADDR_SPACE		BIT(9)
#define EXIT_ACK_INTR			BIT(15)
#define EXIT_SAVE_PAT			BIT(18)
#define EXIT_LOAD_PAT			BIT(19)
#define EXIT_SAVE_EFER			BIT(20)
#define EXIT_LOAD_EFER			BIT(21)
#define EXIT_SAVE_PREEMPT		BIT(22)
#define EXIT_LOAD_PKRS			BIT(29)
/* VM-entry controls (SDM 25.8.1) */
#define ENTRY_LOAD_DEBUG		BIT(2)
#define ENTRY_IA32E_GUEST		BIT(9)
#define ENTRY_LOAD_PAT			BIT(14)
#define ENTRY_LOAD_EFER			BIT(15)
#define ENTRY_LOAD_PKRS			BIT(22)

/* IA32_VMX_BASIC */
#define VMX_BASIC_TRUE_CTLS		BIT(55)
/* IA32_VMX_MISC */
#define VMX_MISC_TIMER_RATE(m)		((m) & 0x1f)
#define VMX_MISC_LMA_STORE		BIT(5)
#define VMX_MISC_ACT_HLT		BIT(6)
#define VMX_MISC_ACT_WAIT_SIPI		BIT(8)
/* IA32_VMX_EPT_VPID_CAP */
#define EPT_CAP_WALK4			BIT(6)
#define EPT_CAP_WB			BIT(14)
#define EPT_CAP_2M			BIT(16)
#define EPT_CAP_1G			BIT(17)
#define EPT_CAP_INVEPT			BIT(20)
#define EPT_CAP_AD			BIT(21)
#define EPT_CAP_INVEPT_SINGLE		BIT(25)
#define EPT_CAP_INVEPT_ALL		BIT(26)
#define VPID_CAP_INVVPID		BIT(32)
#define VPID_CAP_SINGLE			BIT(41)
#define VPID_CAP_ALL			BIT(42)
#define VPID_CAP_SINGLE_KEEP_GLOBALS	BIT(43)
#define VPID_CAP_ADDRESS		BIT(40)

/* Activity states */
#define ACTIVITY_ACTIVE			0
#define ACTIVITY_HLT			1
#define ACTIVITY_WAIT_SIPI		3

/* Interruptibility state */
#define INTR_BLOCK_STI			BIT(0)
#define INTR_BLOCK_MOV_SS		BIT(1)
#define INTR_BLOCK_NMI			BIT(3)

/* Event injection / interruption information (SDM 25.8.3) */
#define INTR_INFO_VALID			BIT(31)
#define INTR_INFO_ERROR_CODE		BIT(11)
#define INTR_TYPE_EXT_INTR		(0u << 8)
#define INTR_TYPE_NMI			(2u << 8)
#define INTR_TYPE_HW_EXCEPTION		(3u << 8)
#define INTR_TYPE_SW_INTR		(4u << 8)
#define INTR_TYPE_PRIV_SW_EXC		(5u << 8)
#define INTR_TYPE_SW_EXC		(6u << 8)
#define INTR_TYPE_MASK			(7u << 8)

/* Basic exit reasons (SDM Vol. 3D Appendix C) */
enum exit_reason {
	EXIT_EXCEPTION_NMI = 0,
	EXIT_EXTERNAL_INTR = 1,
	EXIT_TRIPLE_FAULT = 2,
	EXIT_INIT = 3,
	EXIT_SIPI = 4,
	EXIT_INTR_WINDOW = 7,
	EXIT_NMI_WINDOW = 8,
	EXIT_TASK_SWITCH = 9,
	EXIT_CPUID = 10,
	EXIT_GETSEC = 11,
	EXIT_HLT = 12,
	EXIT_INVD = 13,
	EXIT_INVLPG = 14,
	EXIT_VMCALL = 18,
	EXIT_VMCLEAR = 19,
	EXIT_VMLAUNCH = 20,
	EXIT_VMPTRLD = 21,
	EXIT_VMPTRST = 22,
	EXIT_VMREAD = 23,
	EXIT_VMRESUME = 24,
	EXIT_VMWRITE = 25,
	EXIT_VMXOFF = 26,
	EXIT_VMXON = 27,
	EXIT_CR_ACCESS = 28,
	EXIT_IO = 30,
	EXIT_RDMSR = 31,
	EXIT_WRMSR = 32,
	EXIT_ENTRY_FAIL_GUEST = 33,
	EXIT_ENTRY_FAIL_MSR = 34,
	EXIT_MTF = 37,
	EXIT_ENTRY_FAIL_MC = 41,
	EXIT_EPT_VIOLATION = 48,
	EXIT_EPT_MISCONFIG = 49,
	EXIT_INVEPT = 50,
	EXIT_PREEMPTION_TIMER = 52,
	EXIT_INVVPID = 53,
	EXIT_XSETBV = 55,
	EXIT_VMFUNC = 59,
};
#define EXIT_REASON_ENTRY_FAIL		BIT(31)

/* CR-access exit qualification (SDM Table 28-3) */
#define CRQ_CR(q)		((q) & 0xf)
#define CRQ_TYPE(q)		(((q) >> 4) & 3)
#define CRQ_GPR(q)		(((q) >> 8) & 0xf)
#define CRQ_LMSW_SRC(q)		(((q) >> 16) & 0xffff)
#define CRQ_MOV_TO		0
#define CRQ_MOV_FROM		1
#define CRQ_CLTS		2
#define CRQ_LMSW		3

/* I/O exit qualification (SDM Table 28-5) */
#define IOQ_SIZE(q)		(((q) & 7) + 1)
#define IOQ_IN			BIT(3)
#define IOQ_STRING		BIT(4)
#define IOQ_REP			BIT(5)
#define IOQ_PORT(q)		(((q) >> 16) & 0xffff)

/* EPT-violation exit qualification (SDM Table 28-7) */
#define EPTQ_READ		BIT(0)
#define EPTQ_WRITE		BIT(1)
#define EPTQ_FETCH		BIT(2)
#define EPTQ_LINEAR_VALID	BIT(7)
#define EPTQ_NMI_UNBLOCK	BIT(12)
/* Exit interruption information bit 12 (SDM 28.2.2): NMI unblocking due to IRET */
#define INTR_INFO_NMI_UNBLOCK	BIT(12)

/*
 * Checked VMX instructions.  VMREAD, VMWRITE, INVEPT and INVVPID report
 * failure in RFLAGS (SDM Vol. 3C 31.2: CF = VMfailInvalid, no current VMCS;
 * ZF = VMfailValid, the reason in the VM-instruction error field 0x4400).
 * A failure is always a pksvisor bug, never a guest action: every one goes
 * to vmx_insn_failed() (vmm/vmx_check.c), which names the instruction, the
 * field or operand, the call site and the VM-instruction error, dumps the
 * vCPU and halts.  The macros pass the call site.
 */
void vmx_insn_failed(enum vmx_insn insn, u64 operand, u64 value, bool fail_invalid,
		     const char *file, int line);
/* The same when the flags are gone: VMPTRST tells the two failures apart. */
void __attribute__((cold)) vmx_insn_failed_here(enum vmx_insn insn, u64 operand, u64 value,
						const char *file, int line);

#ifdef PKSV_HOST_TEST
/* Host unit tests (tests/unit/test_inject_queue.c) supply a fake VMCS. */
u64 vmread_at(u64 field, const char *file, int line);
void vmwrite_at(u64 field, u64 value, const char *file, int line);
#else
/*
 * One conditional branch after the instruction: JBE is taken on CF or ZF,
 * i.e. on either failure (SDM Vol. 3C 31.2), so the success path costs the
 * VMREAD/VMWRITE and a not-taken jump - no SETcc pair and test, which every
 * exit paid several times.  Which failure it was is found on the (fatal)
 * error path itself: vmx_insn_failed_here() asks VMPTRST whether there is a
 * current VMCS (VMfailInvalid) or not (VMfailValid).  Outputs of an asm
 * goto are valid on the fall-through path only, which is the one that
 * returns them.  volatile as before: without it GCC drops a VMREAD whose
 * value is unused, and its check with it (run-features.sh vmxfail).
 */
static inline u64 vmread_at(u64 field, const char *file, int line)
{
	u64 value;

	asm volatile goto("vmread %1, %0\n\tjbe %l[failed]"
		 : "=r"(value) : "r"(field) : "cc" : failed);
	return value;
failed:
	vmx_insn_failed_here(VMX_INSN_VMREAD, field, 0, file, line);
	return 0;
}

static inline void vmwrite_at(u64 field, u64 value, const char *file, int line)
{
	asm volatile goto("vmwrite %1, %0\n\tjbe %l[failed]"
		 : : "r"(field), "rm"(value) : "cc", "memory" : failed);
	return;
failed:
	vmx_insn_failed_here(VMX_INSN_VMWRITE, field, value, file, line);
}
#endif

#define vmread(field)		vmread_at((field), __FILE__, __LINE__)
#define vmwrite(field, value)	vmwrite_at((field), (value), __FILE__, __LINE__)

struct invept_desc {
	u64 eptp;
	u64 zero;
};

struct invvpid_desc {
	u64 vpid;
	u64 gla;
};

/* INVEPT/INVVPID types (SDM Vol. 3C 30.3): vmx_invept_type() picks one. */
#define INVEPT_SINGLE_CONTEXT		1
#define INVEPT_ALL_CONTEXT		2
#define INVVPID_ADDRESS			0
#define INVVPID_SINGLE_CONTEXT		1
#define INVVPID_ALL_CONTEXT		2
#define INVVPID_SINGLE_KEEP_GLOBALS	3

/*
 * INVEPT type from IA32_VMX_EPT_VPID_CAP (SDM Vol. 3D A.10), never assumed:
 * one_eptp asks for a type that flushes one EPTP's context (single-context
 * if offered, else all-context); !one_eptp for all contexts.  0 if the CPU
 * offers no such type (then flush every EPTP in use single-context).
 */
static inline u32 vmx_invept_type(u64 ept_vpid_cap, bool one_eptp)
{
	/* SDM Vol. 3D A.10: bit 20 INVEPT, 25 single-context, 26 all-context. */
	if (!(ept_vpid_cap & EPT_CAP_INVEPT))
		return 0;
	if (one_eptp && (ept_vpid_cap & EPT_CAP_INVEPT_SINGLE))
		return INVEPT_SINGLE_CONTEXT;
	if (ept_vpid_cap & EPT_CAP_INVEPT_ALL)
		return INVEPT_ALL_CONTEXT;
	return 0;
}

#ifdef PKSV_HOST_TEST
/* Host unit tests (tests/unit/test_flush.c) record the invalidations. */
void invept_at(u64 type, u64 eptp, const char *file, int line);
void invvpid_at(u64 type, u16 vpid, const char *file, int line);
#else
static inline void invept_at(u64 type, u64 eptp, const char *file, int line)
{
	struct invept_desc d = { eptp, 0 };
	u8 cf, zf;

	asm volatile("invept %2, %3; setc %0; setz %1"
		     : "=qm"(cf), "=qm"(zf) : "m"(d), "r"(type) : "cc", "memory");
	if (__builtin_expect(cf | zf, 0))
		vmx_insn_failed(VMX_INSN_INVEPT, type, eptp, cf, file, line);
}

static inline void invvpid_at(u64 type, u16 vpid, const char *file, int line)
{
	struct invvpid_desc d = { vpid, 0 };
	u8 cf, zf;

	asm volatile("invvpid %2, %3; setc %0; setz %1"
		     : "=qm"(cf), "=qm"(zf) : "m"(d), "r"(type) : "cc", "memory");
	if (__builtin_expect(cf | zf, 0))
		vmx_insn_failed(VMX_INSN_INVVPID, type, vpid, cf, file, line);
}
#endif

#define invept(type, eptp)	invept_at((type), (eptp), __FILE__, __LINE__)
#define invvpid(type, vpid)	invvpid_at((type), (vpid), __FILE__, __LINE__)

#endif
