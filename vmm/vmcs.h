/* SPDX-License-Identifier: MIT */
#ifndef PKSVISOR_VMCS_H
#define PKSVISOR_VMCS_H

#include "vcpu.h"
#include "seam.h"

/* For the VMX error path: it dumps the vCPU whose VMCS is current here. */
extern struct hv *vmx_check_hv;

/* Allocate the vCPU's VMX structures (VMXON region, VMCS, bitmaps, stack). */
int vcpu_alloc(struct hv *hv, struct vcpu *vcpu, unsigned int id);
/*
 * Enter VMX root on this CPU (CR0/CR4 fixed bits, VMXON) and load the
 * vCPU's VMCS.  0, or with err set: VMX_ENABLE_NO_VMXON (VMXON failed:
 * outside VMX operation) or VMX_ENABLE_IN_ROOT (VMXON done, the VMCLEAR
 * or VMPTRLD failed: the CPU is in VMX root).
 */
#define VMX_ENABLE_NO_VMXON	(-1)
#define VMX_ENABLE_IN_ROOT	(-2)
int vmx_enable(struct vcpu *vcpu, char *err, size_t errlen);
/*
 * Load the VMCS with host state, controls and the *current* CPU state as
 * guest state; vmx_launch() then continues this very context as the guest.
 */
int vmcs_setup(struct vcpu *vcpu);
int vmx_launch(void);
/* Intercept the given MSR's reads and/or writes. */
void msr_bitmap_intercept(struct vcpu *vcpu, u32 msr, bool read, bool write);
void io_bitmap_intercept(struct vcpu *vcpu, u16 port);

#endif
