// SPDX-License-Identifier: MIT
/* Unit tests for boot/config.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <pksvisor/config.h>
#include <pksvisor/hypercall.h>

static char err[256];

static int parse(struct pksv_config *cfg, const char *text)
{
	memset(err, 'Z', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	return config_parse(cfg, text, strlen(text), err, sizeof(err));
}

static void test_defaults(void **state)
{
	struct pksv_config cfg;

	(void)state;
	memset(&cfg, 0xa5, sizeof(cfg));
	config_defaults(&cfg);
	assert_string_equal(cfg.next, "");
	assert_string_equal(cfg.args, "");
	assert_int_equal(cfg.serial_port, 0x3f8);
	assert_int_equal(cfg.pks, PKS_REQ_AUTO);
	assert_int_equal(cfg.pks_mode, PKSV_MODE_RELAXED);
	assert_int_equal(cfg.stats_interval_s, 0);
	assert_int_equal(cfg.fallback, FALLBACK_BOOT);

	/* An empty or blank input changes nothing and succeeds. */
	assert_int_equal(parse(&cfg, ""), 0);
	assert_int_equal(parse(&cfg, "  \t\r\n # only a comment\n"), 0);
	assert_int_equal(cfg.serial_port, 0x3f8);
	assert_string_equal(err, "");
}

static void test_all_options(void **state)
{
	struct pksv_config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(parse(&cfg,
		"next=\\EFI\\Linux\\bzImage.efi args=\"console=ttyS0 root=/dev/sda1\" "
		"serial=0x2f8 pks=soft pks_mode=strict stats=30 fallback=stop"), 0);
	assert_string_equal(cfg.next, "\\EFI\\Linux\\bzImage.efi");
	assert_string_equal(cfg.args, "console=ttyS0 root=/dev/sda1");
	assert_int_equal(cfg.serial_port, 0x2f8);
	assert_int_equal(cfg.pks, PKS_REQ_SOFT);
	assert_int_equal(cfg.pks_mode, PKSV_MODE_STRICT);
	assert_int_equal(cfg.stats_interval_s, 30);
	assert_int_equal(cfg.fallback, FALLBACK_STOP);
}

static void test_acpi_overrides(void **state)
{
	struct pksv_config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(cfg.pm1a_cnt, 0);
	assert_int_equal(cfg.slp_typ_s3, CONFIG_SLP_TYP_NONE);
	assert_int_equal(parse(&cfg, "pm1a_cnt=0xb004 slp_typ_s3=5"), 0);
	assert_int_equal(cfg.pm1a_cnt, 0xb004);
	assert_int_equal(cfg.slp_typ_s3, 5);
	assert_int_equal(parse(&cfg, "slp_typ_s3=0"), 0);
	assert_int_equal(cfg.slp_typ_s3, 0);
	/* A 16-bit register needs two ports; SLP_TYP has 3 bits. */
	assert_int_equal(parse(&cfg, "pm1a_cnt=0xffff"), -1);
	assert_non_null(strstr(err, "pm1a_cnt"));
	assert_int_equal(parse(&cfg, "pm1a_cnt=0"), -1);
	assert_int_equal(parse(&cfg, "slp_typ_s3=8"), -1);
	assert_non_null(strstr(err, "0..7"));
	assert_int_equal(cfg.pm1a_cnt, 0xb004);
}

static void test_enum_values(void **state)
{
	static const struct { const char *text; int val; } pks[] = {
		{ "pks=auto", PKS_REQ_AUTO }, { "pks=hw", PKS_REQ_HW },
		{ "pks=soft", PKS_REQ_SOFT }, { "pks=off", PKS_REQ_OFF },
		{ "pks=HW", PKS_REQ_HW },
	};
	static const struct { const char *text; int val; } modes[] = {
		{ "pks_mode=strict", PKSV_MODE_STRICT },
		{ "pks_mode=relaxed", PKSV_MODE_RELAXED },
		{ "pks_mode=silent", PKSV_MODE_SILENT },
		{ "pks_mode=off", PKSV_MODE_OFF },
	};
	struct pksv_config cfg;
	size_t i;

	(void)state;
	config_defaults(&cfg);
	for (i = 0; i < sizeof(pks) / sizeof(pks[0]); i++) {
		cfg.pks = 99;
		assert_int_equal(parse(&cfg, pks[i].text), 0);
		assert_int_equal(cfg.pks, pks[i].val);
	}
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		cfg.pks_mode = 99;
		assert_int_equal(parse(&cfg, modes[i].text), 0);
		assert_int_equal(cfg.pks_mode, modes[i].val);
	}
	assert_int_equal(parse(&cfg, "fallback=stop"), 0);
	assert_int_equal(cfg.fallback, FALLBACK_STOP);
	assert_int_equal(parse(&cfg, "fallback=boot"), 0);
	assert_int_equal(cfg.fallback, FALLBACK_BOOT);

	assert_string_equal(config_pks_name(PKS_REQ_AUTO), "auto");
	assert_string_equal(config_pks_name(PKS_REQ_HW), "hw");
	assert_string_equal(config_pks_name(PKS_REQ_SOFT), "soft");
	assert_string_equal(config_pks_name(PKS_REQ_OFF), "off");
	assert_string_equal(config_mode_name(PKSV_MODE_STRICT), "strict");
	assert_string_equal(config_mode_name(PKSV_MODE_RELAXED), "relaxed");
	assert_string_equal(config_mode_name(PKSV_MODE_SILENT), "silent");
	assert_string_equal(config_mode_name(PKSV_MODE_OFF), "off");
	assert_string_equal(config_mode_name(-1), "?");
	assert_string_equal(config_mode_name(4), "?");
	assert_string_equal(config_pks_name((enum pks_request)7), "?");
}

static void test_serial(void **state)
{
	static const struct { const char *text; unsigned int port; } ok[] = {
		{ "serial=COM1", 0x3f8 }, { "serial=COM2", 0x2f8 },
		{ "serial=COM3", 0x3e8 }, { "serial=com4", 0x2e8 },
		{ "serial=0x3F8", 0x3f8 }, { "serial=760", 760 },
		{ "serial=1", 1 }, { "serial=0xfff8", 0xfff8 },
		{ "serial=65528", 0xfff8 },
	};
	static const char *const bad[] = {
		"serial=0", "serial=0x0", "serial=0xfff9", "serial=65529",
		"serial=0x10000", "serial=99999999999999999999999",
		"serial=COM5", "serial=COM0", "serial=", "serial=0x",
		"serial=12ab", "serial=-1", "serial=0x3f8g",
	};
	struct pksv_config cfg;
	size_t i;

	(void)state;
	config_defaults(&cfg);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cfg.serial_port = 0;
		assert_int_equal(parse(&cfg, ok[i].text), 0);
		assert_int_equal(cfg.serial_port, ok[i].port);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.serial_port = 0x1234;
		assert_int_equal(parse(&cfg, bad[i]), -1);
		assert_int_equal(cfg.serial_port, 0x1234);
		assert_non_null(strstr(err, bad[i]));
		assert_non_null(strstr(err, "COM1..COM4"));
	}
}

/* pool=: MiB (optional M) or GiB (G), 4M..4096M; bad values change nothing. */
static void test_pool(void **state)
{
	static const char *const bad[] = {
		"pool=0", "pool=3", "pool=3M", "pool=4097", "pool=5G", "pool=0G",
		"pool=", "pool=M", "pool=G", "pool=-8", "pool=16K", "pool=1T",
		"pool=18446744073709551632", "pool=16 M",
	};
	struct pksv_config cfg;
	size_t i;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(cfg.pool_mib, 16);
	assert_int_equal(parse(&cfg, "pool=4"), 0);
	assert_int_equal(cfg.pool_mib, 4);
	assert_int_equal(parse(&cfg, "pool=64M"), 0);
	assert_int_equal(cfg.pool_mib, 64);
	assert_int_equal(parse(&cfg, "pool=64m"), 0);
	assert_int_equal(cfg.pool_mib, 64);
	assert_int_equal(parse(&cfg, "pool=1G"), 0);
	assert_int_equal(cfg.pool_mib, 1024);
	assert_int_equal(parse(&cfg, "pool=4g"), 0);
	assert_int_equal(cfg.pool_mib, 4096);
	assert_int_equal(parse(&cfg, "pool=4096M"), 0);
	assert_int_equal(cfg.pool_mib, 4096);
	assert_int_equal(parse(&cfg, "pool=0x100"), 0);
	assert_int_equal(cfg.pool_mib, 256);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.pool_mib = 77;
		assert_int_equal(parse(&cfg, bad[i]), -1);
		assert_int_equal(cfg.pool_mib, 77);
		if (strcmp(bad[i], "pool=16 M") != 0) {
			assert_non_null(strstr(err, bad[i]));
			assert_non_null(strstr(err, "4M..4096M or 1G..4G"));
		}
	}
}

static void test_stats(void **state)
{
	static const char *const bad[] = {
		"stats=0", "stats=86401", "stats=on", "stats=", "stats=10m",
		"stats=s", "stats=-5", "stats=4294967297",
	};
	struct pksv_config cfg;
	size_t i;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(parse(&cfg, "stats=1"), 0);
	assert_int_equal(cfg.stats_interval_s, 1);
	assert_int_equal(parse(&cfg, "stats=86400"), 0);
	assert_int_equal(cfg.stats_interval_s, 86400);
	assert_int_equal(parse(&cfg, "stats=45s"), 0);
	assert_int_equal(cfg.stats_interval_s, 45);
	assert_int_equal(parse(&cfg, "stats=off"), 0);
	assert_int_equal(cfg.stats_interval_s, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.stats_interval_s = 7;
		assert_int_equal(parse(&cfg, bad[i]), -1);
		assert_int_equal(cfg.stats_interval_s, 7);
		assert_non_null(strstr(err, bad[i]));
		assert_non_null(strstr(err, "off or 1..86400"));
	}
}

static void test_quotes(void **state)
{
	struct pksv_config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(parse(&cfg,
		"args=\"quiet init=/bin/sh -c \\\"echo hi\\\" # not a comment\""), 0);
	assert_string_equal(cfg.args,
			    "quiet init=/bin/sh -c \"echo hi\" # not a comment");
	/* Quotes may cover part of a value, and an empty quoted value clears. */
	assert_int_equal(parse(&cfg, "next=\"\\EFI\\my dir\"\\a.efi"), 0);
	assert_string_equal(cfg.next, "\\EFI\\my dir\\a.efi");
	assert_int_equal(parse(&cfg, "args=\"\""), 0);
	assert_string_equal(cfg.args, "");
	/* A backslash not before a quote is kept. */
	assert_int_equal(parse(&cfg, "args=\"a\\b\""), 0);
	assert_string_equal(cfg.args, "a\\b");
	/* Quoted enum values work too. */
	assert_int_equal(parse(&cfg, "pks=\"hw\""), 0);
	assert_int_equal(cfg.pks, PKS_REQ_HW);
}

static void test_comments_and_lines(void **state)
{
	struct pksv_config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(parse(&cfg,
		"# pksvisor.cfg\n"
		"next=\\EFI\\linux.efi   # the kernel\n"
		"\targs=\"console=ttyS0\"\r\n"
		"#pks=off\n"
		"pks_mode=silent#trailing comment\n"
		"stats=5"), 0);
	assert_string_equal(cfg.next, "\\EFI\\linux.efi");
	assert_string_equal(cfg.args, "console=ttyS0");
	assert_int_equal(cfg.pks, PKS_REQ_AUTO);
	assert_int_equal(cfg.pks_mode, PKSV_MODE_SILENT);
	assert_int_equal(cfg.stats_interval_s, 5);
}

static void test_overrides(void **state)
{
	struct pksv_config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(parse(&cfg, "pks=hw pks=off serial=COM2 serial=COM3 "
				     "next=a.efi next="), 0);
	assert_int_equal(cfg.pks, PKS_REQ_OFF);
	assert_int_equal(cfg.serial_port, 0x3e8);
	assert_string_equal(cfg.next, "");
	/* A second parse (file, then command line) overrides the first. */
	assert_int_equal(parse(&cfg, "pks=soft"), 0);
	assert_int_equal(cfg.pks, PKS_REQ_SOFT);
	assert_int_equal(cfg.serial_port, 0x3e8);
}

/* Every failure leaves cfg byte-for-byte unchanged. */
static void expect_fail(const char *text, const char *const *must_contain)
{
	struct pksv_config cfg, before;

	config_defaults(&cfg);
	assert_int_equal(parse(&cfg, "next=keep.efi pks=hw stats=9"), 0);
	memcpy(&before, &cfg, sizeof(cfg));
	if (parse(&cfg, text) != -1)
		fail_msg("'%s' was accepted", text);
	assert_memory_equal(&cfg, &before, sizeof(cfg));
	assert_null(strchr(err, '\n'));
	for (; *must_contain; must_contain++) {
		if (!strstr(err, *must_contain))
			fail_msg("error for '%s' is '%s', lacks '%s'", text,
				 err, *must_contain);
	}
}

static void test_errors(void **state)
{
	(void)state;
	expect_fail("pks=foo", (const char *[]){
		"bad option 'pks=foo': accepted values are auto|hw|soft|off",
		NULL });
	expect_fail("pks_mode=lax", (const char *[]){ "'pks_mode=lax'",
		"strict|relaxed|silent|off", NULL });
	expect_fail("fallback=halt", (const char *[]){ "'fallback=halt'",
		"boot|stop", NULL });
	expect_fail("pks=", (const char *[]){ "'pks='", "auto|hw", NULL });
	expect_fail("foo=1", (const char *[]){
		"unknown option 'foo=1': accepted options are next= args= "
		"serial= pks= pks_mode= stats= fallback=", NULL });
	expect_fail("=1", (const char *[]){ "unknown option '=1'", NULL });
	expect_fail("pks", (const char *[]){ "'pks'", "missing '='",
		"next= args= serial=", NULL });
	expect_fail("next=a.efi verbose", (const char *[]){ "'verbose'",
		"missing '='", NULL });
	expect_fail("args=\"console=ttyS0", (const char *[]){
		"'args=\"console=ttyS0'", "unterminated quote",
		"accepted values are", NULL });
	expect_fail("next=\"a\\\"", (const char *[]){ "unterminated quote",
		NULL });
	/* A good option before a bad one is not applied either. */
	expect_fail("pks=off serial=COM9", (const char *[]){
		"'serial=COM9'", "COM1..COM4", NULL });
	expect_fail("serial=0 pks=soft", (const char *[]){ "'serial=0'",
		NULL });
}

static void test_too_long(void **state)
{
	char text[3000];
	struct pksv_config cfg;
	int n;

	(void)state;
	config_defaults(&cfg);

	/* next: 255 characters fit, 256 do not */
	n = sprintf(text, "next=");
	memset(text + n, 'n', 255);
	text[n + 255] = '\0';
	assert_int_equal(parse(&cfg, text), 0);
	assert_int_equal(strlen(cfg.next), 255);
	strcat(text, "n");
	expect_fail(text, (const char *[]){ "bad option 'next=nnn",
		"...'", "at most 255", NULL });

	/* args: 1023 fit, 1024 and 2000 do not */
	n = sprintf(text, "args=\"");
	memset(text + n, 'a', 1023);
	strcpy(text + n + 1023, "\"");
	assert_int_equal(parse(&cfg, text), 0);
	assert_int_equal(strlen(cfg.args), 1023);
	memset(text + n, 'a', 1024);
	strcpy(text + n + 1024, "\"");
	expect_fail(text, (const char *[]){ "'args=\"aaa", "at most 1023",
		NULL });
	memset(text + n, 'a', 2000);
	strcpy(text + n + 2000, "\"");
	expect_fail(text, (const char *[]){ "value too long", NULL });
}

static void test_err_buffer(void **state)
{
	struct pksv_config cfg;
	char small[16];

	(void)state;
	config_defaults(&cfg);
	/* A small buffer truncates, a missing buffer is tolerated. */
	memset(small, 'Z', sizeof(small));
	assert_int_equal(config_parse(&cfg, "pks=x", 5, small, sizeof(small)),
			 -1);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(config_parse(&cfg, "pks=x", 5, NULL, 0), -1);
	/* len is honoured: the text need not be NUL terminated. */
	assert_int_equal(config_parse(&cfg, "pks=offXYZ", 7, NULL, 0), 0);
	assert_int_equal(cfg.pks, PKS_REQ_OFF);
	/* an embedded NUL ends the options (UEFI load options) */
	assert_int_equal(config_parse(&cfg, "pks=hw\0garbage", 14, NULL, 0),
			 0);
	assert_int_equal(cfg.pks, PKS_REQ_HW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_options),
		cmocka_unit_test(test_enum_values),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_comments_and_lines),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_acpi_overrides),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_err_buffer),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
