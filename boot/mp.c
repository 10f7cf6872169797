// SPDX-License-Identifier: MIT
/*
 * pksvisor on every logical processor, through EFI_MP_SERVICES_PROTOCOL
 * (PI spec Vol. 2, MP Services), before the hand-off to the next image.
 *
 * 1. mp_discover: the CPUs the firmware knows, boot CPU first (vCPU 0).
 * 2. mp_check_aps, before anything is virtualized: StartupAllAPs runs
 *    ap_check on every AP natively; it reads the AP's VMX capabilities and
 *    compares them with the boot CPU's.  Any AP that cannot run the same
 *    VMX setup (or does not answer) fails the whole start: all or nothing,
 *    and efi_main follows fallback= with no CPU virtualized.
 * 3. hv_prepare (boot/hv_start.c) allocates every CPU's vCPU, VMXON
 *    region, VMCS, host stack, GDT and TSS from the reservation.
 * 4. mp_launch_aps, with the boot CPU already a guest: StartupThisAP runs
 *    ap_launch on each AP in turn; the AP enters VMX root in the resident
 *    copy (hv_prepare_ap), then VMLAUNCHes its own firmware context, so
 *    ap_launch returns into the firmware's AP loop as guest code.  From
 *    then on the firmware and the OS wake the AP with INIT-SIPI-SIPI, which
 *    pksvisor emulates (vmm/exit_misc.c, handle_init/handle_sipi).
 * 5. Fail closed (docs/boot-flow.md): an AP whose launch fails after its VMXON
 *    never returns to the firmware; it stays parked in VMX root, where
 *    INIT is blocked, so the guest cannot start it (vmm/park.c).  That is
 *    why the APs are started without blocking and watched through their
 *    bi->ap[] slot: a blocking StartupAllAPs would wait for the parked AP
 *    forever.  An AP still outside VMX root (VMXON failed, or it never ran
 *    the procedure) cannot be contained: efi_main then hands off nothing.
 *
 * The AP procedures call no Boot Service (not allowed on an AP) and print
 * nothing: each writes only its own bi->ap[] slot; the boot CPU reports.
 */
#include <efi.h>
#include <efilib.h>
#include <pksvisor/efi_mp.h>
#include <pksvisor/format.h>
#include <pksvisor/x86.h>
#include "boot.h"

/* The running CPU's APIC ID as MP services reports it (ProcessorId). */
static u32 current_apic_id(void)
{
	u32 a, b, c, d, max;

	cpuid_count(0, 0, &max, &b, &c, &d);
	if (max >= 0xb) {
		/* x2APIC ID, SDM Vol. 2A CPUID leaf 0BH (EDX); EBX = 0: no leaf. */
		cpuid_count(0xb, 0, &a, &b, &c, &d);
		if (b)
			return d;
	}
	cpuid_count(1, 0, &a, &b, &c, &d);
	return b >> 24;
}

static int my_index(struct boot_info *bi)
{
	u32 id = current_apic_id();

	for (unsigned int i = 1; i < bi->nr_cpus; i++)
		if (bi->apic_id[i] == id)
			return (int)i;
	return -1;
}

/*
 * Every CPU the MADT lets the OS start must be one pksvisor runs on: the
 * OS would start any other with INIT-SIPI, natively (docs/boot-flow.md,
 * "An AP that cannot be launched").  Without an MADT (Bochs's OVMF
 * publishes none) the OS finds no other CPU to start either.
 */
static EFI_STATUS madt_check(EFI_SYSTEM_TABLE *st, struct boot_info *bi)
{
	int madt = acpi_madt_cpus(st);

	if (madt == ACPI_NO_MADT || (madt >= 0 && (unsigned int)madt <= bi->nr_cpus))
		return EFI_SUCCESS;
	if (madt < 0)
		pksv_snprintf(bi->err, sizeof(bi->err),
			      "the MADT is malformed: pksvisor cannot tell which CPUs the OS could start");
	else
		pksv_snprintf(bi->err, sizeof(bi->err),
			      "the MADT lets the OS start %d CPUs, pksvisor would run on %u: the others would run natively",
			      madt, bi->nr_cpus);
	return EFI_UNSUPPORTED;
}

EFI_STATUS mp_discover(EFI_SYSTEM_TABLE *st, struct boot_info *bi)
{
	EFI_GUID guid = EFI_MP_SERVICES_PROTOCOL_GUID;
	struct efi_mp_services *mp = NULL;
	UINTN count = 0, enabled = 0;
	EFI_STATUS s;

	bi->nr_cpus = 1;
	bi->apic_id[0] = current_apic_id();
	bi->mp = NULL;
	if (EFI_ERROR(uefi_call_wrapper(st->BootServices->LocateProtocol, 3, &guid, NULL,
					(void **)&mp)) || !mp) {
		boot_err("MP: the firmware has no EFI_MP_SERVICES_PROTOCOL: only the boot CPU is virtualized");
		return madt_check(st, bi);
	}
	s = uefi_call_wrapper(mp->get_number_of_processors, 3, mp, &count, &enabled);
	if (EFI_ERROR(s)) {
		pksv_snprintf(bi->err, sizeof(bi->err),
			      "MP services: GetNumberOfProcessors failed (EFI status 0x%llx)", (u64)s);
		return s;
	}
	if (enabled > PKSV_MAX_CPUS) {
		pksv_snprintf(bi->err, sizeof(bi->err),
			      "%llu CPUs enabled, pksvisor supports %u", (u64)enabled, PKSV_MAX_CPUS);
		return EFI_UNSUPPORTED;
	}
	for (UINTN cpu = 0; cpu < count; cpu++) {
		struct efi_mp_processor_info info;

		s = uefi_call_wrapper(mp->get_processor_info, 3, mp, cpu, &info);
		if (EFI_ERROR(s)) {
			pksv_snprintf(bi->err, sizeof(bi->err),
				      "MP services: GetProcessorInfo(%llu) failed (EFI status 0x%llx)",
				      (u64)cpu, (u64)s);
			return s;
		}
		if (info.status_flag & MP_PROCESSOR_AS_BSP)
			continue;
		/*
		 * Disabled for MP services is not disabled for the OS: its MADT
		 * entry may still let the OS start it with INIT-SIPI, natively.
		 * pksvisor cannot launch it (StartupThisAP refuses a disabled
		 * AP), so all or nothing says nothing.
		 */
		if (!(info.status_flag & MP_PROCESSOR_ENABLED)) {
			pksv_snprintf(bi->err, sizeof(bi->err),
				      "MP services: CPU %llu (APIC ID %llu) is disabled: pksvisor could not run on it, but the OS could start it",
				      (u64)cpu, (u64)info.processor_id);
			return EFI_UNSUPPORTED;
		}
		bi->mp_number[bi->nr_cpus] = (u32)cpu;
		bi->apic_id[bi->nr_cpus++] = (u32)info.processor_id;
	}
	bi->mp = mp;
	boot_msg("MP: %llu CPUs (%llu enabled); virtualizing %u", (u64)count, (u64)enabled,
		 bi->nr_cpus);
	return madt_check(st, bi);
}

static void EFIAPI ap_check(void *arg)
{
	struct boot_info *bi = arg;
	int i = my_index(bi);

	if (i < 0)
		return;
	if (vmm_check_ap(bi->bsp_msrs, bi->ap[i].err, sizeof(bi->ap[i].err)))
		__atomic_store_n(&bi->ap[i].state, BOOT_AP_FAILED, __ATOMIC_RELEASE);
	else
		__atomic_store_n(&bi->ap[i].state, BOOT_AP_CHECKED, __ATOMIC_RELEASE);
}

static EFI_STATUS start_all(struct boot_info *bi, efi_mp_ap_procedure proc)
{
	struct efi_mp_services *mp = bi->mp;

	/* Single-threaded: one AP at a time; blocking (no event); no timeout. */
	return uefi_call_wrapper(mp->startup_all_aps, 7, mp, proc, TRUE, NULL, 0, bi, NULL);
}

int mp_check_aps(struct boot_info *bi, const struct vmx_msrs *bsp_msrs)
{
	EFI_STATUS s;

	if (bi->nr_cpus < 2)
		return 0;
	for (unsigned int i = 1; i < bi->nr_cpus; i++)
		bi->ap[i].state = BOOT_AP_SILENT;
	bi->bsp_msrs = bsp_msrs;
	s = start_all(bi, ap_check);
	for (unsigned int i = 1; i < bi->nr_cpus; i++) {
		struct boot_ap *ap = &bi->ap[i];

		if (ap->state == BOOT_AP_CHECKED)
			continue;
		pksv_snprintf(bi->err, sizeof(bi->err), "CPU %u (APIC ID %u): %s", i,
			      bi->apic_id[i], ap->state == BOOT_AP_FAILED ? ap->err :
			      "did not run the check (StartupAllAPs failed)");
		if (EFI_ERROR(s))
			boot_err("MP: StartupAllAPs: EFI status 0x%llx", (u64)s);
		return -1;
	}
	boot_msg("MP: all %u APs can run VMX like the boot CPU", bi->nr_cpus - 1);
	return 0;
}

static void EFIAPI ap_launch(void *arg)
{
	struct boot_info *bi = arg;
	int i = my_index(bi);
	u64 rflags;

	if (i < 0)
		return;
	/* As on the boot CPU: no interrupt between capturing state and VMLAUNCH. */
	rflags = read_rflags();
	asm volatile("cli");
	if (bi->prepare_ap(bi, (unsigned int)i)) {
		/* VMXON failed: this AP is native, efi_main fails closed. */
		__atomic_store_n(&bi->ap[i].state, BOOT_AP_FAILED, __ATOMIC_RELEASE);
	} else {
		if (vmm_launch(rflags))
			bi->ap_launch_failed(bi, (unsigned int)i);	/* parks it */
		/* Guest code from here on, on this AP. */
		__atomic_store_n(&bi->ap[i].state, BOOT_AP_RUNNING, __ATOMIC_RELEASE);
	}
	if (rflags & RFLAGS_IF)
		asm volatile("sti");
}

/*
 * How long the boot CPU waits for one AP to report: far more than a launch
 * takes (VMXON, one VMCS, VMLAUNCH), short enough not to hang the boot on
 * an AP that never answers.
 */
#define AP_LAUNCH_WAIT_US	2000000u
#define AP_LAUNCH_POLL_US	100u

/*
 * Start ap_launch on AP i without blocking (a parked AP never finishes the
 * procedure) and wait for its slot to leave BOOT_AP_SILENT.
 */
static void launch_one(struct boot_info *bi, unsigned int i)
{
	struct efi_mp_services *mp = bi->mp;
	EFI_EVENT done = NULL;
	EFI_STATUS s;

	bi->ap[i].state = BOOT_AP_SILENT;
	s = uefi_call_wrapper(BS->CreateEvent, 5, 0, 0, NULL, NULL, &done);
	if (!EFI_ERROR(s))
		s = uefi_call_wrapper(mp->startup_this_ap, 7, mp, ap_launch,
				      (UINTN)bi->mp_number[i], done, 0, bi, NULL);
	if (EFI_ERROR(s)) {
		pksv_snprintf(bi->ap[i].err, sizeof(bi->ap[i].err),
			      "StartupThisAP failed (EFI status 0x%llx)", (u64)s);
		return;
	}
	/*
	 * The event stays open: the firmware signals it when it sees the
	 * procedure finish, which for a parked AP is never; closing an event
	 * the firmware still holds would be a use after free.
	 */
	for (u32 waited = 0; waited < AP_LAUNCH_WAIT_US; waited += AP_LAUNCH_POLL_US) {
		if (__atomic_load_n(&bi->ap[i].state, __ATOMIC_ACQUIRE) != BOOT_AP_SILENT)
			return;
		uefi_call_wrapper(BS->Stall, 1, AP_LAUNCH_POLL_US);
	}
	pksv_snprintf(bi->ap[i].err, sizeof(bi->ap[i].err),
		      "did not answer within %u ms", AP_LAUNCH_WAIT_US / 1000);
}

void mp_launch_aps(struct boot_info *bi, struct mp_launch_result *res)
{
	res->native = 0;
	res->parked = 0;
	for (unsigned int i = 1; i < bi->nr_cpus; i++) {
		struct boot_ap *ap = &bi->ap[i];
		u32 state;

		launch_one(bi, i);
		state = __atomic_load_n(&ap->state, __ATOMIC_ACQUIRE);
		if (state == BOOT_AP_RUNNING)
			continue;
		if (state == BOOT_AP_PARKED) {
			res->parked++;
			boot_err("MP: CPU %u (APIC ID %u) is NOT virtualized: %s; parked in VMX root, where INIT is blocked: the guest cannot start it",
				 i, bi->apic_id[i], ap->err);
			continue;
		}
		res->native++;
		boot_err("MP: CPU %u (APIC ID %u) is NOT virtualized: %s; it is outside VMX root, the guest could start it natively",
			 i, bi->apic_id[i], state == BOOT_AP_FAILED ? ap->err :
			 ap->err[0] ? ap->err : "the launch procedure never ran");
	}
	if (!res->native && !res->parked && bi->nr_cpus > 1)
		boot_msg("MP: all %u CPUs run as guests", bi->nr_cpus);
}
