// SPDX-License-Identifier: MIT
/*
 * Unit tests for vmm/guest_refuse.h: Intel PT hidden from CPUID (leaf 7
 * EBX[25], leaf 0x14) whatever the CPU reports, every RTIT MSR (0x560 ..
 * 0x587) refused and no neighbour, and IA32_APIC_BASE values whose APIC
 * page touches the reservation refused (flag bits ignored).  Bochs has no
 * Intel PT, so the guest test (pksv-hidden.efi) cannot show the CPUID
 * filter at work: this does, with a CPU that sets every bit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../vmm/guest_refuse.h"

static void test_cpuid_pt_hidden(void **state)
{
	u32 a = ~0u, b = ~0u, c = ~0u, d = ~0u;

	(void)state;
	cpuid_hide_pt(7, 0, &a, &b, &c, &d);
	assert_int_equal(b, ~0u & ~(1u << 25));
	assert_int_equal(a, ~0u);
	assert_int_equal(c, ~0u);
	assert_int_equal(d, ~0u);
	b = ~0u;
	cpuid_hide_pt(7, 1, &a, &b, &c, &d);	/* other subleaves untouched */
	assert_int_equal(b, ~0u);
	for (u32 sub = 0; sub < 3; sub++) {
		a = b = c = d = ~0u;
		cpuid_hide_pt(0x14, sub, &a, &b, &c, &d);
		assert_true(!a && !b && !c && !d);
	}
	a = b = c = d = ~0u;
	cpuid_hide_pt(0x15, 0, &a, &b, &c, &d);
	assert_true(a == ~0u && b == ~0u && c == ~0u && d == ~0u);
}

static void test_rtit_msrs(void **state)
{
	(void)state;
	assert_false(msr_is_rtit(0x55f));
	for (u32 msr = 0x560; msr <= 0x587; msr++)
		assert_true(msr_is_rtit(msr));
	assert_true(msr_is_rtit(0x570));	/* IA32_RTIT_CTL */
	assert_false(msr_is_rtit(0x588));
	assert_false(msr_is_rtit(0x6e1));	/* IA32_PKRS */
}

static void test_apic_base(void **state)
{
	const u64 base = 0x7e000000, size = 0x1200000;

	(void)state;
	assert_false(apic_base_in_range(0xfee00900, base, size));
	assert_true(apic_base_in_range(base | 0x900, base, size));
	assert_true(apic_base_in_range((base + size - 0x1000) | 0x100, base, size));
	assert_false(apic_base_in_range((base + size) | 0x900, base, size));
	assert_false(apic_base_in_range((base - 0x1000) | 0xd00, base, size));
	/* Flag bits 11:0 and bits above MAXPHYADDR do not hide the address. */
	assert_true(apic_base_in_range((base + 0x5000) | 0xfff, base, size));
	assert_true(apic_base_in_range((1ull << 63) | (base + 0x5000), base, size));
}

/*
 * review2 finding 4: the xAPIC page must lie inside the host identity map
 * [0, limit) (vmm/host.c), or lapic_send_nmi() would #PF in VMX root.
 */
static void test_apic_base_unmapped(void **state)
{
	const u64 limit = 512ull << 30;		/* 1-GiB pages: 512 GiB mapped */
	const u64 xapic = BIT(11), x2apic = BIT(11) | BIT(10), bsp = BIT(8);

	(void)state;
	assert_false(apic_base_unmapped(0xfee00000 | xapic | bsp, limit));
	/* The last page inside the map; the first one outside. */
	assert_false(apic_base_unmapped((limit - 0x1000) | xapic, limit));
	assert_true(apic_base_unmapped(limit | xapic, limit));
	assert_true(apic_base_unmapped((1ull << 39 | 1ull << 38) | xapic | bsp, 4ull << 30));
	assert_true(apic_base_unmapped(((1ull << 46) - 0x1000) | xapic, limit));
	/* A limit that is not page aligned (a tested corner, not a real one). */
	assert_true(apic_base_unmapped((limit - 0x1000) | xapic, limit - 0x800));
	/* No page in use: x2APIC mode, or the APIC disabled. */
	assert_false(apic_base_unmapped(limit | x2apic, limit));
	assert_false(apic_base_unmapped(limit, limit));
	assert_false(apic_base_unmapped(limit | BIT(10), limit));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuid_pt_hidden),
		cmocka_unit_test(test_rtit_msrs),
		cmocka_unit_test(test_apic_base),
		cmocka_unit_test(test_apic_base_unmapped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
