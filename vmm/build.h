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
};

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

#endif
