// SPDX-License-Identifier: MIT
/* Unit tests for lib/format.c: compared against the C library where the
 * behaviour must match, and against literal strings elsewhere. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <pksvisor/format.h>

/* Format with both implementations and require identical output + length. */
#define SAME(fmt, ...) do {						\
	char a[128], b[128];						\
	int ra = pksv_snprintf(a, sizeof(a), fmt, __VA_ARGS__);		\
	int rb = snprintf(b, sizeof(b), fmt, __VA_ARGS__);		\
	assert_string_equal(a, b);					\
	assert_int_equal(ra, rb);					\
} while (0)

static void test_integers(void **state)
{
	(void)state;
	SAME("%d", 0);
	SAME("%d", 42);
	SAME("%d", -42);
	SAME("%i", -2147483647 - 1);
	SAME("%u", 4294967295u);
	SAME("%ld", -1234567890123L);
	SAME("%lld", (long long)INT64_MIN);
	SAME("%llu", (unsigned long long)UINT64_MAX);
	SAME("%zu", (size_t)123456789);
	SAME("%zd", (size_t)77);
	SAME("a%db%uc", -1, 1u);
}

static void test_hex(void **state)
{
	(void)state;
	SAME("%x", 0xdeadbeefu);
	SAME("%X", 0xdeadbeefu);
	SAME("%lx", 0xfedcba9876543210UL);
	SAME("%llx", 0xffffffffffffffffULL);
	SAME("%llX", 0x00000000c0ffee00ULL);
	SAME("%016llx", 0x1234ULL);
	SAME("%x", 0u);
	SAME("0x%08x", 0x3f8u);
}

static void test_widths_flags(void **state)
{
	(void)state;
	SAME("[%5d]", 42);
	SAME("[%-5d]", 42);
	SAME("[%05d]", 42);
	SAME("[%05d]", -42);
	SAME("[%5d]", -42);
	SAME("[%2d]", 12345);
	SAME("[%8s]", "abc");
	SAME("[%-8s]", "abc");
	SAME("[%3c]", 'x');
	SAME("[%-3c]", 'x');
	SAME("[%*d]", 6, 7);
	SAME("[%-*d]", 6, 7);
	SAME("%s %s", "hello", "world");
	SAME("%c%c%c", 'p', 'k', 's');
	SAME("100%% %d", 1);
}

static void test_pointer(void **state)
{
	char a[64];
	int r;

	(void)state;
	r = pksv_snprintf(a, sizeof(a), "%p", (void *)0x1000);
	assert_string_equal(a, "0x1000");
	assert_int_equal(r, 6);
	r = pksv_snprintf(a, sizeof(a), "%p", (void *)0xffff800000001234ULL);
	assert_string_equal(a, "0xffff800000001234");
	assert_int_equal(r, 18);
}

static void test_truncation(void **state)
{
	char buf[8];
	int r;

	(void)state;
	memset(buf, 'Z', sizeof(buf));
	r = pksv_snprintf(buf, 5, "%s", "abcdefgh");
	assert_int_equal(r, 8);
	assert_string_equal(buf, "abcd");
	assert_int_equal(buf[5], 'Z');	/* nothing written past size */

	r = pksv_snprintf(buf, 1, "%d", 12345);
	assert_int_equal(r, 5);
	assert_int_equal(buf[0], '\0');

	/* size 0: nothing written at all, not even the terminator */
	memset(buf, 'Z', sizeof(buf));
	r = pksv_snprintf(buf, 0, "%llx", 0xffffffffffULL);
	assert_int_equal(r, 10);
	assert_int_equal(buf[0], 'Z');
	r = pksv_snprintf(NULL, 0, "%s=%d", "key", -3);
	assert_int_equal(r, 6);

	/* exact fit */
	r = pksv_snprintf(buf, 8, "%07d", 5);
	assert_int_equal(r, 7);
	assert_string_equal(buf, "0000005");
	r = pksv_snprintf(buf, 8, "%08d", 5);
	assert_int_equal(r, 8);
	assert_string_equal(buf, "0000000");
}

static void test_null_string(void **state)
{
	char a[32];
	const char *volatile null = NULL;	/* hide it from -Wformat */

	(void)state;
	pksv_snprintf(a, sizeof(a), "[%s]", null);
	assert_string_equal(a, "[(null)]");
}

static void test_mem_helpers(void **state)
{
	char a[16], b[16];

	(void)state;
	assert_ptr_equal(pksv_memset(a, 0x5a, sizeof(a)), a);
	for (size_t i = 0; i < sizeof(a); i++)
		assert_int_equal((unsigned char)a[i], 0x5a);
	assert_ptr_equal(pksv_memcpy(b, "0123456789abcde", 16), b);
	assert_string_equal(b, "0123456789abcde");
	assert_int_equal(pksv_memcmp("abc", "abc", 3), 0);
	assert_true(pksv_memcmp("abc", "abd", 3) < 0);
	assert_true(pksv_memcmp("\xff", "\x01", 1) > 0);
	assert_int_equal(pksv_memcmp("abX", "abY", 2), 0);
	assert_int_equal(pksv_strlen(""), 0);
	assert_int_equal(pksv_strlen("pksvisor"), 8);
	assert_int_equal(pksv_strncmp("next=a", "next=b", 5), 0);
	assert_true(pksv_strncmp("next=a", "next=b", 6) < 0);
	assert_true(pksv_strncmp("b", "a", 6) > 0);
	assert_int_equal(pksv_strncmp("ab", "ab", 10), 0);
	assert_true(pksv_strncmp("ab", "abc", 10) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_widths_flags),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_null_string),
		cmocka_unit_test(test_mem_helpers),
	};

	return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
