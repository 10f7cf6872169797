// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-apstart.efi: a CPU pksvisor could not launch must never run guest
 * code natively (review finding 10; run-smp-bochs.sh apfail-vmlaunch and
 * apfail-vmxon, with a test build of pksvisor whose vCPU 1 fails).  Run as
 * pksvisor's next= image on 2 CPUs, it does what a guest kernel could do
 * to such a CPU: INIT-SIPI-SIPI (MP spec B.4, as Linux's wakeup_secondary_
 * cpu_via_init does it) with the start-up vector of a real-mode trampoline
 * below 1 MiB.  The trampoline only writes a flag and halts; if the flag
 * is set the CPU ran code of the guest's choosing outside pksvisor.
 *
 * The target is the first AP in EFI_MP_SERVICES_PROTOCOL's list; the ICR
 * is written through the xAPIC page or, in x2APIC mode, MSR 0x830 (SDM
 * Vol. 3A 10.6.1, 10.12.9).  TAP: the AP was found; the trampoline did not
 * run.  Then power-off.  Under a fixed pksvisor the AP is parked in VMX
 * root, where INIT is blocked (SDM Vol. 3C 24.8), and the SIPIs are
 * ignored outside wait-for-SIPI; under the old one it had left VMX and
 * idled in the firmware, and the trampoline ran.
 */
#include "common.h"

#include <pksvisor/efi_mp.h>

#define MSR_APIC_BASE		0x1b
#define APIC_BASE_X2APIC	(1ull << 10)
#define MSR_X2APIC_ICR		0x830
#define XAPIC_ICR_LO		0x300
#define XAPIC_ICR_HI		0x310
#define ICR_INIT_ASSERT		0x00004500u	/* INIT, level, assert */
#define ICR_STARTUP		0x00004600u	/* start-up; vector = page number */
#define ICR_BUSY		(1u << 12)	/* xAPIC delivery status */

#define FLAG_OFFSET		0x100
#define FLAG_RAN		0x4e55525fu	/* "_RUN" */

/*
 * Real mode at CS = page >> 4, IP = 0: DS = CS, store FLAG_RAN at
 * DS:FLAG_OFFSET, then cli; hlt forever.
 */
static const u8 trampoline[] = {
	0x8c, 0xc8,				/* mov ax, cs */
	0x8e, 0xd8,				/* mov ds, ax */
	0x66, 0xc7, 0x06, FLAG_OFFSET & 0xff, FLAG_OFFSET >> 8,
	FLAG_RAN & 0xff, (FLAG_RAN >> 8) & 0xff,
	(FLAG_RAN >> 16) & 0xff, FLAG_RAN >> 24, /* mov dword [0x100], FLAG_RAN */
	0xfa,					/* cli */
	0xf4,					/* hlt */
	0xeb, 0xfd,				/* jmp back to the hlt */
};


static void send_ipi(u32 apic_id, u32 icr_lo)
{
	u64 base = rdmsr(MSR_APIC_BASE);
	volatile u32 *apic = (volatile u32 *)(uintptr_t)(base & ~0xfffull);

	if (base & APIC_BASE_X2APIC) {
		wrmsr(MSR_X2APIC_ICR, ((u64)apic_id << 32) | icr_lo);
		return;
	}
	apic[XAPIC_ICR_HI / 4] = apic_id << 24;
	apic[XAPIC_ICR_LO / 4] = icr_lo;
	for (unsigned int i = 0; i < 100000 && (apic[XAPIC_ICR_LO / 4] & ICR_BUSY); i++)
		__asm__ volatile("pause");
}

/* The first processor that is not the boot CPU; its APIC ID in *apic_id. */
static int find_ap(EFI_SYSTEM_TABLE *st, u32 *apic_id)
{
	EFI_GUID mp_guid = EFI_MP_SERVICES_PROTOCOL_GUID;
	struct efi_mp_services *mp = NULL;
	UINTN count = 0, enabled = 0;

	if (EFI_ERROR(uefi_call_wrapper(st->BootServices->LocateProtocol, 3, &mp_guid, NULL,
					(void **)&mp)) || !mp ||
	    EFI_ERROR(uefi_call_wrapper(mp->get_number_of_processors, 3, mp, &count, &enabled)))
		return -1;
	for (UINTN cpu = 0; cpu < count; cpu++) {
		struct efi_mp_processor_info info;

		if (EFI_ERROR(uefi_call_wrapper(mp->get_processor_info, 3, mp, cpu, &info)))
			continue;
		if (info.status_flag & MP_PROCESSOR_AS_BSP)
			continue;
		*apic_id = (u32)info.processor_id;
		return 0;
	}
	return -1;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	EFI_PHYSICAL_ADDRESS page = 0x9f000;	/* highest page start below 640 KiB */
	volatile u32 *flag;
	u32 apic_id = 0;
	int found;

	InitializeLib(image, st);
	uefi_call_wrapper(st->BootServices->SetWatchdogTimer, 4, 0, 0, 0, NULL);
	com1_init();
	say("PKSV-APSTART: start");
	found = find_ap(st, &apic_id) == 0;
	tap_ok(found, "an AP in the MP services list (APIC ID %u)", apic_id);
	if (EFI_ERROR(uefi_call_wrapper(st->BootServices->AllocatePages, 4, AllocateMaxAddress,
					EfiLoaderData, 1, &page))) {
		tap_ok(0, "a page below 1 MiB for the trampoline");
		found = 0;
	}
	if (found) {
		u8 *code = (u8 *)(uintptr_t)page;

		for (unsigned int i = 0; i < sizeof(trampoline); i++)
			code[i] = trampoline[i];
		flag = (volatile u32 *)(uintptr_t)(page + FLAG_OFFSET);
		*flag = 0;
		say("PKSV-APSTART: INIT-SIPI-SIPI to APIC ID %u, trampoline at 0x%llx", apic_id,
		    (u64)page);
		send_ipi(apic_id, ICR_INIT_ASSERT);
		uefi_call_wrapper(st->BootServices->Stall, 1, 10000);
		send_ipi(apic_id, ICR_STARTUP | (u32)(page >> 12));
		uefi_call_wrapper(st->BootServices->Stall, 1, 200);
		send_ipi(apic_id, ICR_STARTUP | (u32)(page >> 12));
		/* Linux waits up to 10 s for a callin; the trampoline takes microseconds. */
		uefi_call_wrapper(st->BootServices->Stall, 1, 200000);
		say("PKSV-APSTART: trampoline flag 0x%08x", *flag);
		tap_ok(*flag != FLAG_RAN, "the AP (APIC ID %u) did not run the guest's trampoline",
		       apic_id);
	}
	say("1..%u", tap_num);
	say("PKSV-APSTART: done, %u of %u failed", tap_failed, tap_num);
	power_off(st);
}
