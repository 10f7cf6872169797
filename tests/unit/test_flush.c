// SPDX-License-Identifier: MIT
/*
 * The one invalidation place (vmm/flush.c) with the VMX instructions
 * recorded instead of executed (PKSV_HOST_TEST): INVEPT/INVVPID types
 * from the capability MSR, the one VPID numbering, and the global
 * protection generation that makes an EPT change made on one vCPU reach
 * every other vCPU at its next VM entry (docs/architecture.md, "SMP").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../vmm/exit.h"
#include "../../vmm/vmx.h"

/* ---- fakes ---------------------------------------------------------- */

#define MAX_CALLS	64

static struct inv_call {
	bool vpid;		/* INVVPID, else INVEPT */
	u64 type;
	u64 operand;		/* EPTP or VPID */
} calls[MAX_CALLS];
static unsigned int nr_calls;

void invept_at(u64 type, u64 eptp, const char *file, int line)
{
	(void)file;
	(void)line;
	assert_true(nr_calls < MAX_CALLS);
	calls[nr_calls++] = (struct inv_call){ false, type, eptp };
}

void invvpid_at(u64 type, u16 vpid, const char *file, int line)
{
	(void)file;
	(void)line;
	assert_true(nr_calls < MAX_CALLS);
	calls[nr_calls++] = (struct inv_call){ true, type, vpid };
}

/* vmm/shootdown.c: the EPT flushes that owe a shootdown (tested there). */
static unsigned int owed;

void shootdown_owe_here(struct hv *h)
{
	assert_int_equal(h->nr_vcpus, 3);
	owed++;
}

/* ---- fixtures ------------------------------------------------------- */

#define BASE_EPTP	0x100001eull
#define VIEW_EPTP(i)	(0x200001eull + ((u64)(i) << 12))
#define CAP_INVEPT_BOTH	(EPT_CAP_INVEPT | EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL)
#define CAP_VPID_BOTH	(VPID_CAP_INVVPID | VPID_CAP_SINGLE | VPID_CAP_ALL)

static struct hv *hv;
static struct vcpu *cpu[3];

static int setup(void **state)
{
	(void)state;
	hv = calloc(1, sizeof(*hv));
	assert_non_null(hv);
	hv->eptp = BASE_EPTP;
	hv->msrs.ept_vpid_cap = CAP_INVEPT_BOTH | CAP_VPID_BOTH;
	hv->vmx.has_vpid = true;
	for (unsigned int i = 0; i < 3; i++) {
		cpu[i] = calloc(1, sizeof(*cpu[i]));
		assert_non_null(cpu[i]);
		cpu[i]->id = i;
		cpu[i]->hv = hv;
	}
	nr_calls = 0;
	owed = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < 3; i++)
		free(cpu[i]);
	free(hv);
	return 0;
}

static void assert_call(unsigned int i, bool vpid, u64 type, u64 operand)
{
	assert_true(i < nr_calls);
	assert_int_equal(calls[i].vpid, vpid);
	assert_int_equal(calls[i].type, type);
	assert_int_equal(calls[i].operand, operand);
}

/* ---- cases ---------------------------------------------------------- */

/* vCPU n has VPID 1 + n in the VMCS and in every INVVPID (0 is root's). */
static void test_vpid_numbering(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(vcpu_vpid(cpu[i]), 1 + i);
	vcpu_flush_vpid(cpu[2]);
	assert_call(0, true, INVVPID_SINGLE_CONTEXT, 3);
	/* Keeping globals is asked for but not offered: single-context. */
	vcpu_flush_vpid_nonglobal(cpu[1]);
	assert_call(1, true, INVVPID_SINGLE_CONTEXT, 2);
	hv->msrs.ept_vpid_cap |= VPID_CAP_SINGLE_KEEP_GLOBALS;
	vcpu_flush_vpid_nonglobal(cpu[1]);
	assert_call(2, true, INVVPID_SINGLE_KEEP_GLOBALS, 2);
	/* No VPIDs in use: nothing to flush. */
	hv->vmx.has_vpid = false;
	vcpu_flush_vpid(cpu[0]);
	assert_int_equal(nr_calls, 3);
}

/* Nothing changed: VM entry costs no INVEPT. */
static void test_entry_current_is_free(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < 3; i++)
		assert_false(vcpu_flush_stale(cpu[i]));
	assert_int_equal(nr_calls, 0);
}

/*
 * vCPU 0 changes a view: it invalidates that EPTP at once; every vCPU,
 * itself included, invalidates once at its next entry and then no more.
 */
static void test_change_reaches_every_vcpu(void **state)
{
	(void)state;
	ept_flush(hv, VIEW_EPTP(3));
	assert_int_equal(nr_calls, 1);
	assert_call(0, false, INVEPT_SINGLE_CONTEXT, VIEW_EPTP(3));
	assert_int_equal(hv->prot_generation, 1);

	for (unsigned int i = 0; i < 3; i++) {
		assert_true(vcpu_flush_stale(cpu[i]));
		assert_call(1 + i, false, INVEPT_ALL_CONTEXT, 0);
		assert_int_equal(cpu[i]->prot_generation, 1);
	}
	for (unsigned int i = 0; i < 3; i++)
		assert_false(vcpu_flush_stale(cpu[i]));
	assert_int_equal(nr_calls, 4);
}

/* Several changes while a vCPU was away: one invalidation covers them. */
static void test_many_changes_one_flush(void **state)
{
	(void)state;
	ept_flush(hv, VIEW_EPTP(1));
	ept_flush_all(hv);
	ept_flush(hv, VIEW_EPTP(2));
	assert_int_equal(hv->prot_generation, 3);
	nr_calls = 0;
	assert_true(vcpu_flush_stale(cpu[1]));
	assert_int_equal(nr_calls, 1);
	assert_false(vcpu_flush_stale(cpu[1]));
	/* A change after the catch-up is caught up again. */
	ept_flush(hv, VIEW_EPTP(2));
	assert_true(vcpu_flush_stale(cpu[1]));
	assert_int_equal(cpu[1]->prot_generation, 4);
}

/*
 * A CPU offering single-context INVEPT only: a stale vCPU invalidates the
 * base EPT and every valid view one by one, freed slots skipped.
 */
static void test_single_context_only(void **state)
{
	unsigned int views[] = { 1, 4, 6 };

	(void)state;
	hv->msrs.ept_vpid_cap = EPT_CAP_INVEPT | EPT_CAP_INVEPT_SINGLE;
	for (unsigned int i = 0; i < 3; i++) {
		hv->pks.views[views[i]].valid = true;
		hv->pks.views[views[i]].eptp = VIEW_EPTP(views[i]);
	}
	hv->pks.views[5].eptp = VIEW_EPTP(5);	/* freed: not valid */
	ept_flush_all(hv);
	assert_int_equal(nr_calls, 4);
	nr_calls = 0;
	assert_true(vcpu_flush_stale(cpu[2]));
	assert_int_equal(nr_calls, 4);
	assert_call(0, false, INVEPT_SINGLE_CONTEXT, BASE_EPTP);
	for (unsigned int i = 0; i < 3; i++)
		assert_call(1 + i, false, INVEPT_SINGLE_CONTEXT, VIEW_EPTP(views[i]));
}

/* All-context only: one view's flush uses it too (never an unoffered type). */
static void test_all_context_only(void **state)
{
	(void)state;
	hv->msrs.ept_vpid_cap = EPT_CAP_INVEPT | EPT_CAP_INVEPT_ALL;
	ept_flush(hv, VIEW_EPTP(2));
	assert_call(0, false, INVEPT_ALL_CONTEXT, VIEW_EPTP(2));
	assert_true(vcpu_flush_stale(cpu[0]));
	assert_call(1, false, INVEPT_ALL_CONTEXT, 0);
}

/*
 * Every EPT invalidation with more than one vCPU owes a shootdown (the
 * others may run on stale TLBs); with one vCPU there is no one to shoot
 * and not even the look-up of the vCPU is paid.
 */
static void test_flush_owes_shootdown_on_smp(void **state)
{
	(void)state;
	hv->nr_vcpus = 1;
	ept_flush(hv, VIEW_EPTP(1));
	ept_flush_all(hv);
	assert_int_equal(owed, 0);
	hv->nr_vcpus = 3;
	ept_flush(hv, VIEW_EPTP(1));
	assert_int_equal(owed, 1);
	ept_flush_all(hv);
	assert_int_equal(owed, 2);
	/* A vCPU catching up owes nothing: it changed nothing. */
	assert_true(vcpu_flush_stale(cpu[1]));
	assert_int_equal(owed, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vpid_numbering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_current_is_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_reaches_every_vcpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_changes_one_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_context_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_context_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_owes_shootdown_on_smp, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
