/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * efi_mp.h: EFI_MP_SERVICES_PROTOCOL, which gnu-efi does not declare.
 * Layout and GUID from the UEFI Platform Initialization specification,
 * Vol. 2 (DXE), "MP Services Protocol".  Used by pksvisor (boot/, to start
 * on every CPU) and by the EFI test programs (tests/guest-efi/); only EFI
 * code includes it (it needs <efi.h>).
 *
 * Every member uses the Microsoft x64 ABI (EFIAPI, which gnu-efi defines
 * as ms_abi here: without it the arguments land in the wrong registers).
 * An AP procedure is called by the firmware with that ABI too.
 */
#ifndef PKSVISOR_EFI_MP_H
#define PKSVISOR_EFI_MP_H

#include <efi.h>

#define EFI_MP_SERVICES_PROTOCOL_GUID \
	{ 0x3fdda605, 0xa76e, 0x4f46, { 0xad, 0x29, 0x12, 0xf4, 0x53, 0x1b, 0x3d, 0x08 } }

/* EFI_PROCESSOR_INFORMATION.StatusFlag bits. */
#define MP_PROCESSOR_AS_BSP	0x1u
#define MP_PROCESSOR_ENABLED	0x2u
#define MP_PROCESSOR_HEALTHY	0x4u

struct efi_mp_cpu_location {
	UINT32 package, core, thread;
};

/* ProcessorId is the CPU's initial APIC ID (CPUID.1:EBX[31:24] or x2APIC). */
struct efi_mp_processor_info {
	UINT64 processor_id;
	UINT32 status_flag;
	struct efi_mp_cpu_location location;
};

typedef void (EFIAPI *efi_mp_ap_procedure)(void *arg);

struct efi_mp_services {
	EFI_STATUS (EFIAPI *get_number_of_processors)(struct efi_mp_services *self,
					       UINTN *count, UINTN *enabled);
	EFI_STATUS (EFIAPI *get_processor_info)(struct efi_mp_services *self, UINTN cpu,
					 struct efi_mp_processor_info *info);
	EFI_STATUS (EFIAPI *startup_all_aps)(struct efi_mp_services *self,
				      efi_mp_ap_procedure proc, BOOLEAN single_thread,
				      EFI_EVENT wait_event, UINTN timeout_us,
				      void *arg, UINTN **failed_cpu_list);
	EFI_STATUS (EFIAPI *startup_this_ap)(struct efi_mp_services *self,
				      efi_mp_ap_procedure proc, UINTN cpu,
				      EFI_EVENT wait_event, UINTN timeout_us,
				      void *arg, BOOLEAN *finished);
	EFI_STATUS (EFIAPI *switch_bsp)(struct efi_mp_services *self, UINTN cpu,
				 BOOLEAN enable_old_bsp);
	EFI_STATUS (EFIAPI *enable_disable_ap)(struct efi_mp_services *self, UINTN cpu,
					BOOLEAN enable, UINT32 *health);
	EFI_STATUS (EFIAPI *who_am_i)(struct efi_mp_services *self, UINTN *cpu);
};

#endif
