// SPDX-License-Identifier: MIT
/*
 * Control-register accesses (exit reason 28).  Only writes that touch bits
 * in the CR0/CR4 guest/host masks exit (SDM 26.1.3): the VMX fixed bits,
 * CR4.VMXE (the guest never sees it) and CR4.PKS.  The guest's view lives
 * in the read shadows; the real registers keep what VMX needs.
 */
#include "exit.h"
#include "../pks/pks_vmm.h"
#include "vmx.h"

/* CR0 bits defined on Intel 64 */
#define CR0_DEFINED	(CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | \
			 CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)

static bool emulate_cr0_write(struct vcpu *vcpu, u64 value)
{
	struct vmx_msrs *m = &vcpu->hv->msrs;
	u64 real, entry, efer = vcpu->efer;

	if (value >> 32)
		return false;
	value |= CR0_ET;	/* hardwired to 1 (SDM 2.5) */
	if ((value & CR0_PG) && !(value & CR0_PE))
		return false;
	if ((value & CR0_NW) && !(value & CR0_CD))
		return false;
	real = (value | m->cr0_fixed0) & m->cr0_fixed1;
	if (vcpu->hv->vmx.has_unrestricted)
		real = (real & ~(CR0_PE | CR0_PG)) | (value & (CR0_PE | CR0_PG));

	/* Paging on/off with EFER.LME switches IA-32e mode (SDM 10.8.5). */
	entry = vmread(VMCS_ENTRY_CONTROLS);
	if ((value & CR0_PG) && (efer & EFER_LME)) {
		efer |= EFER_LMA;
		entry |= ENTRY_IA32E_GUEST;
	} else {
		efer &= ~EFER_LMA;
		entry &= ~ENTRY_IA32E_GUEST;
	}
	if (efer != vcpu->efer) {
		vcpu->efer = efer;
		vmwrite(VMCS_GUEST_EFER, efer);
		vmwrite(VMCS_ENTRY_CONTROLS, entry);
	}
	vcpu->cr0_shadow = value;
	vmwrite(VMCS_CR0_SHADOW, value);
	vmwrite(VMCS_GUEST_CR0, real);
	/*
	 * A CR write emulated by VMWRITE does not flush the guest's
	 * VPID-tagged TLB entries as the real write would (SDM 4.10.4.1).
	 */
	vcpu_flush_vpid(vcpu);
	pks_cr_changed(vcpu);
	return true;
}

static bool emulate_cr4_write(struct vcpu *vcpu, u64 value)
{
	struct vmx_msrs *m = &vcpu->hv->msrs;
	/* Bits the CPU supports in VMX operation, minus the ones pksvisor hides. */
	u64 allowed = ((m->cr4_fixed1 & ~CR4_VMXE & ~CR4_PKS) & 0xffffffffull) |
		      pks_cr4_allowed(vcpu->hv);
	u64 real;

	if (value & ~allowed)
		return false;
	vcpu->cr4_shadow = value;
	vmwrite(VMCS_CR4_SHADOW, value);
	real = ((value & ~CR4_PKS) | m->cr4_fixed0 | CR4_VMXE) & m->cr4_fixed1;
	vmwrite(VMCS_GUEST_CR4, real | pks_cr4_real(vcpu, value));
	vcpu_flush_vpid(vcpu);	/* as for CR0 */
	pks_cr_changed(vcpu);
	return true;
}

/* The guest's CR0: its own bits from the register, masked ones from the shadow. */
static u64 guest_cr0_view(struct vcpu *vcpu)
{
	u64 mask = vcpu->hv->vmx.cr0_mask;

	return (vmread(VMCS_GUEST_CR0) & ~mask) | (vcpu->cr0_shadow & mask);
}

void handle_cr_access(struct vcpu *vcpu)
{
	u64 q = vcpu->exit_qual;
	unsigned int cr = CRQ_CR(q);
	bool ok = true;
	u64 value;

	switch (CRQ_TYPE(q)) {
	case CRQ_MOV_TO:
		value = vcpu_get_gpr(vcpu, CRQ_GPR(q));
		if (cr == 0)
			ok = emulate_cr0_write(vcpu, value);
		else if (cr == 4)
			ok = emulate_cr4_write(vcpu, value);
		else if (cr == 3)
			pks_cr3_load(vcpu, value);	/* soft PKS discovery only */
		else
			vcpu_fatal(vcpu, "MOV to unexpected control register");
		break;
	case CRQ_LMSW:
		/* LMSW writes CR0[3:0] but cannot clear PE (SDM Vol. 2A LMSW). */
		value = guest_cr0_view(vcpu);
		value = (value & ~0xfull) | (CRQ_LMSW_SRC(q) & 0xf) | (value & CR0_PE);
		ok = emulate_cr0_write(vcpu, value);
		break;
	case CRQ_CLTS:
		ok = emulate_cr0_write(vcpu, guest_cr0_view(vcpu) & ~CR0_TS);
		break;
	default:
		/* MOV from CR0/CR4 never exits; from CR3/CR8 is not enabled. */
		vcpu_fatal(vcpu, "unexpected MOV from control register");
	}
	if (!ok) {
		vcpu_inject_gp(vcpu);
		return;
	}
	vcpu_skip_instruction(vcpu);
}
