/* SPDX-License-Identifier: MIT */
/* UEFI side of pksvisor: what efi_main needs from the other boot/ files. */
#ifndef PKSVISOR_BOOT_H
#define PKSVISOR_BOOT_H

#include <efi.h>
#include <efilib.h>
#include <pksvisor/config.h>
#include <pksvisor/acpi_pm.h>

/* Everything the resident copy needs to build the hypervisor. */
struct boot_info {
	struct pksv_config cfg;
	EFI_SYSTEM_TABLE *st;
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
	struct boot_ap {
		volatile u32 state;	/* BOOT_AP_* */
		char err[96];
	} ap[PKSV_MAX_CPUS];
	void *mp;			/* struct efi_mp_services *, NULL without */
	void *hv;			/* struct hv * in the copy, after hv_prepare */
	/* In the copy (relocated addresses), for the AP procedures. */
	int (*prepare_ap)(struct boot_info *bi, unsigned int id);
	void (*ap_launch_failed)(struct boot_info *bi, unsigned int id);
};

#define BOOT_AP_SILENT		0	/* the procedure never ran on it */
#define BOOT_AP_CHECKED		1	/* can be virtualized */
#define BOOT_AP_FAILED		2	/* err says why */
#define BOOT_AP_RUNNING		3	/* runs as a pksvisor guest */

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

/* Runs in the resident copy: builds the hypervisor up to a loaded VMCS. */
int hv_prepare(struct boot_info *bi);
/* Runs in the copy when VMLAUNCH failed: reports why. */
void hv_launch_failed(void);
/* Run in the copy on AP id: VMXON and its VMCS / why its VMLAUNCH failed. */
int hv_prepare_ap(struct boot_info *bi, unsigned int id);
void hv_ap_launch_failed(struct boot_info *bi, unsigned int id);

/*
 * Every CPU (boot/mp.c).  mp_discover: the CPUs EFI_MP_SERVICES_PROTOCOL
 * reports (bi->nr_cpus = 1 without it, loudly).  mp_check_aps: each AP
 * checks natively that it can run VMX like the boot CPU; non-zero (with
 * the reason in bi->err) if any cannot.  mp_launch_aps: after the boot CPU
 * is a guest, each AP launches its own firmware context as a guest;
 * returns the number of APs that failed (reported on the console).
 */
EFI_STATUS mp_discover(EFI_SYSTEM_TABLE *st, struct boot_info *bi);
int mp_check_aps(struct boot_info *bi, const void *bsp_msrs);
unsigned int mp_launch_aps(struct boot_info *bi);

#endif
