// SPDX-License-Identifier: MIT
/*
 * pksvisor-cfgcheck: validate pksvisor options on the host with the very
 * parser pksvisor runs at boot (boot/config.c is linked in unchanged), so
 * that tools/pksvisor-install and the hypervisor can never disagree on
 * what a pksvisor.cfg means.
 *
 *   pksvisor-cfgcheck [FILE|-]          parse, print the effective options
 *   pksvisor-cfgcheck --get KEY [FILE]  print one effective value
 *   pksvisor-cfgcheck --options TEXT    parse TEXT (load options) instead
 *
 * Exit status: 0 valid, 1 rejected (pksvisor's own message on stderr),
 * 2 usage or I/O error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pksvisor/config.h>

/* pksvisor's own limit (include/pksvisor/config.h): longer is refused. */
#define CFG_MAX	PKSV_CFG_MAX

static const char *fallback_name(enum fallback_policy f)
{
	return f == FALLBACK_STOP ? "stop" : "boot";
}

/* Quote a value the way the parser reads it back: "..." with \" inside. */
static void print_quoted(FILE *out, const char *key, const char *val)
{
	fprintf(out, "%s=\"", key);
	for (; *val; val++) {
		if (*val == '"')
			fputc('\\', out);
		fputc(*val, out);
	}
	fputs("\"\n", out);
}

static void print_stats(FILE *out, unsigned int s)
{
	if (s)
		fprintf(out, "stats=%u\n", s);
	else
		fputs("stats=off\n", out);
}

static void print_all(const struct pksv_config *cfg)
{
	print_quoted(stdout, "next", cfg->next);
	print_quoted(stdout, "args", cfg->args);
	printf("serial=0x%x\n", cfg->serial_port);
	printf("pks=%s\n", config_pks_name(cfg->pks));
	printf("pks_mode=%s\n", config_mode_name(cfg->pks_mode));
	print_stats(stdout, cfg->stats_interval_s);
	printf("fallback=%s\n", fallback_name(cfg->fallback));
	printf("pool=%uM\n", cfg->pool_mib);
}

static int print_one(const struct pksv_config *cfg, const char *key)
{
	if (!strcmp(key, "next"))
		puts(cfg->next);
	else if (!strcmp(key, "args"))
		puts(cfg->args);
	else if (!strcmp(key, "serial"))
		printf("0x%x\n", cfg->serial_port);
	else if (!strcmp(key, "pks"))
		puts(config_pks_name(cfg->pks));
	else if (!strcmp(key, "pks_mode"))
		puts(config_mode_name(cfg->pks_mode));
	else if (!strcmp(key, "stats"))
		print_stats(stdout, cfg->stats_interval_s);
	else if (!strcmp(key, "fallback"))
		puts(fallback_name(cfg->fallback));
	else if (!strcmp(key, "pool"))
		printf("%uM\n", cfg->pool_mib);
	else {
		fprintf(stderr, "pksvisor-cfgcheck: no option '%s'\n", key);
		return 2;
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: pksvisor-cfgcheck [--get KEY] [FILE|-]\n"
			"       pksvisor-cfgcheck [--get KEY] --options TEXT\n");
	return 2;
}

/* Read at most CFG_MAX bytes; a longer file is refused, not truncated. */
static int read_input(const char *path, char *buf, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t n;

	if (!f) {
		fprintf(stderr, "pksvisor-cfgcheck: %s: %s\n", path,
			strerror(errno));
		return 2;
	}
	n = fread(buf, 1, CFG_MAX + 1, f);
	if (f != stdin)
		fclose(f);
	if (n > CFG_MAX) {
		fprintf(stderr, "pksvisor-cfgcheck: %s: longer than the %d "
			"bytes pksvisor reads\n", path, CFG_MAX);
		return 1;
	}
	*len = n;
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[CFG_MAX + 1];
	const char *key = NULL, *path = "-", *text = NULL;
	struct pksv_config cfg;
	char err[512];
	size_t len = 0;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--get") && i + 1 < argc)
			key = argv[++i];
		else if (!strcmp(argv[i], "--options") && i + 1 < argc)
			text = argv[++i];
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage();
		else if (argv[i][0] == '-' && argv[i][1])
			return usage();
		else
			path = argv[i];
	}

	if (text) {
		len = strlen(text);
		path = "options";
	} else {
		rc = read_input(path, buf, &len);
		if (rc)
			return rc;
		text = buf;
	}

	config_defaults(&cfg);
	if (config_parse(&cfg, text, len, err, sizeof(err))) {
		/* The same words pksvisor prints on the serial console. */
		fprintf(stderr, "%s: pksvisor would reject this: %s\n", path, err);
		return 1;
	}
	if (key)
		return print_one(&cfg, key);
	print_all(&cfg);
	return 0;
}
