// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-launch.efi: starts EFI images with given load options, the way a
 * UEFI shell command line or a boot entry's optional data would, and
 * reports what each returned (tests/harness/run-features.sh).  It reads
 * \launch.txt from its own volume: one image per line,
 *
 *     \pksvisor.efi pks=bogus next=\pksv-features.efi
 *
 * the path, one space, then the load options verbatim (may be empty).
 * For each line it prints "PKSV-LAUNCH: start <path>", LoadImage/
 * StartImage, then "PKSV-LAUNCH: <path> returned 0x<EFI status>".  At the
 * end "PKSV-LAUNCH: done" and power-off.
 */
#include "common.h"

static EFI_SYSTEM_TABLE *g_st;
static char g_list[32768];

static void launch(EFI_HANDLE self, EFI_LOADED_IMAGE *li, const char *line, unsigned int n)
{
	static CHAR16 path[256], opts[16384];
	unsigned int i = 0, k, np, no = 0;
	EFI_DEVICE_PATH *dp;
	EFI_HANDLE child;
	EFI_LOADED_IMAGE *cli;
	EFI_GUID lip = LOADED_IMAGE_PROTOCOL;
	EFI_STATUS st;
	struct buf b = { .n = 0 };

	while (i < n && line[i] != ' ' && i + 1 < 256) {
		path[i] = line[i];
		i++;
	}
	path[i] = 0;
	np = i;
	for (k = i + 1; k < n && no + 1 < sizeof(opts) / sizeof(opts[0]); k++)
		opts[no++] = line[k];
	opts[no] = 0;
	for (k = 0; k < np; k++)
		buf_putc(&b, (char)path[k]);
	buf_fmt(&b, "%s", "");
	say("PKSV-LAUNCH: start %s (%u characters of load options)", b.s, no);
	com1_drain();

	dp = FileDevicePath(li->DeviceHandle, path);
	st = uefi_call_wrapper(g_st->BootServices->LoadImage, 6, FALSE, self, dp, NULL, 0, &child);
	if (EFI_ERROR(st)) {
		say("PKSV-LAUNCH: %s: LoadImage failed 0x%llx", b.s, (u64)st);
		return;
	}
	if (!EFI_ERROR(uefi_call_wrapper(g_st->BootServices->HandleProtocol, 3, child, &lip,
					 (void **)&cli))) {
		cli->LoadOptions = no ? opts : NULL;
		cli->LoadOptionsSize = no ? (no + 1) * sizeof(CHAR16) : 0;
	}
	st = uefi_call_wrapper(g_st->BootServices->StartImage, 3, child, NULL, NULL);
	say("PKSV-LAUNCH: %s returned 0x%llx", b.s, (u64)st);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	EFI_GUID lip = LOADED_IMAGE_PROTOCOL;
	EFI_LOADED_IMAGE *li;
	EFI_FILE_HANDLE root, f;
	UINTN len = sizeof(g_list) - 1;
	unsigned int i, start;

	InitializeLib(image, st);
	g_st = st;
	uefi_call_wrapper(st->BootServices->SetWatchdogTimer, 4, 0, 0, 0, NULL);
	com1_init();
	say("PKSV-LAUNCH: start");
	if (EFI_ERROR(uefi_call_wrapper(st->BootServices->HandleProtocol, 3, image, &lip,
					(void **)&li)) ||
	    !(root = LibOpenRoot(li->DeviceHandle)) ||
	    EFI_ERROR(uefi_call_wrapper(root->Open, 5, root, &f, L"\\launch.txt",
					EFI_FILE_MODE_READ, 0)) ||
	    EFI_ERROR(uefi_call_wrapper(f->Read, 3, f, &len, g_list))) {
		say("PKSV-LAUNCH: cannot read \\launch.txt");
		len = 0;
	}
	g_list[len] = 0;
	for (i = 0, start = 0; i <= len; i++) {
		if (i < len && g_list[i] != '\n')
			continue;
		if (i > start && g_list[start] != '#')
			launch(image, li, g_list + start, i - start - (g_list[i - 1] == '\r'));
		start = i + 1;
	}
	say("PKSV-LAUNCH: done");
	power_off(st);
	return EFI_SUCCESS;
}
