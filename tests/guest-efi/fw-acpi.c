// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * fw-acpi.efi: TEST-ONLY stand-in for the ACPI tables of a real machine's
 * firmware.  Never part of pksvisor.
 *
 * OVMF running in Bochs finds no QEMU fw_cfg and so publishes no ACPI
 * tables: Linux then sees one CPU and no I/O APIC.  A real machine's
 * firmware always publishes them.  This program, started by the boot
 * manager before pksvisor (it is \EFI\BOOT\BOOTX64.EFI of the test ESP),
 * builds what such firmware would and installs it through
 * EFI_ACPI_TABLE_PROTOCOL (UEFI 2.10 20.2), which creates the RSDP and
 * XSDT and links the FADT to the FACS and DSDT:
 *
 *   FACS   ACPI 6.5 5.2.10, no waking vector (no S3 here)
 *   DSDT   ACPI 6.5 5.2.11.1, no AML at all (no devices, no \_Sx)
 *   FACP   ACPI 6.5 5.2.9, PIIX4 PM block at 0x600 as OVMF programs it
 *          on an i440FX (PM1a_EVT 0x600, PM1a_CNT 0x604, PM_TMR 0x608),
 *          SCI on IRQ 9, no SMI command port (always in ACPI mode)
 *   APIC   ACPI 6.5 5.2.12 (MADT): one Processor Local APIC (5.2.12.2)
 *          per CPU that EFI_MP_SERVICES_PROTOCOL reports, with its APIC
 *          ID; the I/O APIC (5.2.12.3) with the ID read from its own
 *          register; ISA overrides IRQ0 -> GSI 2 and IRQ9 level/high
 *          (5.2.12.5); LINT1 as NMI for every CPU (5.2.12.7)
 *
 * With a file \EFI\BOOT\fw-madt-extra on the ESP the MADT also lists one
 * processor that does not exist, Online Capable (APIC ID 0x7e): a CPU the
 * OS may start that MP services do not report (run-smp-bochs.sh
 * madt-extra: pksvisor must refuse to virtualize such a machine).
 *
 * Then it starts the image named in \EFI\BOOT\fw-next.txt (one line: the
 * path, one space, the load options verbatim), e.g. pksvisor or Linux,
 * and powers off if that returns.  Serial lines start with "PKSV-FW:".
 * tests/harness/run-smp-bochs.sh builds the ESP; docs/testing.md.
 */
#include "common.h"

#include <pksvisor/acpi_table.h>
#include <pksvisor/efi_mp.h>

#define ACPI_TABLE_PROTOCOL_GUID \
	{ 0xffe06bdd, 0x6107, 0x46a6, { 0x7b, 0xb2, 0x5a, 0x9c, 0x7e, 0xc5, 0x27, 0x5c } }

struct acpi_table_protocol {
	EFI_STATUS (EFIAPI *install)(struct acpi_table_protocol *self, void *table,
				     UINTN size, UINTN *key);
	EFI_STATUS (EFIAPI *uninstall)(struct acpi_table_protocol *self, UINTN key);
};

#define FW_MAX_CPUS		64
#define IOAPIC_BASE		0xfec00000ull
#define LAPIC_BASE		0xfee00000u
#define PIIX4_PM_BASE		0x600u
#define SCI_IRQ			9

/* ACPI 6.5 5.2.3.2 Generic Address Structure. */
struct acpi_gas {
	u8 space_id, bit_width, bit_offset, access_size;
	u64 address;
} __attribute__((packed));

#define GAS_IO(port, bits, acc) \
	((struct acpi_gas){ .space_id = 1, .bit_width = (bits), .access_size = (acc), \
			    .address = (port) })

/* ACPI 6.5 Table 5.9, FADT revision 6 (276 bytes). */
struct acpi_fadt {
	struct acpi_header h;
	u32 firmware_ctrl, dsdt;
	u8 reserved0, preferred_pm_profile;
	u16 sci_int;
	u32 smi_cmd;
	u8 acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	u32 pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	u32 pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	u8 pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	u8 gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	u16 p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	u8 duty_offset, duty_width, day_alrm, mon_alrm, century;
	u16 iapc_boot_arch;
	u8 reserved1;
	u32 flags;
	struct acpi_gas reset_reg;
	u8 reset_value;
	u16 arm_boot_arch;
	u8 fadt_minor_version;
	u64 x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg, sleep_status_reg;
	u64 hypervisor_vendor_identity;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 is 276 bytes");

/* ACPI 6.5 5.2.10 (64 bytes, no checksum field of the usual kind). */
struct acpi_facs {
	char signature[4];
	u32 length, hardware_signature, firmware_waking_vector, global_lock, flags;
	u64 x_firmware_waking_vector;
	u8 version, reserved[3];
	u32 ospm_flags;
	u8 reserved2[24];
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_facs) == 64, "FACS is 64 bytes");

struct madt_lapic {
	u8 type, length, uid, apic_id;
	u32 flags;
} __attribute__((packed));

struct madt_ioapic {
	u8 type, length, id, reserved;
	u32 address, gsi_base;
} __attribute__((packed));

struct madt_iso {
	u8 type, length, bus, source;
	u32 gsi;
	u16 flags;
} __attribute__((packed));

struct madt_lapic_nmi {
	u8 type, length, uid;
	u16 flags;
	u8 lint;
} __attribute__((packed));

struct acpi_madt {
	struct acpi_header h;
	u32 lapic_address, flags;
	struct madt_lapic lapic[FW_MAX_CPUS];
	struct madt_ioapic ioapic;
	struct madt_iso iso[2];
	struct madt_lapic_nmi nmi;
} __attribute__((packed));

static EFI_SYSTEM_TABLE *g_st;

static void fw_zero(void *p, UINTN n)
{
	volatile u8 *d = p;

	while (n--)
		*d++ = 0;
}

static void fw_copy(void *dst, const void *src, UINTN n)
{
	volatile u8 *d = dst;
	const u8 *s = src;

	while (n--)
		*d++ = *s++;
}

static void header_init(struct acpi_header *h, const char sig[4], u32 length, u8 revision)
{
	for (int i = 0; i < 4; i++)
		h->signature[i] = sig[i];
	h->length = length;
	h->revision = revision;
	for (int i = 0; i < 6; i++)
		h->oem_id[i] = "PKSVTS"[i];
	for (int i = 0; i < 8; i++)
		h->oem_table_id[i] = "TESTFW  "[i];
	h->oem_revision = 1;
	h->creator_id = 0x56534b50;	/* "PKSV" */
	h->creator_revision = 1;
}

/* ACPI 6.5 5.2.6: all bytes of the table, checksum included, sum to 0. */
static void checksum_set(struct acpi_header *h)
{
	const u8 *p = (const u8 *)h;
	u8 sum = 0;

	h->checksum = 0;
	for (u32 i = 0; i < h->length; i++)
		sum = (u8)(sum + p[i]);
	h->checksum = (u8)(0 - sum);
}

static EFI_STATUS install(struct acpi_table_protocol *atp, const char *name, void *table,
			  UINTN size)
{
	UINTN key;
	EFI_STATUS st = uefi_call_wrapper(atp->install, 4, atp, table, size, &key);

	if (EFI_ERROR(st))
		say("PKSV-FW: installing %s failed: EFI status 0x%llx", name, (u64)st);
	return st;
}

/* 82093AA I/O APIC: IOREGSEL at +0, IOWIN at +0x10; register 0 ID, 1 version. */
static u32 ioapic_read(u32 reg)
{
	*(volatile u32 *)(uintptr_t)IOAPIC_BASE = reg;
	return *(volatile u32 *)(uintptr_t)(IOAPIC_BASE + 0x10);
}

/* The file \EFI\BOOT\fw-madt-extra exists on the ESP this image came from. */
static int want_madt_extra(EFI_HANDLE self)
{
	EFI_GUID lip = LOADED_IMAGE_PROTOCOL;
	EFI_LOADED_IMAGE *li;
	EFI_FILE_HANDLE root, f;

	if (EFI_ERROR(uefi_call_wrapper(g_st->BootServices->HandleProtocol, 3, self, &lip,
					(void **)&li)) ||
	    !(root = LibOpenRoot(li->DeviceHandle)) ||
	    EFI_ERROR(uefi_call_wrapper(root->Open, 5, root, &f, L"\\EFI\\BOOT\\fw-madt-extra",
					EFI_FILE_MODE_READ, 0)))
		return 0;
	uefi_call_wrapper(f->Close, 1, f);
	return 1;
}

static unsigned int build_madt(struct acpi_madt *m, struct efi_mp_services *mp, int extra)
{
	UINTN count = 1, enabled = 1;
	unsigned int n = 0;

	fw_zero(m, sizeof(*m));
	if (mp) {
		EFI_STATUS st = uefi_call_wrapper(mp->get_number_of_processors, 3, mp,
						  &count, &enabled);

		say("PKSV-FW: MP services: %llu CPUs, %llu enabled (EFI status 0x%llx)",
		    (u64)count, (u64)enabled, (u64)st);
		if (EFI_ERROR(st))
			count = 0;
	}
	if (count > FW_MAX_CPUS)
		count = FW_MAX_CPUS;
	for (UINTN cpu = 0; cpu < count; cpu++) {
		struct efi_mp_processor_info info = { 0 };
		struct madt_lapic *l = &m->lapic[n];

		if (mp) {
			EFI_STATUS st = uefi_call_wrapper(mp->get_processor_info, 3, mp,
							  cpu, &info);

			if (EFI_ERROR(st)) {
				say("PKSV-FW: cpu %llu: GetProcessorInfo EFI status 0x%llx",
				    (u64)cpu, (u64)st);
				continue;
			}
		} else {
			info.processor_id = cpuid(1, 0).ebx >> 24;
			info.status_flag = MP_PROCESSOR_ENABLED | MP_PROCESSOR_AS_BSP;
		}
		l->type = 0;
		l->length = sizeof(*l);
		l->uid = (u8)n;
		l->apic_id = (u8)info.processor_id;
		l->flags = (info.status_flag & MP_PROCESSOR_ENABLED) ? 1 : 0;
		say("PKSV-FW: cpu %u: APIC ID %llu%s%s", n, (u64)info.processor_id,
		    (info.status_flag & MP_PROCESSOR_AS_BSP) ? " (BSP)" : "",
		    (info.status_flag & MP_PROCESSOR_ENABLED) ? "" : " (disabled)");
		n++;
	}
	if (extra && n < FW_MAX_CPUS) {
		struct madt_lapic *l = &m->lapic[n];

		l->type = 0;
		l->length = sizeof(*l);
		l->uid = (u8)n;
		l->apic_id = 0x7e;
		l->flags = 0x2;		/* Online Capable (ACPI 6.5 Table 5.23) */
		say("PKSV-FW: cpu %u: APIC ID 126 (not in MP services, online capable)", n);
		n++;
	}
	/* Entries follow each other: move the rest down after the n LAPICs. */
	u8 *p = (u8 *)&m->lapic[n];
	struct madt_ioapic io = {
		.type = 1, .length = sizeof(io), .id = (u8)((ioapic_read(0) >> 24) & 0xf),
		.address = (u32)IOAPIC_BASE, .gsi_base = 0,
	};
	/* Bus 0 (ISA); flags: polarity bits 1:0, trigger bits 3:2 (Table 5.26). */
	struct madt_iso iso0 = { .type = 2, .length = sizeof(iso0), .source = 0, .gsi = 2 };
	struct madt_iso iso9 = { .type = 2, .length = sizeof(iso9), .source = SCI_IRQ,
				 .gsi = SCI_IRQ, .flags = 0x1 | (0x3 << 2) };
	struct madt_lapic_nmi nmi = { .type = 4, .length = sizeof(nmi), .uid = 0xff,
				      .flags = 0, .lint = 1 };

	fw_copy(p, &io, sizeof(io));
	p += sizeof(io);
	fw_copy(p, &iso0, sizeof(iso0));
	p += sizeof(iso0);
	fw_copy(p, &iso9, sizeof(iso9));
	p += sizeof(iso9);
	fw_copy(p, &nmi, sizeof(nmi));
	p += sizeof(nmi);
	header_init(&m->h, "APIC", (u32)(p - (u8 *)m), 5);
	m->lapic_address = LAPIC_BASE;
	m->flags = 1;			/* PCAT_COMPAT: there are 8259s too */
	checksum_set(&m->h);
	say("PKSV-FW: I/O APIC ID %u, %u redirection entries", io.id,
	    ((ioapic_read(1) >> 16) & 0xff) + 1);
	return n;
}

static void build_fadt(struct acpi_fadt *f)
{
	fw_zero(f, sizeof(*f));
	header_init(&f->h, "FACP", sizeof(*f), 6);
	f->fadt_minor_version = 5;
	f->sci_int = SCI_IRQ;
	f->pm1a_evt_blk = PIIX4_PM_BASE;
	f->pm1a_cnt_blk = PIIX4_PM_BASE + 4;
	f->pm_tmr_blk = PIIX4_PM_BASE + 8;
	f->pm1_evt_len = 4;
	f->pm1_cnt_len = 2;
	f->pm_tmr_len = 4;
	f->p_lvl2_lat = 101;		/* > 100: C2 not supported */
	f->p_lvl3_lat = 1001;		/* > 1000: C3 not supported */
	f->century = 0x32;		/* CMOS century register */
	f->iapc_boot_arch = 0x3;	/* LEGACY_DEVICES, 8042 */
	/* WBINVD, PROC_C1, PWR_BUTTON and SLP_BUTTON (none as fixed features). */
	f->flags = (1u << 0) | (1u << 2) | (1u << 4) | (1u << 5);
	f->x_pm1a_evt_blk = GAS_IO(PIIX4_PM_BASE, 32, 2);
	f->x_pm1a_cnt_blk = GAS_IO(PIIX4_PM_BASE + 4, 16, 2);
	f->x_pm_tmr_blk = GAS_IO(PIIX4_PM_BASE + 8, 32, 3);
	checksum_set(&f->h);
}

static void start_next(EFI_HANDLE self)
{
	static char text[4096];
	static CHAR16 path[256], opts[4096];
	EFI_GUID lip = LOADED_IMAGE_PROTOCOL;
	EFI_LOADED_IMAGE *li, *cli;
	EFI_FILE_HANDLE root, f;
	EFI_HANDLE child;
	UINTN len = sizeof(text) - 1;
	unsigned int i = 0, np, no = 0;
	EFI_STATUS st;
	struct buf b = { .n = 0 };

	if (EFI_ERROR(uefi_call_wrapper(g_st->BootServices->HandleProtocol, 3, self, &lip,
					(void **)&li)) ||
	    !(root = LibOpenRoot(li->DeviceHandle)) ||
	    EFI_ERROR(uefi_call_wrapper(root->Open, 5, root, &f, L"\\EFI\\BOOT\\fw-next.txt",
					EFI_FILE_MODE_READ, 0)) ||
	    EFI_ERROR(uefi_call_wrapper(f->Read, 3, f, &len, text))) {
		say("PKSV-FW: cannot read \\EFI\\BOOT\\fw-next.txt: nothing to start");
		return;
	}
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	while (i < len && text[i] != ' ' && i + 1 < 256) {
		path[i] = (CHAR16)text[i];
		buf_putc(&b, text[i]);
		i++;
	}
	path[i] = 0;
	np = i;
	for (i = np + 1; i < len && no + 1 < sizeof(opts) / sizeof(opts[0]); i++)
		opts[no++] = (CHAR16)text[i];
	opts[no] = 0;
	buf_fmt(&b, "%s", "");
	st = uefi_call_wrapper(g_st->BootServices->LoadImage, 6, FALSE, self,
			       FileDevicePath(li->DeviceHandle, path), NULL, 0, &child);
	if (EFI_ERROR(st)) {
		say("PKSV-FW: LoadImage %s failed: EFI status 0x%llx", b.s, (u64)st);
		return;
	}
	if (!EFI_ERROR(uefi_call_wrapper(g_st->BootServices->HandleProtocol, 3, child, &lip,
					 (void **)&cli))) {
		cli->LoadOptions = no ? opts : NULL;
		cli->LoadOptionsSize = no ? (no + 1) * sizeof(CHAR16) : 0;
	}
	say("PKSV-FW: starting %s", b.s);
	com1_drain();
	st = uefi_call_wrapper(g_st->BootServices->StartImage, 3, child, NULL, NULL);
	say("PKSV-FW: %s returned EFI status 0x%llx", b.s, (u64)st);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	static struct acpi_facs facs __attribute__((aligned(64)));
	static struct acpi_header dsdt;
	static struct acpi_fadt fadt;
	static struct acpi_madt madt;
	EFI_GUID atp_guid = ACPI_TABLE_PROTOCOL_GUID, mp_guid = EFI_MP_SERVICES_PROTOCOL_GUID;
	struct acpi_table_protocol *atp = NULL;
	struct efi_mp_services *mp = NULL;
	unsigned int cpus;

	InitializeLib(image, st);
	g_st = st;
	uefi_call_wrapper(st->BootServices->SetWatchdogTimer, 4, 0, 0, 0, NULL);
	com1_init();
	say("PKSV-FW: test firmware ACPI tables (tests/guest-efi/fw-acpi.c, not pksvisor)");
	if (EFI_ERROR(uefi_call_wrapper(st->BootServices->LocateProtocol, 3, &mp_guid, NULL,
					(void **)&mp)))
		mp = NULL;
	if (!mp)
		say("PKSV-FW: no EFI_MP_SERVICES_PROTOCOL: the MADT lists the boot CPU only");
	if (EFI_ERROR(uefi_call_wrapper(st->BootServices->LocateProtocol, 3, &atp_guid, NULL,
					(void **)&atp))) {
		say("PKSV-FW: no EFI_ACPI_TABLE_PROTOCOL: no tables installed");
	} else {
		fw_zero(&facs, sizeof(facs));
		facs.signature[0] = 'F'; facs.signature[1] = 'A';
		facs.signature[2] = 'C'; facs.signature[3] = 'S';
		facs.length = sizeof(facs);
		facs.version = 2;
		fw_zero(&dsdt, sizeof(dsdt));
		header_init(&dsdt, "DSDT", sizeof(dsdt), 2);
		checksum_set(&dsdt);
		build_fadt(&fadt);
		cpus = build_madt(&madt, mp, want_madt_extra(image));
		if (!install(atp, "FACS", &facs, sizeof(facs)) &&
		    !install(atp, "DSDT", &dsdt, sizeof(dsdt)) &&
		    !install(atp, "FACP", &fadt, sizeof(fadt)) &&
		    !install(atp, "APIC", &madt, madt.h.length))
			say("PKSV-FW: installed FACS DSDT FACP APIC (MADT: %u CPUs)", cpus);
	}
	start_next(image);
	power_off(st);
}
