// SPDX-License-Identifier: MIT
/*
 * RDMSR/WRMSR exits (reasons 31/32).  Only the MSRs set in the bitmap
 * (vmcs.c setup_intercepts) and MSRs outside the bitmap's ranges exit.
 * What the guest may not have gets #GP exactly as on a CPU without it.
 */
#include "exit.h"
#include "../pks/pks_vmm.h"
#include "host.h"
#include "guest_refuse.h"
#include "vmx.h"

/* EFER bits a guest may set: SCE, LME, LMA (read-only), NXE, SVME-free. */
#define EFER_WRITABLE	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

static bool is_vmx_msr(u32 msr)
{
	return msr >= MSR_IA32_VMX_FIRST && msr <= MSR_IA32_VMX_LAST;
}

void handle_rdmsr(struct vcpu *vcpu)
{
	struct guest_regs *r = vcpu->regs;
	u32 msr = (u32)r->rcx;
	u64 value;

	if (msr == MSR_IA32_PKRS) {
		if (!pks_rdmsr(vcpu, &value)) {
			vcpu_inject_gp(vcpu);
			return;
		}
		r->rax = (u32)value;
		r->rdx = value >> 32;
		vcpu_skip_instruction(vcpu);
		return;
	}
	if (is_vmx_msr(msr)) {
		/* CPUID hides VMX, so these MSRs do not exist (#GP). */
		vcpu_inject_gp(vcpu);
		return;
	}
	if (msr_is_rtit(msr)) {
		/* CPUID hides Intel PT: no RTIT MSRs (#GP). */
		vcpu->stats.msr_refused++;
		vcpu_inject_gp(vcpu);
		return;
	}
	switch (msr) {
	case MSR_IA32_FEATURE_CONTROL:
		/* Locked, VMX off: what firmware that disables VMX leaves. */
		value = FEATURE_CONTROL_LOCK;
		break;
	default:
		if (safe_rdmsr(msr, &value)) {
			vcpu_inject_gp(vcpu);
			return;
		}
		break;
	}
	r->rax = (u32)value;
	r->rdx = value >> 32;
	vcpu_skip_instruction(vcpu);
}

/*
 * EFER writes: guest EFER lives in the VMCS (load/save EFER controls), and
 * LMA, like the "IA-32e mode guest" entry control, follows LME && CR0.PG
 * (SDM 26.3.1.1; the CPU does this itself only outside VMX).
 */
static bool write_efer(struct vcpu *vcpu, u64 value)
{
	u64 entry = vmread(VMCS_ENTRY_CONTROLS);
	bool paging = vmread(VMCS_GUEST_CR0) & CR0_PG;

	if (value & ~EFER_WRITABLE)
		return false;
	/* Changing LME while paging is on is #GP (SDM Vol. 3A 10.8.5). */
	if (paging && ((value ^ vcpu->efer) & EFER_LME))
		return false;
	value &= ~EFER_LMA;
	if ((value & EFER_LME) && paging)
		value |= EFER_LMA;
	vcpu->efer = value;
	vmwrite(VMCS_GUEST_EFER, value);
	if (value & EFER_LMA)
		entry |= ENTRY_IA32E_GUEST;
	else
		entry &= ~ENTRY_IA32E_GUEST;
	vmwrite(VMCS_ENTRY_CONTROLS, entry);
	return true;
}

void handle_wrmsr(struct vcpu *vcpu)
{
	struct guest_regs *r = vcpu->regs;
	u32 msr = (u32)r->rcx;
	u64 value = ((u64)(u32)r->rdx << 32) | (u32)r->rax;
	bool ok;

	if (msr == MSR_IA32_PKRS) {
		/* First: the hot one.  Reserved bits 63:32 -> #GP, value unchanged (pks.c). */
		ok = pks_wrmsr(vcpu, value);
	} else if (is_vmx_msr(msr) || msr == MSR_IA32_FEATURE_CONTROL) {
		/* Absent, and FEATURE_CONTROL reads as locked: #GP. */
		ok = false;
	} else if (msr == MSR_EFER) {
		ok = write_efer(vcpu, value);
	} else if (msr_is_rtit(msr) ||
		   (msr == MSR_IA32_APIC_BASE &&
		    (apic_base_in_range(value, vcpu->hv->pool.base, vcpu->hv->pool.size) ||
		     apic_base_unmapped(value, vcpu->hv->phys_limit)))) {
		/* PT hidden; APIC page over pksvisor's memory or out of its map refused. */
		vcpu->stats.msr_refused++;
		ok = false;
	} else {
		/* IA32_BIOS_SIGN_ID and MSRs outside the bitmap: the real one. */
		ok = safe_wrmsr(msr, value) == 0;
	}
	if (!ok) {
		vcpu_inject_gp(vcpu);
		return;
	}
	vcpu_skip_instruction(vcpu);
}
