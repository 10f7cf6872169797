// SPDX-License-Identifier: MIT
/* Unit tests for hypercall_decode() and the other helpers in vmm/hypercall.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../vmm/hypercall.h"

#define SENTINEL 0xdeadbeefu

/* Every defined call number, as the guest headers spell them. */
static const u32 calls[] = {
	PKSV_HC_VERSION, PKSV_HC_PRINT_STATS, PKSV_HC_GET_COUNTER, PKSV_HC_NOP,
	PKSV_HC_SELFTEST_INFO, PKSV_HC_RANGE_REGISTER, PKSV_HC_RANGE_UNREGISTER,
	PKSV_HC_UNPROTECT_PAGE, PKSV_HC_PROTECT_PAGE, PKSV_HC_GRANT,
	PKSV_HC_REVOKE, PKSV_HC_SET_MODE, PKSV_HC_GET_MODE, PKSV_HC_LOCK_KEY,
	PKSV_HC_VIEW_INDEX, PKSV_HC_PV_RANGES, PKSV_HC_GET_STATS,
};

static void test_abi_constants(void **state)
{
	(void)state;
	/* "PKSV" in ASCII, in RAX bits 63:32 */
	assert_int_equal(PKSV_HC_MAGIC, 0x504b5356u);
	assert_true(PKSV_HC_RAX(0) == 0x504b535600000000ull);
	assert_true(PKSV_HC_RAX(PKSV_HC_NOP) == 0x504b535600000003ull);
	/* the last call is below PKSV_HC_MAX */
	assert_int_equal(PKSV_HC_GET_STATS + 1, PKSV_HC_MAX);
	assert_int_equal(sizeof(calls) / sizeof(calls[0]), 17);
	/* ABI 1.1: minor bumped, the new calls and SET_MODE flag advertised */
	assert_int_equal(PKSV_ABI_VERSION, 0x00010001u);
	assert_int_equal(PKSV_FEAT_PV_RANGES | PKSV_FEAT_GET_STATS | PKSV_FEAT_GUEST_POLICY,
			 0x1c0u);
	assert_int_equal(PKSV_MODE_GUEST_POLICY & 0xff, 0);
}

static void test_every_call_decodes(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		u32 nr = SENTINEL;

		assert_int_equal(hypercall_decode(PKSV_HC_RAX(calls[i]), 0, &nr), 0);
		assert_int_equal(nr, calls[i]);
	}
	/* the whole 0..MAX range, reserved numbers included (the dispatcher,
	 * not the decoder, answers ENOSYS for those) */
	for (i = 0; i <= PKSV_HC_MAX; i++) {
		u32 nr = SENTINEL;

		assert_int_equal(hypercall_decode(PKSV_HC_RAX(i), 0, &nr), 0);
		assert_int_equal(nr, i);
	}
}

static void test_low_half_is_the_number(void **state)
{
	static const u32 lows[] = { 0x1a, 0x100, 0x7fffffff, 0x80000000u, 0xffffffffu };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lows) / sizeof(lows[0]); i++) {
		u32 nr = SENTINEL;

		assert_int_equal(hypercall_decode(PKSV_HC_RAX(lows[i]), 0, &nr), 0);
		assert_int_equal(nr, lows[i]);
	}
}

static void test_cpl_nonzero(void **state)
{
	unsigned int cpl;
	size_t i;

	(void)state;
	for (cpl = 1; cpl <= 3; cpl++) {
		for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
			u32 nr = SENTINEL;

			assert_int_equal(hypercall_decode(PKSV_HC_RAX(calls[i]), cpl, &nr), -1);
			assert_int_equal(nr, SENTINEL);	/* untouched */
		}
	}
	/* anything that is not 0, not only 1..3 */
	{
		u32 nr = SENTINEL;

		assert_int_equal(hypercall_decode(PKSV_HC_RAX(0), 4, &nr), -1);
		assert_int_equal(hypercall_decode(PKSV_HC_RAX(0), ~0u, &nr), -1);
		assert_int_equal(nr, SENTINEL);
	}
}

static void test_wrong_magic(void **state)
{
	unsigned int bit;
	u32 nr = SENTINEL;

	(void)state;
	/* every single-bit corruption of the magic */
	for (bit = 32; bit < 64; bit++) {
		u64 rax = PKSV_HC_RAX(PKSV_HC_VERSION) ^ (1ull << bit);

		assert_int_equal(hypercall_decode(rax, 0, &nr), -1);
	}
	/* no magic at all: a plain VMCALL with a small RAX, as KVM guests do */
	assert_int_equal(hypercall_decode(0, 0, &nr), -1);
	assert_int_equal(hypercall_decode(PKSV_HC_NOP, 0, &nr), -1);
	/* magic in the wrong half */
	assert_int_equal(hypercall_decode(PKSV_HC_MAGIC, 0, &nr), -1);
	/* byte-swapped magic ("VSKP") */
	assert_int_equal(hypercall_decode(0x56534b5000000000ull, 0, &nr), -1);
	/* all ones */
	assert_int_equal(hypercall_decode(~0ull, 0, &nr), -1);
	assert_int_equal(nr, SENTINEL);
	/* wrong magic and CPL 3 */
	assert_int_equal(hypercall_decode(0, 3, &nr), -1);
	assert_int_equal(nr, SENTINEL);
}

static void test_counter_valid(void **state)
{
	u64 id;

	(void)state;
	for (id = 0; id < PKSV_CTR_MAX; id++)
		assert_true(hypercall_counter_valid(id));
	assert_true(hypercall_counter_valid(PKSV_CTR_EXITS));
	assert_true(hypercall_counter_valid(PKSV_CTR_PK_FAULTS));
	assert_int_equal(PKSV_CTR_MSR_REFUSED + 1, PKSV_CTR_MAX);
	assert_false(hypercall_counter_valid(PKSV_CTR_MAX));
	assert_false(hypercall_counter_valid(PKSV_CTR_MAX + 1));
	assert_false(hypercall_counter_valid(0x100000000ull));	/* no truncation */
	assert_false(hypercall_counter_valid(1ull << 63));	/* no sign issues */
	assert_false(hypercall_counter_valid(~0ull));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abi_constants),
		cmocka_unit_test(test_every_call_decodes),
		cmocka_unit_test(test_low_half_is_the_number),
		cmocka_unit_test(test_cpl_nonzero),
		cmocka_unit_test(test_wrong_magic),
		cmocka_unit_test(test_counter_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
