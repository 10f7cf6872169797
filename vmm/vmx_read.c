// SPDX-License-Identifier: MIT
/* Reading the VMX capability MSRs and CPUID bits of the running CPU. */
#include <pksvisor/format.h>
#include "host.h"
#include "vmx.h"
#include "vmx_caps.h"

void vmx_read_msrs(struct vmx_msrs *m)
{
	u32 a, b, c, d, max;

	pksv_memset(m, 0, sizeof(*m));
	cpuid_count(0, 0, &max, &b, &c, &d);
	cpuid_count(1, 0, &a, &b, &c, &d);
	m->cpuid_vmx = c & CPUID1_ECX_VMX;
	if (max >= 7) {
		cpuid_count(7, 0, &a, &b, &c, &d);
		m->cpuid_pks = c & CPUID7_ECX_PKS;
		m->cpuid_invpcid = b & BIT(10);
		m->cpuid_waitpkg = c & BIT(5);
	}
	if (max >= 0xd) {
		cpuid_count(0xd, 1, &a, &b, &c, &d);
		m->cpuid_xsaves = a & BIT(3);
	}
	cpuid_count(0x80000001, 0, &a, &b, &c, &d);
	m->cpuid_rdtscp = d & BIT(27);
	if (!m->cpuid_vmx)
		return;

	/* Without VMX these MSRs #GP; with it they all exist (SDM A.1). */
	m->feature_control = rdmsr(MSR_IA32_FEATURE_CONTROL);
	m->basic = rdmsr(MSR_IA32_VMX_BASIC);
	m->pinbased = rdmsr(MSR_IA32_VMX_PINBASED_CTLS);
	m->procbased = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS);
	m->exit = rdmsr(MSR_IA32_VMX_EXIT_CTLS);
	m->entry = rdmsr(MSR_IA32_VMX_ENTRY_CTLS);
	m->misc = rdmsr(MSR_IA32_VMX_MISC);
	m->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	m->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	m->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	m->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	if (m->basic & VMX_BASIC_TRUE_CTLS) {
		m->true_pinbased = rdmsr(MSR_IA32_VMX_TRUE_PINBASED);
		m->true_procbased = rdmsr(MSR_IA32_VMX_TRUE_PROCBASED);
		m->true_exit = rdmsr(MSR_IA32_VMX_TRUE_EXIT);
		m->true_entry = rdmsr(MSR_IA32_VMX_TRUE_ENTRY);
	}
	/* Secondary controls exist only if the primary may enable them. */
	if (m->procbased & (PROC_SECONDARY << 32)) {
		m->procbased2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
		if (m->procbased2 & ((u64)(PROC2_EPT | PROC2_VPID) << 32))
			m->ept_vpid_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
		if (m->procbased2 & ((u64)PROC2_VMFUNC << 32))
			m->vmfunc = rdmsr(MSR_IA32_VMX_VMFUNC);
	}
}
