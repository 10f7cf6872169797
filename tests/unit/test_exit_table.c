// SPDX-License-Identifier: MIT
/*
 * Exit reasons pksvisor must handle (vmm/exit.c exit_handlers[]) against
 * the exit-reason names of vmm/stats.c.  vmm/exit.c itself cannot be linked
 * on the host (VMX instructions); check_exit_table.sh, run by the Makefile,
 * checks that it has a handler for each reason listed here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <pksvisor/stats.h>
#include "../../vmm/vmx.h"

/* SDM Vol. 3D Appendix C numbers and names, as pksvisor's issue requires. */
static const struct { unsigned int nr; const char *name; } handled[] = {
	{ 0, "EXCEPTION_NMI" },
	{ 2, "TRIPLE_FAULT" },
	{ 3, "INIT" },
	{ 4, "SIPI" },
	{ 10, "CPUID" },
	{ 13, "INVD" },
	{ 18, "VMCALL" },
	{ 19, "VMCLEAR" },
	{ 20, "VMLAUNCH" },
	{ 21, "VMPTRLD" },
	{ 22, "VMPTRST" },
	{ 23, "VMREAD" },
	{ 24, "VMRESUME" },
	{ 25, "VMWRITE" },
	{ 26, "VMXOFF" },
	{ 27, "VMXON" },
	{ 28, "CR_ACCESS" },
	{ 30, "IO_INSTRUCTION" },
	{ 31, "RDMSR" },
	{ 32, "WRMSR" },
	{ 37, "MTF" },
	{ 48, "EPT_VIOLATION" },
	{ 49, "EPT_MISCONFIG" },
	{ 50, "INVEPT" },
	{ 53, "INVVPID" },
	{ 55, "XSETBV" },
};

#define N_HANDLED (sizeof(handled) / sizeof(handled[0]))

static void test_handled_have_names(void **state)
{
	size_t i;

	(void)state;
	assert_int_equal(N_HANDLED, 26);
	for (i = 0; i < N_HANDLED; i++) {
		const char *n = exit_reason_name(handled[i].nr);
		const char *k = exit_reason_key(handled[i].nr);

		if (!n || !k)
			fail_msg("handled exit reason %u has no name/key", handled[i].nr);
		assert_string_equal(n, handled[i].name);
		assert_true(k[0] != '\0');
		assert_true(handled[i].nr < EXIT_REASON_MAX);
	}
}

/* vmx.h's enum must agree with the SDM numbers used in the list. */
static void test_enum_matches_sdm(void **state)
{
	(void)state;
	assert_int_equal(EXIT_EXCEPTION_NMI, 0);
	assert_int_equal(EXIT_TRIPLE_FAULT, 2);
	assert_int_equal(EXIT_INIT, 3);
	assert_int_equal(EXIT_SIPI, 4);
	assert_int_equal(EXIT_CPUID, 10);
	assert_int_equal(EXIT_INVD, 13);
	assert_int_equal(EXIT_VMCALL, 18);
	assert_int_equal(EXIT_VMCLEAR, 19);
	assert_int_equal(EXIT_VMLAUNCH, 20);
	assert_int_equal(EXIT_VMPTRLD, 21);
	assert_int_equal(EXIT_VMPTRST, 22);
	assert_int_equal(EXIT_VMREAD, 23);
	assert_int_equal(EXIT_VMRESUME, 24);
	assert_int_equal(EXIT_VMWRITE, 25);
	assert_int_equal(EXIT_VMXOFF, 26);
	assert_int_equal(EXIT_VMXON, 27);
	assert_int_equal(EXIT_CR_ACCESS, 28);
	assert_int_equal(EXIT_IO, 30);
	assert_int_equal(EXIT_RDMSR, 31);
	assert_int_equal(EXIT_WRMSR, 32);
	assert_int_equal(EXIT_MTF, 37);
	assert_int_equal(EXIT_EPT_VIOLATION, 48);
	assert_int_equal(EXIT_EPT_MISCONFIG, 49);
	assert_int_equal(EXIT_INVEPT, 50);
	assert_int_equal(EXIT_INVVPID, 53);
	assert_int_equal(EXIT_XSETBV, 55);
	/* every enumerator fits the statistics array */
	assert_true(EXIT_VMFUNC < EXIT_REASON_MAX);
	assert_non_null(exit_reason_name(EXIT_VMFUNC));
	assert_non_null(exit_reason_name(EXIT_PREEMPTION_TIMER));
	assert_non_null(exit_reason_name(EXIT_NMI_WINDOW));
	assert_non_null(exit_reason_name(EXIT_ENTRY_FAIL_GUEST));
	assert_non_null(exit_reason_name(EXIT_ENTRY_FAIL_MSR));
	assert_non_null(exit_reason_name(EXIT_ENTRY_FAIL_MC));
}

static void test_list_unique(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < N_HANDLED; i++)
		for (j = i + 1; j < N_HANDLED; j++) {
			assert_true(handled[i].nr != handled[j].nr);
			assert_true(strcmp(handled[i].name, handled[j].name) != 0);
		}
}

static void test_names_and_keys_unique(void **state)
{
	unsigned int i, j;

	(void)state;
	for (i = 0; i < EXIT_REASON_MAX; i++) {
		const char *ni = exit_reason_name(i), *ki = exit_reason_key(i);

		if (!ni)
			continue;
		for (j = i + 1; j < EXIT_REASON_MAX; j++) {
			const char *nj = exit_reason_name(j), *kj = exit_reason_key(j);

			if (!nj)
				continue;
			if (!strcmp(ni, nj))
				fail_msg("exit reasons %u and %u share the name %s", i, j, ni);
			if (!strcmp(ki, kj))
				fail_msg("exit reasons %u and %u share the key %s", i, j, ki);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handled_have_names),
		cmocka_unit_test(test_enum_matches_sdm),
		cmocka_unit_test(test_list_unique),
		cmocka_unit_test(test_names_and_keys_unique),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
