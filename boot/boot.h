/* SPDX-License-Identifier: MIT */
/*
 * UEFI side of pksvisor: what efi_main needs from the other boot/ files,
 * and the one vmm/ header boot/ uses, the build entry (vmm/build.h).
 */
#ifndef PKSVISOR_BOOT_H
#define PKSVISOR_BOOT_H

#include <efi.h>
#include <efilib.h>
#include <pksvisor/config.h>
#include <pksvisor/acpi_pm.h>
#include "../vmm/build.h"

/* Print on the serial port ("pksvisor: " prefix added). */
void boot_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, and on ConOut: errors a user must see without a serial cable. */
void boot_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Options from the load options or pksvisor.cfg beside the image. */
EFI_STATUS boot_read_config(EFI_HANDLE image, EFI_LOADED_IMAGE *li,
			    struct pksv_config *cfg);

/* LoadImage/StartImage cfg->next with cfg->args as its command line. */
EFI_STATUS boot_chainload(EFI_HANDLE image, EFI_LOADED_IMAGE *li,
			  const struct pksv_config *cfg);

/* ACPI PM1 registers and \_S3_ sleep type from the FADT and DSDT. */
void acpi_pm_find(EFI_SYSTEM_TABLE *st, struct acpi_pm *pm);
/*
 * The CPUs the firmware's MADT lets the OS start (Enabled or Online
 * Capable), ACPI_NO_MADT without an MADT, -1 for a malformed one.
 */
#define ACPI_NO_MADT	(-2)
int acpi_madt_cpus(EFI_SYSTEM_TABLE *st);
/* Apply pm1a_cnt= and slp_typ_s3=. */
void acpi_pm_apply_config(struct acpi_pm *pm, const struct pksv_config *cfg);
/* One line at start: what pksvisor will do with an S3 request. */
void acpi_pm_report(const struct acpi_pm *pm, const struct pksv_config *cfg);

/*
 * Copy this image to dst (reserved memory) and apply its ELF relative
 * relocations for the new base.  Returns the offset to add to an address
 * in the running image to get the same object in the copy.
 */
u64 relocate_image_copy(u64 src, u64 size, u64 dst);

/*
 * Every CPU (boot/mp.c).  mp_discover: the CPUs EFI_MP_SERVICES_PROTOCOL
 * reports (bi->nr_cpus = 1 without it, loudly).  mp_check_aps: each AP
 * checks natively that it can run VMX like the boot CPU; non-zero (with
 * the reason in bi->err) if any cannot.  mp_launch_aps: after the boot CPU
 * is a guest, each AP launches its own firmware context as a guest; the
 * APs that could not are counted in res (and reported on the console).
 */
EFI_STATUS mp_discover(EFI_SYSTEM_TABLE *st, struct boot_info *bi);
int mp_check_aps(struct boot_info *bi, const struct vmx_msrs *bsp_msrs);
/* APs left outside the guest by mp_launch_aps (boot/mp.c, docs/boot-flow.md). */
struct mp_launch_result {
	unsigned int native;	/* outside VMX root: the guest could start them */
	unsigned int parked;	/* halted in VMX root: the guest cannot */
};
void mp_launch_aps(struct boot_info *bi, struct mp_launch_result *res);

#endif
