/* SPDX-License-Identifier: MIT */
/*
 * The ground floor: x86 architecture every layer may use - MSR numbers,
 * control-register, RFLAGS and CPUID bits, exception vectors, and the
 * instruction wrappers for MSRs, CPUID, control registers, port I/O and
 * the TSC (SDM Vol. 2, Vol. 3A 2.5, 6.3.1).  Nothing here knows about VMX
 * (vmm/vmx.h) or about pksvisor's own structures, so lib/, ept/ and the
 * host unit tests include it without reaching up into vmm/.
 */
#ifndef PKSVISOR_X86_H
#define PKSVISOR_X86_H

#include <pksvisor/types.h>

/* MSRs */
#define MSR_IA32_FEATURE_CONTROL	0x03a
#define  FEATURE_CONTROL_LOCK		BIT(0)
#define  FEATURE_CONTROL_VMX_SMX	BIT(1)
#define  FEATURE_CONTROL_VMX		BIT(2)
#define MSR_IA32_BIOS_SIGN_ID		0x08b
#define MSR_IA32_MTRRCAP		0x0fe
#define MSR_IA32_SYSENTER_CS		0x174
#define MSR_IA32_SYSENTER_ESP		0x175
#define MSR_IA32_SYSENTER_EIP		0x176
#define MSR_IA32_DEBUGCTL		0x1d9
#define MSR_IA32_MTRR_PHYSBASE0		0x200
#define MSR_IA32_MTRR_FIX64K_00000	0x250
#define MSR_IA32_MTRR_FIX16K_80000	0x258
#define MSR_IA32_MTRR_FIX16K_A0000	0x259
#define MSR_IA32_MTRR_FIX4K_C0000	0x268
#define MSR_IA32_PAT			0x277
#define MSR_IA32_MTRR_DEF_TYPE		0x2ff
#define MSR_IA32_VMX_BASIC		0x480
#define MSR_IA32_VMX_PINBASED_CTLS	0x481
#define MSR_IA32_VMX_PROCBASED_CTLS	0x482
#define MSR_IA32_VMX_EXIT_CTLS		0x483
#define MSR_IA32_VMX_ENTRY_CTLS		0x484
#define MSR_IA32_VMX_MISC		0x485
#define MSR_IA32_VMX_CR0_FIXED0		0x486
#define MSR_IA32_VMX_CR0_FIXED1		0x487
#define MSR_IA32_VMX_CR4_FIXED0		0x488
#define MSR_IA32_VMX_CR4_FIXED1		0x489
#define MSR_IA32_VMX_VMCS_ENUM		0x48a
#define MSR_IA32_VMX_PROCBASED_CTLS2	0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP	0x48c
#define MSR_IA32_VMX_TRUE_PINBASED	0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED	0x48e
#define MSR_IA32_VMX_TRUE_EXIT		0x48f
#define MSR_IA32_VMX_TRUE_ENTRY		0x490
#define MSR_IA32_VMX_VMFUNC		0x491
#define MSR_IA32_VMX_PROCBASED_CTLS3	0x492
#define MSR_IA32_VMX_EXIT_CTLS2		0x493
#define MSR_IA32_VMX_FIRST		0x480
#define MSR_IA32_VMX_LAST		0x493
#define MSR_IA32_PKRS			0x6e1
#define MSR_EFER			0xc0000080
#define  EFER_SCE			BIT(0)
#define  EFER_LME			BIT(8)
#define  EFER_LMA			BIT(10)
#define  EFER_NXE			BIT(11)
#define MSR_FS_BASE			0xc0000100
#define MSR_GS_BASE			0xc0000101

/* Control registers */
#define CR0_PE		BIT(0)
#define CR0_MP		BIT(1)
#define CR0_EM		BIT(2)
#define CR0_TS		BIT(3)
#define CR0_ET		BIT(4)
#define CR0_NE		BIT(5)
#define CR0_WP		BIT(16)
#define CR0_AM		BIT(18)
#define CR0_NW		BIT(29)
#define CR0_CD		BIT(30)
#define CR0_PG		BIT(31)
#define CR4_VME		BIT(0)
#define CR4_PAE		BIT(5)
#define CR4_PGE		BIT(7)
#define CR4_OSFXSR	BIT(9)
#define CR4_VMXE	BIT(13)
#define CR4_SMXE	BIT(14)
#define CR4_PCIDE	BIT(17)
#define CR4_OSXSAVE	BIT(18)
#define CR4_SMEP	BIT(20)
#define CR4_SMAP	BIT(21)
#define CR4_PKE		BIT(22)
#define CR4_PKS		BIT(24)
#define RFLAGS_TF	BIT(8)
#define RFLAGS_IF	BIT(9)
#define RFLAGS_VM	BIT(17)

/* CPUID bits */
#define CPUID1_ECX_VMX		BIT(5)
#define CPUID1_ECX_SMX		BIT(6)
#define CPUID1_ECX_XSAVE	BIT(26)
#define CPUID1_ECX_OSXSAVE	BIT(27)
#define CPUID7_ECX_OSPKE	BIT(4)
#define CPUID1_ECX_HYPERVISOR	BIT(31)
#define CPUID7_ECX_PKS		BIT(31)

/* Exception vectors (SDM Vol. 3A 6.3.1) */
#define VEC_DB	1
#define VEC_NMI	2
#define VEC_UD	6
#define VEC_DF	8
#define VEC_TS	10
#define VEC_GP	13
#define VEC_PF	14
#define VEC_MC	18

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 value)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((u32)value), "d"((u32)(value >> 32)) : "memory");
}

static inline void cpuid_count(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

#define DEFINE_READ_CR(n) \
static inline u64 read_cr##n(void) \
{ \
	u64 v; \
	asm volatile("mov %%cr" #n ", %0" : "=r"(v)); \
	return v; \
}
DEFINE_READ_CR(0)
DEFINE_READ_CR(2)
DEFINE_READ_CR(3)
DEFINE_READ_CR(4)

static inline void write_cr2(u64 v)
{
	asm volatile("mov %0, %%cr2" : : "r"(v) : "memory");
}

static inline void write_cr4(u64 v)
{
	asm volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static inline void write_cr0(u64 v)
{
	asm volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline u64 read_dr7(void)
{
	u64 v;

	asm volatile("mov %%dr7, %0" : "=r"(v));
	return v;
}

static inline u64 read_rflags(void)
{
	u64 v;

	asm volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

static inline void outb(u16 port, u8 v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outw(u16 port, u16 v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(u16 port, u32 v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline u16 inw(u16 port)
{
	u16 v;

	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u32 inl(u16 port)
{
	u32 v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

#endif
