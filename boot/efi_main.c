// SPDX-License-Identifier: MIT
/*
 * pksvisor.efi entry point: the boot flow of docs/boot-flow.md.
 *
 *  1. read the options, start the serial console
 *  2. check VMX; without it follow fallback= (boot natively or stop)
 *  3. reserve memory the OS will never reuse and copy pksvisor there
 *  4. the copy builds EPT, host tables and the VMCS (hv_prepare)
 *  5. VMLAUNCH from *this* image: the firmware context continues as the guest
 *  6. as the guest, LoadImage/StartImage the next= image
 */
#include <efi.h>
#include <efilib.h>
#include <stdarg.h>
#include <pksvisor/format.h>
#include <pksvisor/log.h>
#include <pksvisor/pks.h>
#include <pksvisor/x86.h>
#include "boot.h"

#define PKSVISOR_VERSION	"0.1"
/* vCPU, VMXON, VMCS, bitmaps, host stack, GDT, TSS, IST stack: ~100 KiB. */
#define POOL_PER_CPU_BYTES	(256ull << 10)

void boot_msg(const char *fmt, ...)
{
	char line[240];
	va_list ap;

	va_start(ap, fmt);
	pksv_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pksv_log("%s", line);
}

/* Errors the user must see even without a serial cable: ConOut too. */
void boot_err(const char *fmt, ...)
{
	char line[240];
	va_list ap;

	va_start(ap, fmt);
	pksv_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pksv_log("%s", line);
	Print(L"pksvisor: %a\r\n", line);
}

static bool is_ram(UINT32 type)
{
	switch (type) {
	case EfiLoaderCode:
	case EfiLoaderData:
	case EfiBootServicesCode:
	case EfiBootServicesData:
	case EfiConventionalMemory:
	case EfiACPIReclaimMemory:
		return true;
	}
	return false;
}

/* Highest physical address and the RAM ranges, from the UEFI memory map. */
static EFI_STATUS scan_memory_map(struct boot_info *bi)
{
	UINTN entries, key, desc_size;
	UINT32 desc_ver;
	EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &desc_ver);
	u64 top = 4 * SZ_1G;

	if (!map)
		return EFI_OUT_OF_RESOURCES;
	bi->nr_ram = 0;
	for (UINTN i = 0; i < entries; i++) {
		EFI_MEMORY_DESCRIPTOR *d = (void *)((u8 *)map + i * desc_size);
		u64 start = d->PhysicalStart, end = start + d->NumberOfPages * PAGE_SIZE;

		if (end > top)
			top = end;
		if (!is_ram(d->Type))
			continue;
		/* Merge with the previous range when adjacent (sorted map). */
		if (bi->nr_ram && bi->ram[bi->nr_ram - 1].end == start)
			bi->ram[bi->nr_ram - 1].end = end;
		else if (bi->nr_ram < ARRAY_SIZE(bi->ram)) {
			bi->ram[bi->nr_ram].start = start;
			bi->ram[bi->nr_ram].end = end;
			bi->nr_ram++;
		}
	}
	FreePool(map);
	bi->phys_limit = ALIGN_UP(top, SZ_1G);
	return EFI_SUCCESS;
}

static u64 calibrate_tsc(void)
{
	u64 t0 = rdtsc();

	uefi_call_wrapper(BS->Stall, 1, 20000);	/* 20 ms */
	return (rdtsc() - t0) * 50;
}

/*
 * Refusing after the boot CPU became a guest: returning to the firmware
 * would let its boot manager start the next boot option (or a shell) on
 * this machine, whose CPUs outside pksvisor that image could start
 * natively (review3 F3).  So nothing runs after the refusal: power off,
 * and if the firmware cannot, stay here with interrupts off.
 */
static void __attribute__((noreturn)) stop_for_good(void)
{
	boot_err("powering off (nothing may boot on this machine under pksvisor)");
	uefi_call_wrapper(RT->ResetSystem, 4, EfiResetShutdown, EFI_ABORTED, 0, NULL);
	for (;;)
		asm volatile("cli; hlt");
}

static EFI_STATUS no_vmx(EFI_HANDLE image, EFI_LOADED_IMAGE *li,
			 struct pksv_config *cfg, const char *why)
{
	boot_err("VMX unavailable: %s", why);
	if (cfg->fallback == FALLBACK_STOP) {
		boot_err("fallback=stop: not booting anything");
		return EFI_UNSUPPORTED;
	}
	boot_err("fallback=boot: starting the next image without virtualization");
	return boot_chainload(image, li, cfg);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	EFI_GUID lip = LOADED_IMAGE_PROTOCOL;
	EFI_LOADED_IMAGE *li;
	struct boot_info *bi;
	struct vmm_probe probe;
	const struct vmx_setup *setup = &probe.setup;
	const char *smp_missing;
	int (*prepare)(struct boot_info *);
	void (*launch_failed)(void);
	EFI_PHYSICAL_ADDRESS pool;
	u64 rflags, pages, delta;
	EFI_STATUS st;
	struct mp_launch_result aps;

	InitializeLib(image, systab);
	st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &lip, (void **)&li);
	if (EFI_ERROR(st))
		return st;
	bi = AllocateZeroPool(sizeof(*bi));
	if (!bi)
		return EFI_OUT_OF_RESOURCES;

	/* Serial first, so that option errors reach the console too. */
	serial_init(0x3f8);
	st = boot_read_config(image, li, &bi->cfg);
	if (EFI_ERROR(st)) {
		Print(L"pksvisor: invalid configuration, not virtualizing (see message above)\r\n");
		return st;
	}
	serial_init(bi->cfg.serial_port);
#ifdef PKSV_TEST_HOOKS
	boot_msg("TEST BUILD: test hooks compiled in (vmm/test_hooks.c): never ship this image");
#endif
	boot_msg("pksvisor " PKSVISOR_VERSION " starting: pks=%s pks_mode=%s stats=%u fallback=%s next=%s",
		 config_pks_name(bi->cfg.pks), config_mode_name(bi->cfg.pks_mode),
		 bi->cfg.stats_interval_s,
		 bi->cfg.fallback == FALLBACK_BOOT ? "boot" : "stop",
		 bi->cfg.next[0] ? bi->cfg.next : "(none)");

	/*
	 * ACPI sleep registers before the VMX checks, so that the line about
	 * S3 appears on every machine (QEMU's tables exercise the parser).
	 */
	acpi_pm_find(systab, &bi->acpi);
	acpi_pm_apply_config(&bi->acpi, &bi->cfg);
	acpi_pm_report(&bi->acpi, &bi->cfg);

	if (vmm_probe(&bi->cfg, &probe, bi->err, sizeof(bi->err)))
		return no_vmx(image, li, &bi->cfg, bi->err);
	/* A forced PKS backend the CPU cannot provide is a configuration error. */
	if (pks_select_backend(bi->cfg.pks, probe.msrs.cpuid_pks, setup->has_pks_controls,
			       true, bi->err, sizeof(bi->err)) < 0) {
		boot_err("%s", bi->err);
		return EFI_UNSUPPORTED;
	}
	boot_msg("VMX: revision %u, EPT%s%s, VPID %s, unrestricted guest %s, preemption timer %s",
		 setup->vmcs_revision, setup->has_ept_1g ? " 1G" : "",
		 setup->has_ept_ad ? " A/D" : "", setup->has_vpid ? "yes" : "no",
		 setup->has_unrestricted ? "yes" : "no",
		 setup->has_preemption_timer ? "yes" : "no");
	if (bi->cfg.stats_interval_s != 0 && !setup->has_preemption_timer)
		boot_msg("stats=%u: no VMX preemption timer: printed at the first VM exit after each interval",
			 bi->cfg.stats_interval_s);

	/*
	 * Every CPU or none (boot/mp.c): the APs check themselves before
	 * anything is virtualized, so a failure leaves the machine as it was.
	 */
	st = mp_discover(systab, bi);
	if (EFI_ERROR(st))
		return no_vmx(image, li, &bi->cfg, bi->err);
	/* INIT-SIPI emulation and shootdown NMIs (vmx_smp_missing()). */
	if (bi->nr_cpus > 1 && (smp_missing = vmx_smp_missing(setup))) {
		pksv_snprintf(bi->err, sizeof(bi->err), "several CPUs, but %s", smp_missing);
		return no_vmx(image, li, &bi->cfg, bi->err);
	}
	if (mp_check_aps(bi, &probe.msrs))
		return no_vmx(image, li, &bi->cfg, bi->err);

	st = scan_memory_map(bi);
	if (EFI_ERROR(st))
		return no_vmx(image, li, &bi->cfg, "cannot read the UEFI memory map");
	/*
	 * With 1 GiB pages both in EPT and in the host tables, map up to
	 * 512 GiB so that 64-bit PCI windows above RAM stay reachable.
	 */
	if (setup->has_ept_1g && bi->phys_limit < 512 * SZ_1G)
		bi->phys_limit = 512 * SZ_1G;
	bi->tsc_per_sec = calibrate_tsc();

	/*
	 * EfiReservedMemoryType: the OS neither uses nor maps it as RAM, and
	 * unlike runtime-services memory the firmware never relocates it at
	 * SetVirtualAddressMap (docs/memory-layout.md).
	 */
	bi->image_size = ALIGN_UP(li->ImageSize, PAGE_SIZE);
	pages = (((u64)bi->cfg.pool_mib << 20) + bi->image_size + bi->nr_cpus * POOL_PER_CPU_BYTES +
		 2 * (bi->phys_limit / SZ_1G) * PAGE_SIZE) / PAGE_SIZE;
	st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages,
			       EfiReservedMemoryType, pages, &pool);
	if (EFI_ERROR(st))
		return no_vmx(image, li, &bi->cfg, "cannot reserve memory");
	bi->pool_base = pool;
	bi->pool_size = pages * PAGE_SIZE;
	delta = relocate_image_copy((u64)li->ImageBase, li->ImageSize, pool);
	prepare = (void *)((u64)hv_prepare + delta);
	launch_failed = (void *)((u64)hv_launch_failed + delta);
	bi->prepare_ap = (void *)((u64)hv_prepare_ap + delta);
	bi->ap_launch_failed = (void *)((u64)hv_ap_launch_failed + delta);
	boot_msg("resident at 0x%llx, %llu KiB reserved (pool=%uM), guest-physical limit 0x%llx",
		 (u64)pool, bi->pool_size >> 10, bi->cfg.pool_mib, bi->phys_limit);

	/* No interrupt may run between capturing guest state and VMLAUNCH. */
	rflags = read_rflags();
	asm volatile("cli");
	if (prepare(bi)) {
		if (rflags & RFLAGS_IF)
			asm volatile("sti");
		uefi_call_wrapper(BS->FreePages, 2, pool, pages);
		return no_vmx(image, li, &bi->cfg, bi->err);
	}
	if (vmm_launch(rflags)) {
		launch_failed();
		if (rflags & RFLAGS_IF)
			asm volatile("sti");
		return no_vmx(image, li, &bi->cfg, "VMLAUNCH failed");
	}
	/* From here on this is guest code. */
	mp_launch_aps(bi, &aps);
	/*
	 * Fail closed (docs/boot-flow.md): a CPU outside VMX root could be started
	 * by the next image with INIT-SIPI and would run without EPT, so
	 * nothing is handed off, whatever fallback= says (fallback=boot is
	 * for a machine where nothing could be virtualized).  A parked CPU
	 * cannot be started: fallback=boot boots without it.
	 */
	if (aps.native) {
		boot_err("MP: %u CPU(s) outside pksvisor could run natively: not booting anything (fail closed, whatever fallback= says)",
			 aps.native);
		stop_for_good();
	}
	if (aps.parked && bi->cfg.fallback == FALLBACK_STOP) {
		boot_err("fallback=stop: not booting anything on a machine with CPUs outside pksvisor");
		stop_for_good();
	}
	if (aps.parked) {
		boot_msg("MP: booting with %u of %u CPUs; the %u parked one(s) stay halted in VMX root",
			 bi->nr_cpus - aps.parked, bi->nr_cpus, aps.parked);
		/* EDK2's MP code waits for every AP at ExitBootServices (docs/boot-flow.md). */
		boot_err("MP: a firmware that waits for every CPU at ExitBootServices (EDK2 does) waits for a parked one forever; fallback=stop stops here instead");
	}
	boot_msg("guest running: firmware and next image now run under pksvisor");
	return boot_chainload(image, li, &bi->cfg);
}
