/* SPDX-License-Identifier: MIT */
/* pksvisor's own execution environment for VMX root (vmm/host.c). */
#ifndef PKSVISOR_HOST_H
#define PKSVISOR_HOST_H

#include "vcpu.h"

#define HOST_CS_SEL	0x08
#define HOST_DS_SEL	0x10
#define HOST_TR_SEL	0x18

/* Build the shared IDT and identity page tables in pool memory. */
int host_env_init(struct hv *hv);
/* This CPU's GDT and TSS (with its NMI/#DF/#MC stack), in pool memory. */
int host_cpu_init(struct hv *hv, struct vcpu *vcpu);

int safe_rdmsr(u32 msr, u64 *value);
int safe_wrmsr(u32 msr, u64 value);
int safe_xsetbv(u32 xcr, u64 value);
/* IRET to the next instruction: ends the NMI blocking an NMI exit left. */
void host_unblock_nmis(void);

#endif
