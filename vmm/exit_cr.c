// SPDX-License-Identifier: MIT
/*
 * Control-register accesses (exit reason 28).  Only writes that touch bits
 * in the CR0/CR4 guest/host masks exit (SDM 26.1.3): the VMX fixed bits,
 * CR4.VMXE (the guest never sees it) and CR4.PKS.  The guest's view lives
 * in the read shadows; the real registers keep what VMX needs.
 */
#include <pksvisor/log.h>
#include "cr_rules.h"
#include "exit.h"
#include "../pks/pks_vmm.h"
#include "vmx.h"

static u64 guest_cr0_view(struct vcpu *vcpu);
static u64 guest_cr4_view(struct vcpu *vcpu);

/* The guest's control registers as it sees them, for the #GP rules. */
static struct cr_state *cr_state_now(struct vcpu *vcpu, struct cr_state *st)
{
	st->cr0 = guest_cr0_view(vcpu);
	st->cr3 = vmread(VMCS_GUEST_CR3);
	st->cr4 = guest_cr4_view(vcpu);
	st->efer = vmread(VMCS_GUEST_EFER);	/* saved on exit: current LMA */
	st->cs_long = vmread(VMCS_GUEST_CS_AR) & BIT(13);
	st->phys_bits = vcpu_guest_phys_bits();
	st->cr4_allowed = ~0ull;
	return st;
}

/*
 * A value the CPU would refuse: #GP(0), as MOV to CR does (the caller
 * injects it).  Counted: loading it would have failed VM entry.
 */
static bool cr_refused(struct vcpu *vcpu, unsigned int cr, u64 value)
{
	vcpu->stats.cr_write_refused++;
	pksv_log("refused MOV to CR%u of 0x%llx at rip 0x%llx: #GP", cr, value,
		 vcpu->guest_rip);
	return false;
}

/* CR0 bits defined on Intel 64 */
#define CR0_DEFINED	(CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | \
			 CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)

static bool emulate_cr0_write(struct vcpu *vcpu, u64 value)
{
	struct vmx_msrs *m = &vcpu->hv->msrs;
	u64 real, entry, efer = vcpu->efer;
	struct cr_state st;

	value |= CR0_ET;	/* hardwired to 1 (SDM 2.5) */
	if (!cr0_write_ok(cr_state_now(vcpu, &st), value))
		return cr_refused(vcpu, 0, value);
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
	/*
	 * Bits the CPU supports in VMX operation, minus the ones pksvisor
	 * hides: VMXE and SMXE are reserved for the guest (CPUID says no VMX,
	 * no SMX), so setting them is #GP(0) as on such a CPU.
	 */
	u64 allowed = ((m->cr4_fixed1 & ~CR4_VMXE & ~CR4_SMXE & ~CR4_PKS) & 0xffffffffull) |
		      pks_cr4_allowed(vcpu->hv);
	struct cr_state st;
	u64 real;

	cr_state_now(vcpu, &st)->cr4_allowed = allowed;
	if (!cr4_write_ok(&st, value))
		return cr_refused(vcpu, 4, value);
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

static u64 guest_cr4_view(struct vcpu *vcpu)
{
	u64 mask = vcpu->hv->vmx.cr4_mask;

	return (vmread(VMCS_GUEST_CR4) & ~mask) | (vcpu->cr4_shadow & mask);
}

/*
 * MOV to CR3 exits only for soft PKS discovery (CR3-load exiting).  Bits
 * above MAXPHYADDR would fail VM entry (SDM Vol. 3C 27.3.1.1): #GP as the
 * CPU gives.  Bit 63 is the PCID no-flush hint when CR4.PCIDE = 1
 * (SDM Vol. 3A 4.10.4.1), never stored.
 */
static bool emulate_cr3_write(struct vcpu *vcpu, u64 value)
{
	struct cr_state st;

	cr_state_now(vcpu, &st);
	if (!cr3_write_ok(&st, (st.cr4 & CR4_PCIDE) ? value & ~BIT(63) : value))
		return cr_refused(vcpu, 3, value);
	pks_cr3_load(vcpu, value);	/* soft PKS discovery only */
	return true;
}

void handle_cr_access(struct vcpu *vcpu)
{
	u64 q = vcpu_exit_qual(vcpu);
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
			ok = emulate_cr3_write(vcpu, value);
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
