// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-mp.efi: every CPU is a pksvisor guest (issue 12, item 7).  Run as
 * pksvisor's next= image on a machine with several CPUs
 * (tests/harness/run-smp-bochs.sh efi N).  The boot CPU asks pksvisor for
 * an address inside its reservation (PKSV_HC_SELFTEST_INFO); then
 * EFI_MP_SERVICES_PROTOCOL runs probe() on every CPU (StartupThisAP for
 * each AP, the boot CPU directly), which checks:
 *   - CPUID leaf 0x40000000 carries pksvisor's signature (a native CPU
 *     would show none: the leaf is pksvisor's, not the hardware's);
 *   - a read of the reservation address returns all-ones (EPT hides it;
 *     a native CPU would read pksvisor's real memory).
 * TAP: two results per CPU, "ok N - cpu K (APIC ID A): ..."; a CPU the
 * procedure never reached fails both.  Then power-off (pksvisor prints
 * every vCPU's statistics).  The AP procedure prints nothing and calls no
 * Boot Service: it fills its own slot, the boot CPU reports.
 */
#include "common.h"

#include <pksvisor/efi_mp.h>

#define MAX_CPUS	64

struct probe {
	volatile u64 hidden_addr;
	volatile u32 ran, leaf_ok, apic_id;
	volatile u64 value;
};

static struct probe g_probe[MAX_CPUS];

static void EFIAPI probe(void *arg)
{
	struct probe *p = arg;

	p->apic_id = cpuid(1, 0).ebx >> 24;
	p->leaf_ok = pksv_present();
	p->value = *(volatile u64 *)(uintptr_t)p->hidden_addr;
	__atomic_store_n(&p->ran, 1, __ATOMIC_RELEASE);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	EFI_GUID mp_guid = EFI_MP_SERVICES_PROTOCOL_GUID;
	struct efi_mp_services *mp = NULL;
	UINTN count = 1, enabled = 1, self = 0;
	u64 addr = 0;
	long long rc = -1;

	InitializeLib(image, st);
	uefi_call_wrapper(st->BootServices->SetWatchdogTimer, 4, 0, 0, 0, NULL);
	com1_init();
	say("PKSV-MP: start");
	if (pksv_present())
		rc = pksv_hc(PKSV_HC_SELFTEST_INFO, 0, 0, 0, &addr);
	tap_ok(rc == 0 && addr && !(addr & 7), "boot CPU: SELFTEST_INFO gives a reservation address (0x%llx)",
	       addr);
	if (EFI_ERROR(uefi_call_wrapper(st->BootServices->LocateProtocol, 3, &mp_guid, NULL,
					(void **)&mp)) || !mp ||
	    EFI_ERROR(uefi_call_wrapper(mp->get_number_of_processors, 3, mp, &count, &enabled)) ||
	    EFI_ERROR(uefi_call_wrapper(mp->who_am_i, 2, mp, &self))) {
		tap_ok(0, "EFI_MP_SERVICES_PROTOCOL present");
		mp = NULL;
		count = 1;
	}
	if (count > MAX_CPUS)
		count = MAX_CPUS;
	say("PKSV-MP: %llu CPUs (%llu enabled), boot CPU is number %llu", (u64)count, (u64)enabled,
	    (u64)self);
	for (UINTN cpu = 0; cpu < count; cpu++) {
		struct probe *p = &g_probe[cpu];

		p->hidden_addr = addr;
		if (cpu == self) {
			probe(p);
			continue;
		}
		EFI_STATUS s = uefi_call_wrapper(mp->startup_this_ap, 7, mp, probe, cpu, NULL, 0,
						 p, NULL);
		if (EFI_ERROR(s))
			say("PKSV-MP: StartupThisAP(%llu): EFI status 0x%llx", (u64)cpu, (u64)s);
	}
	for (UINTN cpu = 0; cpu < count; cpu++) {
		struct probe *p = &g_probe[cpu];

		tap_ok(p->ran && p->leaf_ok, "cpu %llu (APIC ID %u): CPUID 0x40000000 is pksvisor's",
		       (u64)cpu, p->apic_id);
		tap_ok(p->ran && addr && p->value == ~0ull,
		       "cpu %llu (APIC ID %u): the reservation reads all-ones (0x%llx)",
		       (u64)cpu, p->apic_id, p->value);
	}
	say("1..%u", tap_num);
	say("PKSV-MP: done, %u of %u failed", tap_failed, tap_num);
	power_off(st);
}
