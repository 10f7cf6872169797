// SPDX-License-Identifier: MIT
/*
 * VMFUNC exits (exit reason 59).  A VMFUNC exits when the function is not
 * enabled in the VM-function controls, when ECX >= 512 for EPTP switching,
 * or when the EPTP-list entry it selects is not a valid EPTP (SDM Vol. 3C
 * 26.5.6.3 "EPTP Switching"; 25.5.6.3 in older editions).  pksvisor keeps
 * every list entry that is not a view the guest kernel pinned invalid
 * (pks/view_perms.c), so this exit means: an index nobody was given, from
 * any CPL.  On a CPU without VM functions VMFUNC is #UD; the guest gets
 * exactly that, the EPTP is unchanged, and the refusal is counted.
 */
#include "exit.h"
#include "vmx.h"

void handle_vmfunc(struct vcpu *vcpu)
{
	vcpu->stats.vmfunc_refused++;
	vcpu_inject_ud(vcpu);
}
