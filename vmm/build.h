/* SPDX-License-Identifier: MIT */
/*
 * The build entry: everything boot/ may use of vmm/ (the layering check,
 * tests/harness/check-layering.sh, allows boot/ this vmm/ header only).
 * The UEFI side (boot/efi_main.c) probes VMX while the firmware still
 * runs, fills struct boot_info, calls hv_prepare() in the resident copy
 * and launches; docs/boot-flow.md walks through it.
 */
#ifndef PKSVISOR_BUILD_H
#define PKSVISOR_BUILD_H

#include <pksvisor/types.h>
#include <pksvisor/config.h>
#include <pksvisor/acpi_pm.h>
#include "vmx_caps.h"

/* Everything the resident copy needs to build the hypervisor. */
struct boot_info {
	struct pksv_config cfg;
	u64 pool_base, pool_size;	/* reserved; the image copy is at pool_base */
	u64 image_size;			/* pages at pool_base used by the copy */
	u64 phys_limit;
	struct { u64 start, end; } ram[128];
	unsigned int nr_ram;
	struct acpi_pm acpi;		/* PM1 sleep registers, S3 sleep type */
	u64 tsc_per_sec;
	char err[160];

	/*
	 * Every CPU (boot/mp.c): index = vCPU id, 0 = the boot CPU.  ap[]
	 * is written by each AP itself, in its own slot only.
	 */
	unsigned int nr_cpus;
	u32 apic_id[PKSV_MAX_CPUS];
	u32 mp_number[PKSV_MAX_CPUS];	/* its MP services processor number */
	struct boot_ap {
		volatile u32 state;	/* BOOT_AP_* */
		char err[96];
	} ap[PKSV_MAX_CPUS];
	void *mp;			/* struct efi_mp_services *, NULL without */
	const struct vmx_msrs *bsp_msrs;	/* for the AP check */
	void *hv;			/* struct hv * in the copy, after hv_prepare */
	/* In the copy (relocated addresses), for the AP procedures. */
	int (*prepare_ap)(struct boot_info *bi, unsigned int id);
	void (*ap_launch_failed)(struct boot_info *bi, unsigned int id);
};

#define BOOT_AP_SILENT		0	/* the procedure never ran on it */
#define BOOT_AP_CHECKED		1	/* can be virtualized */
#define BOOT_AP_FAILED		2	/* err says why */
#define BOOT_AP_RUNNING		3	/* runs as a pksvisor guest */
#define BOOT_AP_PARKED		4	/* halted in VMX root for good (vmm/park.c) */

/* What the firmware side learns about VMX before reserving anything. */
struct vmm_probe {
	struct vmx_msrs msrs;		/* capability MSRs and CPUID bits */
	struct vmx_setup setup;		/* the controls cfg would run with */
	bool lock_needed;		/* IA32_FEATURE_CONTROL still unlocked */
};

/*
 * Read this CPU's VMX capabilities and compute the controls for cfg.
 * Returns 0, or -1 with a one-line reason in err (vmx_compute_setup()).
 */
int vmm_probe(const struct pksv_config *cfg, struct vmm_probe *probe,
	      char *err, size_t errlen);

/* Runs in the resident copy: builds the hypervisor up to a loaded VMCS. */
int hv_prepare(struct boot_info *bi);
/*
 * Runs in the original image with interrupts off, right after
 * hv_prepare(): VMLAUNCH this very context as the guest, with the RFLAGS
 * it had before the CLI.  Returns 0 as the guest, -1 when VMLAUNCH failed.
 */
int vmm_launch(u64 guest_rflags);
/* Runs in the copy when VMLAUNCH failed: reports why, leaves VMX. */
void hv_launch_failed(void);

/*
 * Natively on an AP (boot/mp.c): 0 if this CPU can run the boot CPU's VMX
 * setup (same capability MSRs and CPUID bits, VMX not locked off), else
 * -1 with the reason in err.
 */
int vmm_check_ap(const struct vmx_msrs *bsp, char *err, size_t errlen);
/*
 * Run in the copy on AP id: VMXON and its VMCS.  -1 (err set) if VMXON
 * failed: the AP is native.  A failure past VMXON parks the AP (never
 * returns, state BOOT_AP_PARKED, err set).
 */
int hv_prepare_ap(struct boot_info *bi, unsigned int id);
/* Run in the copy when AP id's VMLAUNCH failed: says why, parks it. */
void __attribute__((noreturn)) hv_ap_launch_failed(struct boot_info *bi, unsigned int id);
/*
 * Halt AP id in VMX root for good, on pksvisor's own tables, where the
 * guest can neither INIT nor otherwise resume it (vmm/park.c).
 */
void __attribute__((noreturn)) hv_park_ap(struct boot_info *bi, unsigned int id);

#endif
