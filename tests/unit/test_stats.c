// SPDX-License-Identifier: MIT
/* Unit tests for vmm/stats.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ctype.h>
#include <cmocka.h>

#include <pksvisor/stats.h>

static void test_reason_names(void **state)
{
	static const struct { unsigned int nr; const char *name; } known[] = {
		{ 0, "EXCEPTION_NMI" }, { 1, "EXTERNAL_INTERRUPT" },
		{ 2, "TRIPLE_FAULT" }, { 10, "CPUID" }, { 12, "HLT" },
		{ 18, "VMCALL" }, { 28, "CR_ACCESS" }, { 30, "IO_INSTRUCTION" },
		{ 31, "RDMSR" }, { 32, "WRMSR" },
		{ 33, "ENTRY_FAIL_GUEST_STATE" }, { 37, "MTF" },
		{ 48, "EPT_VIOLATION" }, { 49, "EPT_MISCONFIG" },
		{ 52, "PREEMPTION_TIMER" }, { 55, "XSETBV" },
		{ 59, "VMFUNC" }, { 64, "XRSTORS" }, { 66, "SPP" },
		{ 69, "LOADIWKEY" }, { 74, "BUS_LOCK" }, { 77, "TDCALL" },
	};
	static const unsigned int reserved[] = { 35, 38, 42, 65, 71, 80, 81,
						 1000, 0xffffffffu };
	unsigned int i, named = 0;

	(void)state;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		assert_string_equal(exit_reason_name(known[i].nr),
				    known[i].name);
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		assert_null(exit_reason_name(reserved[i]));
		assert_null(exit_reason_key(reserved[i]));
	}
	/* Every name has its lower-case key, and all of 0..77 but the
	 * reserved four are named. */
	for (i = 0; i < EXIT_REASON_MAX; i++) {
		const char *n = exit_reason_name(i), *k = exit_reason_key(i);
		size_t j;

		if (!n) {
			assert_null(k);
			continue;
		}
		named++;
		assert_non_null(k);
		assert_int_equal(strlen(n), strlen(k));
		for (j = 0; n[j]; j++)
			assert_int_equal(tolower((unsigned char)n[j]), k[j]);
	}
	assert_int_equal(named, EXIT_REASON_MAX - 5);
	assert_string_equal(exit_reason_key(10), "cpuid");
	assert_string_equal(exit_reason_key(48), "ept_violation");
}

static void example(struct vcpu_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->exits = 123;
	st->ept_violations = 2;
	st->hidden_access = 1;
	st->hypercall_errors = 1;
	st->exit_reason[10] = 100;
	st->exit_reason[48] = 2;
	st->hypercalls[PKSV_HC_VERSION] = 1;
	st->hypercalls[PKSV_HC_PRINT_STATS] = 1;
}

static void test_line_exact(void **state)
{
	struct vcpu_stats st;
	char buf[1024];
	int n;

	(void)state;
	example(&st);
	n = stats_format_line(buf, sizeof(buf), 0, "soft", &st);
	assert_string_equal(buf,
		"pksvisor: stats vcpu=0 backend=soft exits=123 injected=0 "
		"ept_violations=2 hidden_access=1 hypercalls=2 "
		"hypercall_errors=1 pkrs_writes=0 view_switch_exit=0 "
		"view_switch_vmfunc=0 views_built=0 pk_fault_injected=0 "
		"pk_fault_unprotected=0 pk_fault_table=0 s3_refused=0 "
		"unprotected_pages=0 "
		"nmi_reflected=0 nmi_root=0 nmi_injected=0 nmi_requeued=0 "
		"nmi_window=0 events_requeued=0 events_merged=0 "
		"vmfunc_refused=0 msr_refused=0 "
		"cr_write_refused=0 db_after_emulation=0 step_merged=0 "
		"step_overflow=0 walk_refused=0 view_degraded=0 mmio_mapped=0 "
		"pku_reinjected=0 ept_stale=0 "
		"exit.cpuid=100 "
		"exit.ept_violation=2 hc.version=1 hc.print_stats=1");
	assert_int_equal(n, strlen(buf));
}

static void test_line_all_fields(void **state)
{
	struct vcpu_stats st;
	char buf[2048];

	(void)state;
	memset(&st, 0, sizeof(st));
	st.exits = 18446744073709551615ull;
	st.injected = 1;
	st.ept_violations = 2;
	st.hidden_access = 3;
	st.hypercall_errors = 4;
	st.pkrs_writes = 5;
	st.view_switch_exit = 6;
	st.view_switch_vmfunc = 7;
	st.views_built = 8;
	st.pk_fault_injected = 9;
	st.pk_fault_unprotected = 10;
	st.pk_fault_table = 11;
	st.nmi_reflected = 12;
	st.nmi_root = 13;
	st.nmi_injected = 14;
	st.nmi_requeued = 15;
	st.nmi_window = 16;
	st.events_requeued = 17;
	st.events_merged = 18;
	st.vmfunc_refused = 19;
	st.msr_refused = 20;
	st.exit_reason[0] = 1;
	st.exit_reason[79] = 2;
	st.exit_reason[35] = 3;		/* reserved: shown by number */
	st.hypercalls[PKSV_HC_VIEW_INDEX] = 5;
	st.hypercalls[PKSV_HC_SELFTEST_INFO] = 6;
	st.hypercalls[0x07] = 7;		/* unnamed */
	stats_format_line(buf, sizeof(buf), 3, "hw", &st);
	assert_string_equal(buf,
		"pksvisor: stats vcpu=3 backend=hw exits=18446744073709551615 "
		"injected=1 ept_violations=2 hidden_access=3 hypercalls=18 "
		"hypercall_errors=4 pkrs_writes=5 view_switch_exit=6 "
		"view_switch_vmfunc=7 views_built=8 pk_fault_injected=9 "
		"pk_fault_unprotected=10 pk_fault_table=11 s3_refused=0 "
		"unprotected_pages=0 "
		"nmi_reflected=12 nmi_root=13 nmi_injected=14 nmi_requeued=15 "
		"nmi_window=16 events_requeued=17 events_merged=18 "
		"vmfunc_refused=19 msr_refused=20 "
		"cr_write_refused=0 db_after_emulation=0 step_merged=0 "
		"step_overflow=0 walk_refused=0 view_degraded=0 mmio_mapped=0 "
		"pku_reinjected=0 ept_stale=0 "
		"exit.exception_nmi=1 exit.35=3 exit.wrmsrlist=2 "
		"hc.selftest_info=6 hc.0x07=7 hc.view_index=5");
}

static void test_line_zero_and_truncation(void **state)
{
	struct vcpu_stats st;
	char full[1024], small[40];
	int n, m;

	(void)state;
	memset(&st, 0, sizeof(st));
	n = stats_format_line(full, sizeof(full), 1, "off", &st);
	assert_null(strstr(full, "exit."));
	assert_null(strstr(full, "hc."));
	assert_int_equal(n, strlen(full));
	assert_true(strstr(full, "ept_stale=0") + strlen(
			    "ept_stale=0") == full + n);

	/* Truncation returns the full length and keeps a prefix. */
	example(&st);
	n = stats_format_line(full, sizeof(full), 0, "soft", &st);
	memset(small, 'Z', sizeof(small));
	m = stats_format_line(small, sizeof(small), 0, "soft", &st);
	assert_int_equal(m, n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, full, sizeof(small) - 1);
	assert_int_equal(stats_format_line(NULL, 0, 0, "soft", &st), n);
}

/* Every counter at its maximum: the machine line still fits STATS_LINE_MAX. */
static void test_line_fits_at_max(void **state)
{
	static char buf[STATS_LINE_MAX];
	struct vcpu_stats st;
	int n;

	(void)state;
	memset(&st, 0xff, sizeof(st));
	n = stats_format_line(buf, sizeof(buf), 999, "soft", &st);
	assert_true(n > 0);
	print_message("max line: %d bytes\n", n);
	assert_true(n < (int)sizeof(buf));
	assert_int_equal(strlen(buf), n);
	assert_non_null(strstr(buf, "exits=18446744073709551615 "));
}

struct collected {
	char lines[64][160];
	int n;
};

static void collect(void *ctx, const char *line)
{
	struct collected *c = ctx;

	assert_true(c->n < 64);
	assert_true(strlen(line) < sizeof(c->lines[0]));
	assert_null(strchr(line, '\n'));
	strcpy(c->lines[c->n++], line);
}

static int find(const struct collected *c, const char *a, const char *b)
{
	int i;

	for (i = 0; i < c->n; i++) {
		if (strstr(c->lines[i], a) && (!b || strstr(c->lines[i], b)))
			return i;
	}
	return -1;
}

static void test_table(void **state)
{
	static struct collected c;
	struct vcpu_stats st;
	int i, cpuid, eptv, ver, ps, tot;

	(void)state;
	example(&st);
	st.hypercalls[0x05] = 3;
	memset(&c, 0, sizeof(c));
	stats_format_table(2, "soft", &st, collect, &c);

	for (i = 0; i < c.n; i++)
		assert_int_equal(strncmp(c.lines[i], "pksvisor: ", 10), 0);
	assert_non_null(strstr(c.lines[0], "vCPU 2"));
	assert_non_null(strstr(c.lines[0], "soft"));

	cpuid = find(&c, "CPUID", " 100");
	eptv = find(&c, "EPT_VIOLATION", " 2");
	ver = find(&c, "version", " 1");
	ps = find(&c, "print_stats", " 1");
	tot = find(&c, "totals", NULL);
	assert_true(cpuid > 0 && eptv > cpuid);
	assert_true(ver > eptv && ps > ver);
	assert_true(find(&c, "0x05", " 3") > ps);
	assert_true(tot > ps);
	/* Zero reasons and calls are left out. */
	assert_int_equal(find(&c, "HLT", NULL), -1);
	assert_int_equal(find(&c, "EXCEPTION_NMI", NULL), -1);
	assert_int_equal(find(&c, "get_counter", NULL), -1);
	/* Every fixed counter appears in the totals, zero or not. */
	assert_true(find(&c, "exits ", " 123") > tot);
	assert_true(find(&c, "hypercalls ", " 5") > tot);
	assert_true(find(&c, "hypercall_errors", " 1") > tot);
	assert_true(find(&c, "pk_fault_table", " 0") > tot);
	assert_true(find(&c, "view_switch_vmfunc", " 0") > tot);
	assert_true(find(&c, "unprotected_pages", " 0") > tot);
	assert_true(find(&c, "nmi_injected", " 0") > tot);
	assert_true(find(&c, "s3_refused", " 0") > tot);
	assert_true(find(&c, "vmfunc_refused", " 0") > tot);
	assert_true(find(&c, "msr_refused", " 0") > tot);
	assert_true(find(&c, "step_overflow", " 0") > tot);
	/* header + 2 reasons + header + 3 calls + totals + 33 counters */
	assert_int_equal(c.n, 1 + 1 + 2 + 1 + 3 + 1 + 33);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_line_exact),
		cmocka_unit_test(test_line_all_fields),
		cmocka_unit_test(test_line_zero_and_truncation),
		cmocka_unit_test(test_line_fits_at_max),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
