// SPDX-License-Identifier: MIT
/*
 * pksvisor configuration parser.
 *
 * The same syntax is read from the image's load options (the UEFI shell
 * command line) and from pksvisor.cfg: whitespace separated key=value
 * options, '#' comments to the end of the line, double quotes around any
 * part of a value to keep spaces (and '#') in it, and \" for a literal
 * quote inside quotes.  No other escapes exist, so EFI paths such as
 * "\EFI\Linux\bzImage" need no doubling of backslashes.
 *
 * Parsing is all-or-nothing: the options are applied to a scratch copy and
 * only copied back when every option was valid, so a typo never leaves a
 * half-applied configuration behind.  Error messages name the offending
 * option and list what would have been accepted, because the only place a
 * user sees them is a serial console early in boot.
 */
#include <pksvisor/types.h>
#include <pksvisor/config.h>
#include <pksvisor/format.h>
#include <pksvisor/hypercall.h>

#define ACCEPTED_OPTIONS \
	"next= args= serial= pks= pks_mode= stats= fallback= pm1a_cnt= slp_typ_s3= pool="

#define STATS_MAX_S	86400u		/* one day */
#define SERIAL_MAX	0xfff8u		/* last 8-port window in I/O space */

/* Longest option text quoted back in an error message. */
#define SHOW_MAX	48

void config_defaults(struct pksv_config *cfg)
{
	pksv_memset(cfg, 0, sizeof(*cfg));
	cfg->serial_port = 0x3f8;
	cfg->pks = PKS_REQ_AUTO;
	cfg->pks_mode = PKSV_MODE_RELAXED;
	cfg->stats_interval_s = 0;
	cfg->fallback = FALLBACK_BOOT;
	cfg->pm1a_cnt = 0;
	cfg->slp_typ_s3 = CONFIG_SLP_TYP_NONE;
	cfg->pool_mib = CONFIG_POOL_DEFAULT_MIB;
}

static const char *const pks_names[] = {
	[PKS_REQ_AUTO] = "auto",
	[PKS_REQ_HW] = "hw",
	[PKS_REQ_SOFT] = "soft",
	[PKS_REQ_OFF] = "off",
};

static const char *const mode_names[] = {
	[PKSV_MODE_STRICT] = "strict",
	[PKSV_MODE_RELAXED] = "relaxed",
	[PKSV_MODE_SILENT] = "silent",
	[PKSV_MODE_OFF] = "off",
};

static const char *const fallback_names[] = {
	[FALLBACK_BOOT] = "boot",
	[FALLBACK_STOP] = "stop",
};

const char *config_pks_name(enum pks_request pks)
{
	if ((unsigned int)pks < ARRAY_SIZE(pks_names))
		return pks_names[pks];
	return "?";
}

const char *config_mode_name(int mode)
{
	if (mode >= 0 && (unsigned int)mode < ARRAY_SIZE(mode_names))
		return mode_names[mode];
	return "?";
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Case-insensitive equality of a counted string with a C string. */
static bool word_eq(const char *s, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!word[i] || lower(s[i]) != word[i])
			return false;
	}
	return word[n] == '\0';
}

/* Index of val in names[], or -1. */
static int lookup(const char *val, size_t n, const char *const *names,
		  size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (word_eq(val, n, names[i]))
			return (int)i;
	}
	return -1;
}

/*
 * Parse an unsigned number, decimal or 0x-prefixed hex, rejecting anything
 * above max (checked digit by digit so huge inputs cannot wrap around).
 * suffix, if not 0, is one optional trailing character (the 's' of "30s").
 */
static bool parse_uint(const char *s, size_t n, u64 max, char suffix,
		       u64 *out)
{
	unsigned int base = 10;
	u64 v = 0;
	size_t i = 0;

	if (suffix && n && lower(s[n - 1]) == suffix)
		n--;
	if (n > 2 && s[0] == '0' && lower(s[1]) == 'x') {
		base = 16;
		i = 2;
	}
	if (i == n)
		return false;
	for (; i < n; i++) {
		char c = lower(s[i]);
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return false;
		v = v * base + d;
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

struct option_desc {
	const char *key;
	const char *accepted;	/* for error messages */
};

enum opt { OPT_NEXT, OPT_ARGS, OPT_SERIAL, OPT_PKS, OPT_MODE, OPT_STATS,
	   OPT_FALLBACK, OPT_PM1A_CNT, OPT_SLP_TYP_S3, OPT_POOL };

static const struct option_desc options[] = {
	[OPT_NEXT] = { "next", "an EFI image path (at most 255 characters)" },
	[OPT_ARGS] = { "args",
		       "a command line (at most 1023 characters, "
		       "\"double-quoted\" if it has spaces)" },
	[OPT_SERIAL] = { "serial",
			 "COM1..COM4 or an I/O port 0x1..0xfff8 "
			 "(hex with 0x, or decimal)" },
	[OPT_PKS] = { "pks", "auto|hw|soft|off" },
	[OPT_MODE] = { "pks_mode", "strict|relaxed|silent|off" },
	[OPT_STATS] = { "stats", "off or 1..86400 (seconds, e.g. 30 or 30s)" },
	[OPT_FALLBACK] = { "fallback", "boot|stop" },
	[OPT_PM1A_CNT] = { "pm1a_cnt",
			   "an I/O port 0x1..0xfffe (overrides the FADT's "
			   "PM1a_CNT_BLK)" },
	[OPT_SLP_TYP_S3] = { "slp_typ_s3",
			     "0..7 (overrides the DSDT's \\_S3_ SLP_TYP)" },
	[OPT_POOL] = { "pool",
		       "4M..4096M or 1G..4G (page pool size, MiB by default)" },
};

/* Parser state for one input. */
struct parser {
	const char *p;
	const char *end;
	char *err;
	size_t errlen;
};

/*
 * Copy the raw option text [s, e) into a printable, bounded form for an
 * error message: control characters become '?', long options are cut.
 */
static void show(char *dst, const char *s, const char *e)
{
	size_t n = 0;

	while (s < e && n < SHOW_MAX) {
		char c = *s++;

		dst[n++] = (c < 0x20 || c == 0x7f) ? '?' : c;
	}
	if (s < e) {
		pksv_memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
}

static int fail(struct parser *ps, const char *fmt, const char *opt_start,
		const char *opt_end, const char *extra)
{
	char shown[SHOW_MAX + 4];

	show(shown, opt_start, opt_end);
	if (ps->err && ps->errlen)
		pksv_snprintf(ps->err, ps->errlen, fmt, shown, extra);
	return -1;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	       c == '\v' || c == '\f';
}

/*
 * Apply a decoded value to cfg.  Returns false if the value is not one
 * the option accepts.
 */
static bool apply(struct pksv_config *cfg, enum opt opt, const char *val,
		  size_t n)
{
	static const u16 com_ports[] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
	u64 v;
	int i;

	switch (opt) {
	case OPT_NEXT:
		if (n >= sizeof(cfg->next))
			return false;
		pksv_memcpy(cfg->next, val, n);
		cfg->next[n] = '\0';
		return true;
	case OPT_ARGS:
		if (n >= sizeof(cfg->args))
			return false;
		pksv_memcpy(cfg->args, val, n);
		cfg->args[n] = '\0';
		return true;
	case OPT_SERIAL:
		if (n == 4 && word_eq(val, 3, "com") &&
		    val[3] >= '1' && val[3] <= '4') {
			cfg->serial_port = com_ports[val[3] - '1'];
			return true;
		}
		/* Port 0 is no UART; above 0xfff8 the 8 registers wrap. */
		if (!parse_uint(val, n, SERIAL_MAX, 0, &v) || v == 0)
			return false;
		cfg->serial_port = (u16)v;
		return true;
	case OPT_PKS:
		i = lookup(val, n, pks_names, ARRAY_SIZE(pks_names));
		if (i < 0)
			return false;
		cfg->pks = (enum pks_request)i;
		return true;
	case OPT_MODE:
		i = lookup(val, n, mode_names, ARRAY_SIZE(mode_names));
		if (i < 0)
			return false;
		cfg->pks_mode = i;
		return true;
	case OPT_STATS:
		if (word_eq(val, n, "off")) {
			cfg->stats_interval_s = 0;
			return true;
		}
		if (!parse_uint(val, n, STATS_MAX_S, 's', &v) || v == 0)
			return false;
		cfg->stats_interval_s = (u32)v;
		return true;
	case OPT_FALLBACK:
		i = lookup(val, n, fallback_names, ARRAY_SIZE(fallback_names));
		if (i < 0)
			return false;
		cfg->fallback = (enum fallback_policy)i;
		return true;
	case OPT_PM1A_CNT:
		/* A 16-bit register: both of its ports must exist. */
		if (!parse_uint(val, n, 0xfffe, 0, &v) || v == 0)
			return false;
		cfg->pm1a_cnt = (u16)v;
		return true;
	case OPT_SLP_TYP_S3:
		/* SLP_TYPx is 3 bits wide (ACPI 6.5 4.8.3.2.1). */
		if (!parse_uint(val, n, 7, 0, &v))
			return false;
		cfg->slp_typ_s3 = (u8)v;
		return true;
	case OPT_POOL:
		/* "64", "64M" or "1G"; below the minimum pksvisor cannot start. */
		if (n && lower(val[n - 1]) == 'g') {
			if (!parse_uint(val, n - 1, CONFIG_POOL_MAX_MIB >> 10, 0, &v))
				return false;
			v <<= 10;
		} else if (!parse_uint(val, n, CONFIG_POOL_MAX_MIB, 'm', &v)) {
			return false;
		}
		if (v < CONFIG_POOL_MIN_MIB)
			return false;
		cfg->pool_mib = (u32)v;
		return true;
	}
	return false;
}

/*
 * Parse one option starting at ps->p (not whitespace, not '#').  The value
 * is decoded into val (quotes removed, \" unescaped).
 */
static int parse_one(struct parser *ps, struct pksv_config *cfg, char *val,
		     size_t valmax)
{
	const char *start = ps->p, *key_end, *p;
	bool quoted = false, too_long = false;
	size_t key_len, n = 0;
	int opt = -1;
	size_t i;

	/* The key runs up to '=' or the end of the token. */
	p = start;
	while (p < ps->end && *p && *p != '=' && !is_space(*p) && *p != '#')
		p++;
	key_end = p;
	key_len = key_end - start;
	if (p == ps->end || *p != '=') {
		ps->p = p;
		return fail(ps, "bad option '%s': missing '=', options are "
			    "key=value; accepted options are "
			    ACCEPTED_OPTIONS "%s", start, p, "");
	}

	/* The value runs to unquoted whitespace, '#' or the end. */
	for (p++; p < ps->end && *p; p++) {
		char c = *p;

		if (!quoted && (is_space(c) || c == '#'))
			break;
		if (c == '"') {
			quoted = !quoted;
			continue;
		}
		if (quoted && c == '\\' && p + 1 < ps->end && p[1] == '"')
			c = *++p;
		if (n < valmax)
			val[n++] = c;
		else
			too_long = true;
	}
	ps->p = p;

	for (i = 0; i < ARRAY_SIZE(options); i++) {
		if (word_eq(start, key_len, options[i].key)) {
			opt = (int)i;
			break;
		}
	}
	if (opt < 0)
		return fail(ps, "unknown option '%s': accepted options are "
			    ACCEPTED_OPTIONS "%s", start, p, "");
	if (quoted)
		return fail(ps, "bad option '%s': unterminated quote; "
			    "accepted values are %s", start, p,
			    options[opt].accepted);
	if (too_long)
		return fail(ps, "bad option '%s': value too long; "
			    "accepted values are %s", start, p,
			    options[opt].accepted);
	if (!apply(cfg, (enum opt)opt, val, n))
		return fail(ps, "bad option '%s': accepted values are %s",
			    start, p, options[opt].accepted);
	return 0;
}

int config_parse(struct pksv_config *cfg, const char *text, size_t len,
		 char *err, size_t errlen)
{
	struct parser ps = {
		.p = text, .end = text + len, .err = err, .errlen = errlen,
	};
	struct pksv_config scratch;
	char val[CONFIG_ARGS_MAX];

	if (err && errlen)
		err[0] = '\0';
	pksv_memcpy(&scratch, cfg, sizeof(scratch));

	/* Load options may be NUL terminated inside len (UCS-2 converted). */
	while (ps.p < ps.end && *ps.p) {
		if (is_space(*ps.p)) {
			ps.p++;
		} else if (*ps.p == '#') {
			while (ps.p < ps.end && *ps.p && *ps.p != '\n')
				ps.p++;
		} else if (parse_one(&ps, &scratch, val, sizeof(val)) < 0) {
			return -1;
		}
	}

	pksv_memcpy(cfg, &scratch, sizeof(*cfg));
	return 0;
}
