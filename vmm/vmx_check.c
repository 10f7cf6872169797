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
 * The vCPU whose VMCS is current on this CPU (set by vmcs_setup), and
 * whether this error path is already running (a failure inside the dump).
 * Written by the boot CPU only: with more CPUs both become per-CPU
 * (struct vcpu), not locked ([all-cpus]).
 */
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
	char msg[320];

	/* The dump below reads the VMCS again: let it read what it can. */
	if (failing)
		return;
	failing = true;
	vmx_insn_failure_msg(msg, sizeof(msg), insn, operand, value, fail_invalid,
			     fail_invalid ? 0 : read_insn_error(), file, line);
	pksv_log("FATAL: %s", msg);
	if (vmx_check_vcpu)
		vcpu_fatal(vmx_check_vcpu, "VMX instruction failed (a pksvisor bug)");
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
