// SPDX-License-Identifier: MIT
/*
 * Test hooks: ways for a test guest to reach code no correct guest action
 * may reach, so that the harness can check it (tests/harness/
 * run-features.sh, docs/testing.md).  Compiled only into a test build
 * (make PKSV_CFLAGS=-DPKSV_TEST_HOOKS); the release pksvisor.efi contains
 * none of this, and run-features.sh checks that its strings are absent.
 *
 *  CPUID leaf PKSV_TEST_HOOK_LEAF with ECX = PKSV_TEST_HOOK_FATAL: the
 *  fatal dump (vcpu_fatal), as a pksvisor bug would print it.
 *
 *  ECX = PKSV_TEST_HOOK_VMREAD: a VMREAD of a field no VMCS has
 *  (VMfailValid, VM-instruction error 12); ECX = PKSV_TEST_HOOK_VMCLEAR:
 *  VMCLEAR of the current VMCS, then a VMREAD (VMfailInvalid).  Both reach
 *  the error path of the checked VMREAD (vmm/vmx.h, one JBE) and its
 *  VMPTRST test of which failure it was (vmx_insn_failed_here()).
 *
 *  Built with -DPKSV_TEST_AP_FAIL=...: vCPU 1 (the first AP) fails its
 *  VMXON (a wrong revision identifier in its VMXON region: VMfailInvalid,
 *  SDM Vol. 3C 30.3 "VMXON") or its VMLAUNCH (a CR3-target count above 4:
 *  VMfailValid, error 7, SDM Vol. 3C 26.2.1.1), so that the harness sees
 *  what pksvisor does with a CPU it cannot launch (boot/mp.c, vmm/park.c).
 */
#include <pksvisor/log.h>
#include "exit.h"
#include "vmx.h"

#ifdef PKSV_TEST_HOOKS

bool test_hook_cpuid(struct vcpu *vcpu)
{
	struct guest_regs *r = vcpu->regs;

	if ((u32)r->rax != PKSV_TEST_HOOK_LEAF)
		return false;
	if ((u32)r->rcx == PKSV_TEST_HOOK_FATAL)
		vcpu_fatal(vcpu, "test hook: fatal dump requested by the guest (test build)");
	if ((u32)r->rcx == PKSV_TEST_HOOK_VMREAD) {
		pksv_log("test hook: VMREAD of field 0x%x (no such field)",
			 PKSV_TEST_HOOK_BAD_FIELD);
		(void)vmread(PKSV_TEST_HOOK_BAD_FIELD);
	}
	if ((u32)r->rcx == PKSV_TEST_HOOK_VMCLEAR) {
		u64 current = 0;

		asm volatile("vmptrst %0" : "=m"(current) : : "cc");
		pksv_log("test hook: VMCLEAR of the current VMCS, then a VMREAD");
		asm volatile("vmclear %0" : : "m"(current) : "cc", "memory");
		(void)vmread(VMCS_GUEST_RIP);
	}
	return false;
}

#ifndef PKSV_TEST_AP_FAIL
#define PKSV_TEST_AP_FAIL	0
#endif

void test_hook_vmxon_region(struct vcpu *vcpu)
{
	if (PKSV_TEST_AP_FAIL == PKSV_TEST_AP_FAIL_VMXON && vcpu->id == 1)
		*(u32 *)(uintptr_t)vcpu->vmxon_pa ^= 1;
}

void test_hook_ap_vmcs(struct vcpu *vcpu)
{
	if (PKSV_TEST_AP_FAIL == PKSV_TEST_AP_FAIL_VMLAUNCH && vcpu->id == 1)
		vmwrite(VMCS_CR3_TARGET_COUNT, 5);
}

#endif
