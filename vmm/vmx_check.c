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

/* The vCPU whose VMCS is current on this CPU (set by vmcs_setup). */
struct vcpu *vmx_check_vcpu;

static bool failing;

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
	static const char *const names[] = { "VMREAD", "VMWRITE", "INVEPT", "INVVPID" };
	char what[96], why[128];
	u64 error;

	/* The dump below reads the VMCS again: let it read what it can. */
	if (failing)
		return;
	failing = true;
	switch (insn) {
	case VMX_INSN_VMREAD:
		vmx_field_desc(what, sizeof(what), operand);
		break;
	case VMX_INSN_VMWRITE:
		vmx_field_desc(why, sizeof(why), operand);
		pksv_snprintf(what, sizeof(what), "%s value 0x%llx", why, value);
		break;
	case VMX_INSN_INVEPT:
		pksv_snprintf(what, sizeof(what), "type %llu eptp 0x%llx", operand, value);
		break;
	case VMX_INSN_INVVPID:
		pksv_snprintf(what, sizeof(what), "type %llu vpid %llu", operand, value);
		break;
	}
	if (fail_invalid) {
		pksv_snprintf(why, sizeof(why), "VMfailInvalid (no current VMCS)");
	} else {
		error = read_insn_error();
		pksv_snprintf(why, sizeof(why), "VM-instruction error %llu (%s)",
			      error, vmx_insn_error_str(error));
	}
	pksv_log("FATAL: %s of %s failed at %s:%d: %s",
		 names[insn], what, file, line, why);
	if (vmx_check_vcpu)
		vcpu_fatal(vmx_check_vcpu, "VMX instruction failed (a pksvisor bug)");
	pksv_halt();
}
