/* SPDX-License-Identifier: MIT */
/*
 * pksvisor configuration: parsed from the image's load options (UEFI shell
 * command line) or from pksvisor.cfg beside the image.  Pure code, unit
 * tested on the host (tests/unit/test_config.c).
 */
#ifndef PKSVISOR_CONFIG_H
#define PKSVISOR_CONFIG_H

#include <pksvisor/types.h>

enum pks_request {
	PKS_REQ_AUTO = 0,	/* hw if CPU+VMX support it, else soft if EPT */
	PKS_REQ_HW,
	PKS_REQ_SOFT,
	PKS_REQ_OFF,
};

enum fallback_policy {
	FALLBACK_BOOT = 0,	/* no usable VMX: chainload next= natively */
	FALLBACK_STOP,		/* no usable VMX: return an error, boot nothing */
};

/* Logical processors pksvisor virtualizes (boot/mp.c refuses a machine with more). */
#define PKSV_MAX_CPUS	64

#define CONFIG_PATH_MAX	256
#define CONFIG_ARGS_MAX	1024

struct pksv_config {
	char next[CONFIG_PATH_MAX];	/* EFI image to chainload, "" = none */
	char args[CONFIG_ARGS_MAX];	/* its command line */
	u16 serial_port;		/* I/O base of the 16550, default 0x3f8 */
	enum pks_request pks;		/* pks=auto|hw|soft|off */
	int pks_mode;			/* pks_mode=strict|relaxed|silent|off (PKSV_MODE_*) */
	u32 stats_interval_s;		/* stats=N (seconds) or off (0) */
	enum fallback_policy fallback;	/* fallback=boot|stop */
	u16 pm1a_cnt;			/* pm1a_cnt=PORT, 0 = the FADT's */
	u8 slp_typ_s3;			/* slp_typ_s3=N, CONFIG_SLP_TYP_NONE = the DSDT's */
	u32 pool_mib;			/* pool=SIZE: page pool beyond the fixed part, MiB */
};

/*
 * pool=: the page pool pksvisor reserves for EPT tables (base EPT, soft
 * views, their splits), VMCS and host structures, besides its image and
 * the host page tables sized from the memory map (boot/efi_main.c).
 */
#define CONFIG_POOL_DEFAULT_MIB	16u
#define CONFIG_POOL_MIN_MIB	4u
#define CONFIG_POOL_MAX_MIB	4096u

#define CONFIG_SLP_TYP_NONE	0xff

void config_defaults(struct pksv_config *cfg);

/*
 * The most bytes of options pksvisor accepts, from its load options or from
 * pksvisor.cfg; a longer text is refused, never cut (a cut file can be a
 * valid, different configuration: "stats=30" read as "stats=3").  One
 * limit for pksvisor (boot/efi_options.c) and tools/pksvisor-cfgcheck, so
 * the installer and pksvisor can never disagree.
 */
#define PKSV_CFG_MAX	8192

/*
 * Parse whitespace-separated key=value options; values may be double-quoted
 * ("args=..." usually is).  In a config file '#' starts a comment and
 * newlines separate like spaces.  Later options override earlier ones.
 * Returns 0, or -1 with a one-line message in err naming the bad option and
 * the accepted values; cfg is then left unchanged.
 */
int config_parse(struct pksv_config *cfg, const char *text, size_t len,
		 char *err, size_t errlen);

const char *config_pks_name(enum pks_request pks);
const char *config_mode_name(int mode);

#endif
