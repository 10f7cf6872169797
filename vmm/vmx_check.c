// SPDX-License-Identifier: MIT
/*
 * The one error path of the checked VMX instructions (vmm/vmx.h).  A
 * VMREAD, VMWRITE, INVEPT or INVVPID that fails is a pksvisor bug (a wrong
 * field, a value the CPU rejects, a type the capability MSR does not
 * offer), never something a guest can cause: name it readably, dump the
 * vCPU and halt (the model is KVM's vmwrite_error / MiniVisor's checked
 * VmxWrite).
 */
#include <pksvisor/format.h>
#include <pksvisor/log.h>
#include "exit.h"
#include "vmx.h"
#include "vmx_caps.h"

/*
 * The hypervisor, for finding the failing CPU's vCPU (set by every
 * vmcs_setup; the same pointer on every CPU, so a plain store suffices).
 * Which vCPU failed is per CPU: the one whose VMCS is current on this CPU
 * (VMPTRST, SDM Vol. 3C 31.3) or, with none current, the one the host GS
 * base names; so that with several CPUs the dump never shows another
 * CPU's vCPU, whichever set its VMCS up last.
 */
struct hv *vmx_check_hv;

/*
 * A failure inside the dump (which reads the VMCS again) must not recurse:
 * per vCPU, so that one CPU's failing dump does not mute another's
 * failure.  A CPU with no vCPU of its own (no current VMCS of pksvisor's)
 * uses failing_no_vcpu; it then halts without a dump anyway.
 */
static bool failing_no_vcpu;

static struct vcpu *current_vcpu(void)
{
	struct hv *hv = vmx_check_hv;
	u64 vmcs_pa = ~0ull, gs_base;

	if (!hv)
		return NULL;
	asm volatile("vmptrst %0" : "=m"(vmcs_pa) : : "cc");
	for (unsigned int i = 0; i < hv->nr_vcpus; i++)
		if (hv->vcpus[i] && hv->vcpus[i]->vmcs_pa == vmcs_pa)
			return hv->vcpus[i];
	/*
	 * No current VMCS (the failure may be a VMfailInvalid): in VMX root
	 * after the launch the GS base is this CPU's vCPU (VMCS host GS base);
	 * before it, the firmware's, which matches no vCPU.
	 */
	gs_base = rdmsr(MSR_GS_BASE);
	for (unsigned int i = 0; i < hv->nr_vcpus; i++)
		if (hv->vcpus[i] && (u64)(uintptr_t)hv->vcpus[i] == gs_base)
			return hv->vcpus[i];
	return NULL;
}

static u64 read_insn_error(void)
{
	u64 error = 0, field = VMCS_VM_INSTR_ERROR;

	/* Unchecked on purpose: this is the error path itself. */
	asm volatile("vmread %1, %0" : "=rm"(error) : "r"(field) : "cc");
	return error;
}

void vmx_insn_failed(enum vmx_insn insn, u64 operand, u64 value, bool fail_invalid,
		     const char *file, int line)
{
	char msg[320];

	struct vcpu *vcpu = current_vcpu();
	bool *failing = vcpu ? &vcpu->vmx_failing : &failing_no_vcpu;

	/* The dump below reads the VMCS again: let it read what it can. */
	if (*failing)
		return;
	*failing = true;
	vmx_insn_failure_msg(msg, sizeof(msg), insn, operand, value, fail_invalid,
			     fail_invalid ? 0 : read_insn_error(), file, line);
	pksv_log("FATAL: %s", msg);
	if (vcpu)
		vcpu_fatal(vcpu, "VMX instruction failed (a pksvisor bug)");
	pksv_halt();
}

/*
 * VMREAD and VMWRITE branch here on CF or ZF without keeping which
 * (vmm/vmx.h).  VMfailInvalid means there was no current VMCS (SDM Vol. 3C
 * 31.3, VMREAD/VMWRITE operation; pksvisor never runs them in VMX
 * non-root), and VMPTRST stores all ones exactly then: no flag needed.
 */
void vmx_insn_failed_here(enum vmx_insn insn, u64 operand, u64 value,
			  const char *file, int line)
{
	u64 current = 0;

	asm volatile("vmptrst %0" : "=m"(current) : : "cc");
	vmx_insn_failed(insn, operand, value, current == ~0ull, file, line);
}
