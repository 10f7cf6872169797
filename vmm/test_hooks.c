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
 */
#include <pksvisor/log.h>
#include "exit.h"

#ifdef PKSV_TEST_HOOKS

bool test_hook_cpuid(struct vcpu *vcpu)
{
	struct guest_regs *r = vcpu->regs;

	if ((u32)r->rax != PKSV_TEST_HOOK_LEAF)
		return false;
	if ((u32)r->rcx == PKSV_TEST_HOOK_FATAL)
		vcpu_fatal(vcpu, "test hook: fatal dump requested by the guest (test build)");
	return false;
}

#endif
