// SPDX-License-Identifier: MIT
/*
 * CPUID (exit reason 10; CPUID always exits in VMX non-root, SDM 26.1.2).
 * The guest sees the real CPU except: VMX hidden (pksvisor offers no nested
 * virtualization), the hypervisor-present bit set, and pksvisor's leaves at
 * 0x40000000 (include/pksvisor/hypercall.h).
 */
#include <pksvisor/hypercall.h>
#include "exit.h"
#include "../pks/pks_vmm.h"
#include "guest_refuse.h"
#include "vmx.h"

static void pksvisor_leaf(struct vcpu *vcpu, u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
	*a = *b = *c = *d = 0;
	switch (leaf) {
	case PKSV_CPUID_LEAF_BASE:
		*a = PKSV_CPUID_LEAF_MAX;
		*b = PKSV_CPUID_SIG_EBX;
		*c = PKSV_CPUID_SIG_ECX;
		*d = PKSV_CPUID_SIG_EDX;
		break;
	case PKSV_CPUID_LEAF_INFO:
		*a = PKSV_ABI_VERSION;
		*b = pksv_features(vcpu->hv);
		break;
	}
}

/*
 * MAXPHYADDR as the guest sees it: at most 48, what a 4-level EPT
 * translates (SDM Vol. 3C 29.3.2).  A guest mapping an address above it
 * then has reserved bits set, and pksvisor answers an access there with
 * the #PF(RSVD) that implies (vmm/exit_ept.c), never an unmappable GPA.
 */
#define EPT_GPA_BITS	48

unsigned int vcpu_guest_phys_bits(void)
{
	u32 a, b, c, d;

	cpuid_count(0x80000008, 0, &a, &b, &c, &d);
	a &= 0xff;
	return a > EPT_GPA_BITS ? EPT_GPA_BITS : a;
}

void handle_cpuid(struct vcpu *vcpu)
{
	struct guest_regs *r = vcpu->regs;
	u32 leaf = (u32)r->rax, sub = (u32)r->rcx;
	u32 a, b, c, d;

#ifdef PKSV_TEST_HOOKS
	if (test_hook_cpuid(vcpu))
		return;
#endif
	if (leaf >= PKSV_CPUID_LEAF_BASE && leaf <= 0x400000ff) {
		pksvisor_leaf(vcpu, leaf, &a, &b, &c, &d);
	} else {
		cpuid_count(leaf, sub, &a, &b, &c, &d);
		/*
		 * OSXSAVE and OSPKE mirror CR4 bits; CPUID ran with the
		 * host's CR4, so report the guest's instead.
		 */
		if (leaf == 1) {
			/* No VMX or SMX for the guest: handle_getsec(). */
			c &= ~(CPUID1_ECX_VMX | CPUID1_ECX_SMX | CPUID1_ECX_OSXSAVE);
			c |= CPUID1_ECX_HYPERVISOR;
			if (vmread(VMCS_GUEST_CR4) & CR4_OSXSAVE)
				c |= CPUID1_ECX_OSXSAVE;
		} else if (leaf == 7 && sub == 0) {
			/* PKS is what pks/ offers, whatever the CPU has. */
			c &= ~(CPUID7_ECX_OSPKE | CPUID7_ECX_PKS);
			if (pks_exposed(vcpu->hv))
				c |= CPUID7_ECX_PKS;
			if (vmread(VMCS_GUEST_CR4) & CR4_PKE)
				c |= CPUID7_ECX_OSPKE;
		} else if (leaf == 0x80000008) {
			a = (a & ~0xffu) | vcpu_guest_phys_bits();
		}
		cpuid_hide_pt(leaf, sub, &a, &b, &c, &d);
	}
	r->rax = a;
	r->rbx = b;
	r->rcx = c;
	r->rdx = d;
	vcpu_skip_instruction(vcpu);
}
