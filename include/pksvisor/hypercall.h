/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * pksvisor hypercall ABI: the one header shared by pksvisor and its guests
 * (the Linux patch series and the EFI test programs).  Only macros, so it
 * builds unchanged in the Linux kernel, in gnu-efi programs and in the
 * hypervisor.  docs/hypercalls.md explains every call.
 *
 * Discovery: CPUID leaf PKSV_CPUID_LEAF_BASE returns the highest pksvisor
 * leaf in EAX and the signature "pksvisor" in EBX:ECX (EDX = 0).
 * Leaf PKSV_CPUID_LEAF_INFO returns the ABI version in EAX and the feature
 * bits (PKSV_FEAT_*) in EBX.
 *
 * Calling convention (VMCALL, CPL 0 only):
 *   in:  RAX = PKSV_HC_MAGIC << 32 | call number
 *        RBX, RCX, RDX, RSI = arguments 0..3
 *   out: RAX = 0 on success or a negative PKSV_E* error (as signed 64-bit)
 *        RBX, RCX, RDX = results 0..2 (defined per call, else unchanged)
 *   All other registers are preserved.  A VMCALL at CPL > 0, or with a
 *   wrong magic, gets #UD exactly as on a CPU without a hypervisor.
 *   A failed call changes nothing.
 */
#ifndef PKSVISOR_HYPERCALL_H
#define PKSVISOR_HYPERCALL_H

#define PKSV_CPUID_LEAF_BASE	0x40000000u
#define PKSV_CPUID_LEAF_INFO	0x40000001u
#define PKSV_CPUID_LEAF_MAX	PKSV_CPUID_LEAF_INFO
/* "pksvisor" as little-endian dwords in EBX, ECX */
#define PKSV_CPUID_SIG_EBX	0x76736b70u	/* "pksv" */
#define PKSV_CPUID_SIG_ECX	0x726f7369u	/* "isor" */
#define PKSV_CPUID_SIG_EDX	0x00000000u

#define PKSV_ABI_VERSION	0x00010001u	/* major 1, minor 1 (PV_RANGES, GET_STATS,
					 * SET_MODE guest policy) */

#define PKSV_HC_MAGIC		0x504b5356u	/* "PKSV" */
#define PKSV_HC_RAX(nr)		(((unsigned long long)PKSV_HC_MAGIC << 32) | (nr))

/* Call numbers */
#define PKSV_HC_VERSION		0x00	/* -> RBX=ABI version, RCX=features, RDX=pks backend */
#define PKSV_HC_PRINT_STATS	0x01	/* print the calling vCPU's statistics on serial */
#define PKSV_HC_GET_COUNTER	0x02	/* RBX=counter id (PKSV_CTR_*) -> RBX=value (this vCPU) */
#define PKSV_HC_NOP		0x03	/* round trip; -> RBX = RBX ^ ~0 (proves the return path) */
#define PKSV_HC_SELFTEST_INFO	0x04	/* -> RBX = a guest-physical address inside pksvisor
				 * memory (test aid: accesses to it must be refused) */
/* PKS calls (see docs/hypercalls.md; the PKS issues implement them) */
#define PKSV_HC_RANGE_REGISTER	0x10	/* RBX=gpa, RCX=length, RDX=key */
#define PKSV_HC_RANGE_UNREGISTER 0x11	/* RBX=gpa, RCX=length */
#define PKSV_HC_UNPROTECT_PAGE	0x12	/* RBX=gfn, RCX=PKSV_ACCESS_* */
#define PKSV_HC_PROTECT_PAGE	0x13	/* RBX=gfn */
#define PKSV_HC_GRANT		0x14	/* RBX=key, RCX=PKSV_ACCESS_* */
#define PKSV_HC_REVOKE		0x15	/* RBX=key */
#define PKSV_HC_SET_MODE	0x16	/* RBX=PKSV_MODE_* */
#define PKSV_HC_GET_MODE	0x17	/* -> RBX=PKSV_MODE_* */
#define PKSV_HC_LOCK_KEY	0x18	/* RBX=key */
#define PKSV_HC_VIEW_INDEX	0x19	/* RBX=pkrs -> RBX=EPTP-list index for VMFUNC 0 */
/* ABI 1.1 */
#define PKSV_HC_PV_RANGES	0x1a	/* RBX=0: the guest registers all its keyed
				 * ranges itself: page-table discovery off */
#define PKSV_HC_GET_STATS	0x1b	/* RBX=gpa (page aligned), RCX=length (1..4096)
				 * -> the calling vCPU's stats line written
				 * there, NUL-terminated; RBX=its length */
#define PKSV_HC_MAX		0x1c

/* Errors, returned in RAX as negative numbers */
#define PKSV_OK			0
#define PKSV_ENOSYS		1	/* unknown or not (yet) implemented call */
#define PKSV_EINVAL		2	/* malformed argument (reserved bits, bad flags) */
#define PKSV_EALIGN		3	/* address or length not page aligned */
#define PKSV_EFAULT		4	/* range not guest RAM, or pksvisor memory */
#define PKSV_EKEY		5	/* key not in 1..15 */
#define PKSV_ENOSPC		6	/* a bounded table is full */
#define PKSV_ENOENT		7	/* no such range / page / grant */
#define PKSV_ERANGE		8	/* counter would underflow or overflow */
#define PKSV_ENOTSUP		9	/* feature absent on this CPU or disabled */
#define PKSV_EPERM		10	/* GET_STATS: buffer on a keyed or guarded page */

/* Feature bits (PKSV_HC_VERSION RCX, CPUID leaf INFO EBX) */
#define PKSV_FEAT_STATS		(1u << 0)
#define PKSV_FEAT_PKS		(1u << 1)	/* PKS exposed to the guest */
#define PKSV_FEAT_PKS_SOFT	(1u << 2)	/* EPT-backed PKS emulation */
#define PKSV_FEAT_PKS_HW	(1u << 3)	/* hardware PKS passthrough */
#define PKSV_FEAT_VMFUNC_VIEWS	(1u << 4)	/* PKRS switch via VMFUNC 0 */
#define PKSV_FEAT_UNPROTECT	(1u << 5)	/* global unprotect table */
#define PKSV_FEAT_PV_RANGES	(1u << 6)	/* PKSV_HC_PV_RANGES (ABI 1.1) */
#define PKSV_FEAT_GET_STATS	(1u << 7)	/* PKSV_HC_GET_STATS (ABI 1.1) */
#define PKSV_FEAT_GUEST_POLICY	(1u << 8)	/* SET_MODE PKSV_MODE_GUEST_POLICY (1.1) */

/* PKS backends (PKSV_HC_VERSION RDX) */
#define PKSV_BACKEND_OFF	0
#define PKSV_BACKEND_HW		1
#define PKSV_BACKEND_SOFT	2

/* PKS fault modes */
#define PKSV_MODE_STRICT	0
#define PKSV_MODE_RELAXED	1
#define PKSV_MODE_SILENT	2
#define PKSV_MODE_OFF		3
/*
 * SET_MODE flag (ABI 1.1): the guest handles PK faults with its own policy
 * in this mode; pksvisor injects every PK fault (OFF: enforces only locked
 * keys) and GET_MODE reports the guest's mode with this flag in RCX.
 */
#define PKSV_MODE_GUEST_POLICY	(1u << 8)

/* Access bits for unprotect and grant */
#define PKSV_ACCESS_READ	(1u << 0)
#define PKSV_ACCESS_WRITE	(1u << 1)

/* Counter ids for PKSV_HC_GET_COUNTER (per calling vCPU) */
#define PKSV_CTR_EXITS		0	/* all VM exits */
#define PKSV_CTR_HYPERCALLS	1
#define PKSV_CTR_EPT_VIOLATIONS	2
#define PKSV_CTR_HIDDEN_ACCESS	3	/* refused accesses to pksvisor memory */
#define PKSV_CTR_INJECTED	4	/* events injected into the guest */
#define PKSV_CTR_CPUID_EXITS	5
#define PKSV_CTR_MSR_EXITS	6
#define PKSV_CTR_PKRS_WRITES	7
#define PKSV_CTR_PK_FAULTS	8
#define PKSV_CTR_VMFUNC_REFUSED	9	/* VMFUNC to an index that is no pinned view (#UD) */
#define PKSV_CTR_MSR_REFUSED	10	/* Intel PT MSRs, APIC base into pksvisor memory (#GP) */
#define PKSV_CTR_MAX		11

#endif /* PKSVISOR_HYPERCALL_H */
