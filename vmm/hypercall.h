/* SPDX-License-Identifier: MIT */
#ifndef PKSVISOR_HYPERCALL_INTERNAL_H
#define PKSVISOR_HYPERCALL_INTERNAL_H

#include <pksvisor/types.h>
#include <pksvisor/hypercall.h>

/*
 * A call's registers.  out[i] is in[i]'s slot (RBX, RCX, RDX): an output
 * not written keeps the register's value, so the dispatcher copies each
 * register once, not once per array.  A call therefore reads an input
 * before it writes the output of the same index, and the dispatcher
 * writes outputs back only on success (a failed call changes RAX only).
 */
struct hc_args {
	union {
		u64 in[4];	/* RBX, RCX, RDX, RSI */
		u64 out[4];	/* RBX, RCX, RDX written back on success */
	};
};

/*
 * Decode RAX of a VMCALL made at cpl.  Returns 0 and the call number, or -1
 * when the caller must get #UD (CPL > 0 or wrong magic): to such a caller
 * pksvisor is indistinguishable from a CPU without a hypervisor.  Pure and
 * inline: every hypercall exit decodes (no call, no store of nr through
 * memory), and the unit tests (tests/unit/test_hypercall.c) test this very
 * code.
 */
static inline int hypercall_decode(u64 rax, unsigned int cpl, u32 *nr)
{
	if (cpl != 0)
		return -1;
	if ((rax >> 32) != PKSV_HC_MAGIC)
		return -1;
	*nr = (u32)rax;
	return 0;
}

/* PKSV_HC_GET_STATS (vmm/hypercall_stats.c) */
struct vcpu;
s64 hc_get_stats(struct vcpu *vcpu, struct hc_args *a);

/* Validate a counter id for PKSV_HC_GET_COUNTER. */
static inline bool hypercall_counter_valid(u64 id)
{
	return id < PKSV_CTR_MAX;
}

#endif
