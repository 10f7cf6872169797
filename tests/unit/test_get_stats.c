// SPDX-License-Identifier: MIT
/*
 * PKSV_HC_GET_STATS (vmm/hypercall_stats.c) and the guest-buffer checks
 * it relies on (pks/guest_buffer.c), the real files on a fake guest whose
 * "physical" memory is host memory (pksvisor identity-maps the guest):
 *  - success: the calling vCPU's machine line without the serial prefix,
 *    NUL-terminated, its length in RBX, nothing written past it;
 *  - refusals, each leaving the buffer and the result untouched: length 0
 *    or above a page (EINVAL), unaligned (EALIGN), not guest RAM, across
 *    the end of RAM, inside pksvisor's pool, above the EPT limit (EFAULT),
 *    a page keyed by registration or discovery, a multi-key alias, a page
 *    in the global-unprotect table or a tracked guest page table (EPERM:
 *    the hypervisor's write would bypass PKS and EPT), too small (ENOSPC).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pksvisor/stats.h>
#include "../../vmm/hypercall.h"
#include "../../pks/pks_internal.h"

const char *pks_backend_str(const struct hv *hv) { (void)hv; return "soft"; }

static struct hv *hv;
static struct vcpu *vcpu;
static u8 *ram;			/* 4 guest pages, identity "mapped" */
#define RAM_PAGES 4

static u64 gpa_of(unsigned int page)
{
	return (u64)(uintptr_t)ram + page * 4096ull;
}

static int setup(void **state)
{
	(void)state;
	hv = calloc(1, sizeof(*hv));
	vcpu = calloc(1, sizeof(*vcpu));
	ram = aligned_alloc(4096, RAM_PAGES * 4096);
	memset(ram, 0xaa, RAM_PAGES * 4096);
	vcpu->hv = hv;
	vcpu->id = 3;
	hv->pks.backend = PKS_BACKEND_SOFT;
	keymap_init(&hv->pks.keymap);
	unprotect_init(&hv->pks.unprotect);
	hv->phys_limit = ~0ull;
	/* RAM: the first three pages; the fourth is pksvisor's pool. */
	hv->nr_ram = 1;
	hv->ram[0].start = gpa_of(0);
	hv->ram[0].end = gpa_of(3);
	hv->pool.base = gpa_of(3);
	hv->pool.size = 4096;
	vcpu->stats.exits = 1234;
	vcpu->stats.exit_reason[10] = 1000;
	vcpu->stats.hypercalls[PKSV_HC_GET_STATS] = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	free(vcpu);
	free(hv);
	return 0;
}

static s64 get_stats(u64 gpa, u64 len, u64 *out)
{
	struct hc_args a = { .in = { gpa, len, 0, 0 } };
	s64 ret = hc_get_stats(vcpu, &a);

	*out = a.out[0];
	return ret;
}

static bool untouched(unsigned int page)
{
	for (unsigned int i = 0; i < 4096; i++)
		if (ram[page * 4096 + i] != 0xaa)
			return false;
	return true;
}

static void test_success(void **state)
{
	char want[1024];
	u64 out;
	int n;

	(void)state;
	n = stats_format_body(want, sizeof(want), 3, "soft", &vcpu->stats);
	assert_int_equal(get_stats(gpa_of(1), 4096, &out), 0);
	assert_int_equal(out, (u64)n);
	assert_string_equal((char *)ram + 4096, want);
	assert_memory_equal(want, "vcpu=3 backend=soft exits=1234 ", 31);
	assert_non_null(strstr(want, " exit.cpuid=1000"));
	assert_non_null(strstr(want, " hc.get_stats=1"));
	/* Nothing past the NUL; neighbours untouched. */
	assert_int_equal(ram[4096 + n + 1], 0xaa);
	assert_true(untouched(0) && untouched(2));
	/* Exactly the room needed is enough. */
	memset(ram + 4096, 0xaa, 4096);
	assert_int_equal(get_stats(gpa_of(1), (u64)n + 1, &out), 0);
	assert_string_equal((char *)ram + 4096, want);
}

static void expect_refused(u64 gpa, u64 len, s64 err)
{
	u64 out;

	assert_int_equal(get_stats(gpa, len, &out), err);
	/* RBX untouched: out[0] is in[0]'s slot (vmm/hypercall.h). */
	assert_int_equal(out, gpa);
	for (unsigned int p = 0; p < RAM_PAGES; p++)
		assert_true(untouched(p));
}

static void test_bad_buffers(void **state)
{
	(void)state;
	expect_refused(gpa_of(1), 0, -PKSV_EINVAL);
	expect_refused(gpa_of(1), 4097, -PKSV_EINVAL);
	expect_refused(gpa_of(1) + 8, 64, -PKSV_EALIGN);
	expect_refused(gpa_of(3), 4096, -PKSV_EFAULT);		/* pksvisor's pool */
	expect_refused(gpa_of(0) - 4096, 4096, -PKSV_EFAULT);	/* not RAM */
	hv->ram[0].end = gpa_of(2) + 2048;
	expect_refused(gpa_of(2), 4096, -PKSV_EFAULT);		/* across the end of RAM */
	hv->ram[0].end = gpa_of(3);
	hv->phys_limit = gpa_of(1);
	expect_refused(gpa_of(1), 4096, -PKSV_EFAULT);		/* above the EPT map */
	hv->phys_limit = ~0ull;
	expect_refused(gpa_of(1), 16, -PKSV_ENOSPC);		/* line does not fit */
}

static void test_guarded_pages(void **state)
{
	struct pks_global *pks = &hv->pks;
	bool changed;
	u64 out;

	(void)state;
	/* Registered keyed range (PMEM): a hypervisor write would bypass PKS. */
	assert_int_equal(keymap_add(&pks->keymap, gpa_of(1), 4096, 5, KEYMAP_PV), 0);
	expect_refused(gpa_of(1), 4096, -PKSV_EPERM);
	assert_int_equal(keymap_remove(&pks->keymap, gpa_of(1), 4096, KEYMAP_PV), 0);
	/* Discovered key. */
	assert_int_equal(keymap_add(&pks->keymap, gpa_of(0), 8192, 2, KEYMAP_DISCOVERED), 0);
	expect_refused(gpa_of(1), 4096, -PKSV_EPERM);
	keymap_clear_source(&pks->keymap, KEYMAP_DISCOVERED);
	/* Multi-key alias. */
	pks->multi[0].start = gpa_of(1);
	pks->multi[0].end = gpa_of(2);
	pks->multi[0].keys = 0x6;
	pks->nr_multi = 1;
	expect_refused(gpa_of(1), 4096, -PKSV_EPERM);
	pks->nr_multi = 0;
	/* Globally unprotected (kmap()ed) page. */
	assert_int_equal(unprotect_get(&pks->unprotect, gpa_of(1) >> 12,
				       PKSV_ACCESS_READ, &changed), 0);
	expect_refused(gpa_of(1), 4096, -PKSV_EPERM);
	unprotect_init(&pks->unprotect);
	/* A guest page table discovery write-protects. */
	pks->tables[0] = gpa_of(1);
	pks->nr_tables = 1;
	expect_refused(gpa_of(1), 4096, -PKSV_EPERM);
	pks->nr_tables = 0;
	/* The neighbour of a guarded page is fine. */
	assert_int_equal(keymap_add(&pks->keymap, gpa_of(2), 4096, 5, KEYMAP_PV), 0);
	assert_int_equal(get_stats(gpa_of(1), 4096, &out), 0);
	assert_true(untouched(2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guarded_pages, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
