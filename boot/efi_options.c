// SPDX-License-Identifier: MIT
/*
 * Where pksvisor's options come from: the load options (the UEFI shell
 * command line, or a boot entry's optional data) when they hold any
 * key=value text, otherwise pksvisor.cfg in the directory of pksvisor.efi.
 */
#include <efi.h>
#include <efilib.h>
#include <pksvisor/format.h>
#include "boot.h"

#define CFG_NAME	L"pksvisor.cfg"
#define CFG_MAX		PKSV_CFG_MAX	/* bytes of options, from either source */

/* options_to_ascii: the options do not fit in CFG_MAX bytes. */
#define OPTIONS_TOO_LONG	((UINTN)-1)

/*
 * UTF-16 load options to ASCII.  The shell passes the image's own path as
 * the first word; drop a first word without '='.  Returns the length, or
 * 0 when the options are empty or not text (boot entries may carry binary
 * data), OPTIONS_TOO_LONG when they do not fit in outlen - 1 characters
 * (cutting them would silently drop options).
 */
static UINTN options_to_ascii(const CHAR16 *opt, UINTN bytes, char *out, UINTN outlen)
{
	UINTN n = 0, i = 0, chars = bytes / 2;
	bool first_has_eq = false;

	if (!opt || !chars)
		return 0;
	for (UINTN k = 0; k < chars && opt[k] && opt[k] != L' '; k++)
		if (opt[k] == L'=')
			first_has_eq = true;
	if (!first_has_eq)
		while (i < chars && opt[i] && opt[i] != L' ')
			i++;
	for (; i < chars && opt[i]; i++) {
		if (opt[i] > 0x7e || (opt[i] < 0x20 && opt[i] != L'\t'))
			return 0;
		if (n + 1 >= outlen)
			return OPTIONS_TOO_LONG;
		out[n++] = (char)opt[i];
	}
	out[n] = 0;
	for (UINTN k = 0; k < n; k++)
		if (out[k] != ' ' && out[k] != '\t')
			return n;
	return 0;
}

static EFI_STATUS read_cfg_file(EFI_LOADED_IMAGE *li, char *buf, UINTN *len)
{
	EFI_FILE_HANDLE root, file;
	CHAR16 *path, *dir, *slash = NULL;
	EFI_STATUS st;
	UINTN plen, want = *len;

	root = LibOpenRoot(li->DeviceHandle);
	if (!root)
		return EFI_NOT_FOUND;
	path = DevicePathToStr(li->FilePath);
	if (!path)
		return EFI_OUT_OF_RESOURCES;
	plen = StrLen(path);
	dir = AllocateZeroPool((plen + StrLen(CFG_NAME) + 2) * sizeof(CHAR16));
	if (!dir)
		return EFI_OUT_OF_RESOURCES;
	StrCpy(dir, path);
	for (CHAR16 *p = dir; *p; p++)
		if (*p == L'\\' || *p == L'/')
			slash = p;
	if (slash)
		slash[1] = 0;
	else
		dir[0] = 0;
	StrCat(dir, CFG_NAME);
	st = uefi_call_wrapper(root->Open, 5, root, &file, dir, EFI_FILE_MODE_READ, 0);
	FreePool(dir);
	FreePool(path);
	if (EFI_ERROR(st))
		return st;
	st = uefi_call_wrapper(file->Read, 3, file, len, buf);
	/*
	 * A file that fills the buffer may go on: read one byte more.  Cutting
	 * it would silently change its meaning ("stats=30" read as "stats=3"),
	 * and tools/pksvisor-cfgcheck refuses such files, so pksvisor must too.
	 */
	if (!EFI_ERROR(st) && *len == want) {
		char extra;
		UINTN one = 1;

		if (!EFI_ERROR(uefi_call_wrapper(file->Read, 3, file, &one, &extra)) &&
		    one)
			st = EFI_BUFFER_TOO_SMALL;
	}
	uefi_call_wrapper(file->Close, 1, file);
	return st;
}

EFI_STATUS boot_read_config(EFI_HANDLE image, EFI_LOADED_IMAGE *li,
			    struct pksv_config *cfg)
{
	/* One byte more than accepted: a longer file shows as len > CFG_MAX. */
	static char text[CFG_MAX + 2];
	char err[200];
	UINTN len;
	EFI_STATUS st;
	const char *source = "load options";

	config_defaults(cfg);
	len = options_to_ascii(li->LoadOptions, li->LoadOptionsSize, text, CFG_MAX + 1);
	if (len == OPTIONS_TOO_LONG) {
		boot_msg("load options: longer than %u characters: refusing them "
			 "rather than dropping the rest", CFG_MAX);
		return EFI_INVALID_PARAMETER;
	}
	if (!len) {
		len = CFG_MAX + 1;
		st = read_cfg_file(li, text, &len);
		if (st == EFI_BUFFER_TOO_SMALL) {
			boot_msg("pksvisor.cfg: longer than the %u bytes pksvisor reads: "
				 "refusing it rather than dropping the rest", CFG_MAX);
			return EFI_INVALID_PARAMETER;
		}
		if (EFI_ERROR(st)) {
			boot_msg("no options and no pksvisor.cfg beside the image: using defaults");
			len = 0;
		}
		source = "pksvisor.cfg";
		if (len > CFG_MAX) {
			boot_msg("pksvisor.cfg: longer than the %u bytes pksvisor reads: "
				 "refusing it rather than dropping the rest", CFG_MAX);
			return EFI_INVALID_PARAMETER;
		}
		text[len] = 0;
	}
	if (config_parse(cfg, text, len, err, sizeof(err))) {
		boot_msg("%s: %s", source, err);
		return EFI_INVALID_PARAMETER;
	}
	return EFI_SUCCESS;
}

EFI_STATUS boot_chainload(EFI_HANDLE image, EFI_LOADED_IMAGE *li,
			  const struct pksv_config *cfg)
{
	EFI_GUID lip = LOADED_IMAGE_PROTOCOL;
	EFI_DEVICE_PATH *dp;
	EFI_LOADED_IMAGE *child_li;
	EFI_HANDLE child;
	CHAR16 *wpath, *wargs;
	UINTN plen = pksv_strlen(cfg->next), alen = pksv_strlen(cfg->args);
	EFI_STATUS st;

	if (!plen) {
		boot_msg("no next= image configured: returning to the firmware");
		return EFI_SUCCESS;
	}
	wpath = AllocateZeroPool((plen + 1) * sizeof(CHAR16));
	wargs = AllocateZeroPool((alen + 1) * sizeof(CHAR16));
	if (!wpath || !wargs)
		return EFI_OUT_OF_RESOURCES;
	for (UINTN i = 0; i < plen; i++)
		wpath[i] = cfg->next[i] == '/' ? L'\\' : (CHAR16)cfg->next[i];
	for (UINTN i = 0; i < alen; i++)
		wargs[i] = (CHAR16)cfg->args[i];

	dp = FileDevicePath(li->DeviceHandle, wpath);
	if (!dp)
		return EFI_OUT_OF_RESOURCES;
	st = uefi_call_wrapper(BS->LoadImage, 6, FALSE, image, dp, NULL, 0, &child);
	if (EFI_ERROR(st)) {
		boot_msg("cannot load next image '%s' (EFI status 0x%llx)",
			 cfg->next, (u64)st);
		return st;
	}
	st = uefi_call_wrapper(BS->HandleProtocol, 3, child, &lip, (void **)&child_li);
	if (!EFI_ERROR(st) && alen) {
		child_li->LoadOptions = wargs;
		child_li->LoadOptionsSize = (alen + 1) * sizeof(CHAR16);
	}
	boot_msg("starting %s", cfg->next);
	st = uefi_call_wrapper(BS->StartImage, 3, child, NULL, NULL);
	boot_msg("%s returned EFI status 0x%llx", cfg->next, (u64)st);
	return st;
}
