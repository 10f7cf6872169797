// SPDX-License-Identifier: MIT
/*
 * The decisions of the injection queue (vmm/inject_merge.c).
 *
 * The event merge against SDM Vol. 3A 6.15, Tables 6-4 and 6-5, for every
 * pair of (queued event, new exception): every interruption type and
 * vector that can be queued, every exception vector 0-31 that a handler
 * can inject.  The expected classes are written out here from the SDM
 * tables, not computed by the code under test.
 *
 * The NMI decision over every combination of its inputs, against the
 * rules it must keep: never inject into blocking the VM-entry checks
 * refuse (SDM 26.3.1.5), never inject during a single step, never leave an
 * injectable NMI waiting, never ask for an NMI window without virtual
 * NMIs (SDM 26.2.1.1).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../vmm/inject.h"
#include "../../vmm/vmx.h"

/* Table 6-4. */
static const unsigned int contributory[] = { 0, 10, 11, 12, 13, 21 };
static const unsigned int page_faults[] = { 14, 20 };

static int in(const unsigned int *set, size_t n, unsigned int v)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == v)
			return 1;
	return 0;
}

static enum event_class expected_class(u32 type, u32 vector)
{
	if (type != INTR_TYPE_HW_EXCEPTION)
		return EVENT_BENIGN;
	if (vector == 8)
		return EVENT_DOUBLE_FAULT;
	if (in(contributory, sizeof(contributory) / sizeof(contributory[0]), vector))
		return EVENT_CONTRIBUTORY;
	if (in(page_faults, sizeof(page_faults) / sizeof(page_faults[0]), vector))
		return EVENT_PAGE_FAULT;
	return EVENT_BENIGN;
}

static u32 info(u32 type, u32 vector, int err)
{
	return INTR_INFO_VALID | type | vector | (err ? INTR_INFO_ERROR_CODE : 0);
}

static const u32 types[] = {
	INTR_TYPE_EXT_INTR, INTR_TYPE_NMI, INTR_TYPE_HW_EXCEPTION,
	INTR_TYPE_SW_INTR, INTR_TYPE_PRIV_SW_EXC, INTR_TYPE_SW_EXC,
};

static void test_classes(void **state)
{
	(void)state;
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
		for (u32 v = 0; v < 256; v++)
			assert_int_equal(event_class_of(info(types[t], v, 0)),
					 expected_class(types[t], v));
	/* the error-code bit does not change the class */
	assert_int_equal(event_class_of(info(INTR_TYPE_HW_EXCEPTION, 14, 1)), EVENT_PAGE_FAULT);
	assert_int_equal(event_class_of(info(INTR_TYPE_HW_EXCEPTION, 13, 1)), EVENT_CONTRIBUTORY);
	/* an NMI is benign (vector 2 in Table 6-4) */
	assert_int_equal(event_class_of(info(INTR_TYPE_NMI, 2, 0)), EVENT_BENIGN);
	/* INT 13 / INT 14 are software interrupts, not #GP / #PF */
	assert_int_equal(event_class_of(info(INTR_TYPE_SW_INTR, 13, 0)), EVENT_BENIGN);
	assert_int_equal(event_class_of(info(INTR_TYPE_SW_INTR, 14, 0)), EVENT_BENIGN);
}

static enum inject_merge expected_merge(u32 qtype, u32 qvec, u32 nvec)
{
	enum event_class first = expected_class(qtype, qvec);
	enum event_class second = expected_class(INTR_TYPE_HW_EXCEPTION, nvec);

	if (first == EVENT_DOUBLE_FAULT)
		return MERGE_TRIPLE_FAULT;
	/* Table 6-5, row by row. */
	if (first == EVENT_CONTRIBUTORY && second == EVENT_CONTRIBUTORY)
		return MERGE_DOUBLE_FAULT;
	if (first == EVENT_PAGE_FAULT && second != EVENT_BENIGN &&
	    second != EVENT_DOUBLE_FAULT)
		return MERGE_DOUBLE_FAULT;
	if (qtype == INTR_TYPE_NMI || qtype == INTR_TYPE_EXT_INTR)
		return MERGE_NEW_THEN_QUEUED;
	return MERGE_NEW;
}

/* Every queued (type, vector) against every new exception 0-31. */
static void test_merge_exhaustive(void **state)
{
	unsigned int df = 0, tf = 0, after = 0, serial = 0;

	(void)state;
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
		for (u32 qv = 0; qv < 256; qv++)
			for (u32 nv = 0; nv < 32; nv++)
				for (int qe = 0; qe < 2; qe++) {
					enum inject_merge got, want;

					got = inject_merge_decide(info(types[t], qv, qe),
								  info(INTR_TYPE_HW_EXCEPTION, nv, 1));
					want = expected_merge(types[t], qv, nv);
					if (got != want)
						fail_msg("queued type %u vector %u, new %u: got %d want %d",
							 types[t] >> 8, qv, nv, got, want);
					df += got == MERGE_DOUBLE_FAULT;
					tf += got == MERGE_TRIPLE_FAULT;
					after += got == MERGE_NEW_THEN_QUEUED;
					serial += got == MERGE_NEW;
				}
	/* (6 contributory x 6 + 2 page-fault classes x 8) x 2 error bits */
	assert_int_equal(df, (6 * 6 + 2 * 8) * 2);
	/* queued #DF x 32 new x 2 */
	assert_int_equal(tf, 32 * 2);
	/* NMI vectors 0-255 and external interrupts 0-255, x 32 x 2 */
	assert_int_equal(after, 2 * 256 * 32 * 2);
	assert_int_equal(df + tf + after + serial, 6 * 256 * 32 * 2);
}

/* The cases the SDM spells out, by name. */
static void test_merge_examples(void **state)
{
	u32 gp = info(INTR_TYPE_HW_EXCEPTION, 13, 1);
	u32 pf = info(INTR_TYPE_HW_EXCEPTION, 14, 1);
	u32 ud = info(INTR_TYPE_HW_EXCEPTION, 6, 0);
	u32 de = info(INTR_TYPE_HW_EXCEPTION, 0, 0);
	u32 dfault = info(INTR_TYPE_HW_EXCEPTION, 8, 1);
	u32 nmi = info(INTR_TYPE_NMI, 2, 0);
	u32 irq = info(INTR_TYPE_EXT_INTR, 0x30, 0);
	u32 int80 = info(INTR_TYPE_SW_INTR, 0x80, 0);
	u32 int3 = info(INTR_TYPE_SW_EXC, 3, 0);

	(void)state;
	assert_int_equal(inject_merge_decide(gp, gp), MERGE_DOUBLE_FAULT);
	assert_int_equal(inject_merge_decide(de, gp), MERGE_DOUBLE_FAULT);
	assert_int_equal(inject_merge_decide(pf, pf), MERGE_DOUBLE_FAULT);
	assert_int_equal(inject_merge_decide(pf, gp), MERGE_DOUBLE_FAULT);
	/* contributory then #PF: serial (Table 6-5 row 2, column 3) */
	assert_int_equal(inject_merge_decide(gp, pf), MERGE_NEW);
	assert_int_equal(inject_merge_decide(pf, ud), MERGE_NEW);
	assert_int_equal(inject_merge_decide(ud, gp), MERGE_NEW);
	assert_int_equal(inject_merge_decide(dfault, ud), MERGE_TRIPLE_FAULT);
	assert_int_equal(inject_merge_decide(dfault, pf), MERGE_TRIPLE_FAULT);
	assert_int_equal(inject_merge_decide(nmi, pf), MERGE_NEW_THEN_QUEUED);
	assert_int_equal(inject_merge_decide(nmi, gp), MERGE_NEW_THEN_QUEUED);
	assert_int_equal(inject_merge_decide(irq, pf), MERGE_NEW_THEN_QUEUED);
	/* software events come back when the instruction runs again */
	assert_int_equal(inject_merge_decide(int80, gp), MERGE_NEW);
	assert_int_equal(inject_merge_decide(int3, pf), MERGE_NEW);
}

static void test_nmi_decide_exhaustive(void **state)
{
	unsigned int inject = 0, nmi_window = 0;

	(void)state;
	for (u32 pending = 0; pending <= 2; pending++)
	for (int queued = 0; queued < 2; queued++)
	for (int stepping = 0; stepping < 2; stepping++)
	for (u32 intr = 0; intr < 16; intr++)	/* STI, MOV SS, SMI, NMI */
	for (u32 activity = 0; activity < 4; activity++)
	for (int vnmi = 0; vnmi < 2; vnmi++)
	for (int iw = 0; iw < 2; iw++) {
		struct nmi_state st = {
			.pending = pending, .event_queued = queued,
			.stepping = stepping, .interruptibility = intr,
			.activity = activity, .virtual_nmis = vnmi,
			.intr_window = iw,
		};
		enum nmi_action a = inject_nmi_decide(&st);
		int blocked = intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS | INTR_BLOCK_NMI);
		int runnable = activity == ACTIVITY_ACTIVE || activity == ACTIVITY_HLT;

		if (!pending) {
			assert_int_equal(a, NMI_NOTHING);
			continue;
		}
		assert_int_not_equal(a, NMI_NOTHING);
		/* injection exactly when nothing forbids it */
		assert_int_equal(a == NMI_INJECT,
				 !queued && !stepping && !blocked && runnable);
		/* a step or a vCPU that cannot take events: the next exit */
		if (stepping || !runnable)
			assert_int_equal(a, NMI_NEXT_EXIT);
		/* windows only when the controls exist */
		if (a == NMI_NMI_WINDOW)
			assert_true(vnmi);
		if (a == NMI_INTR_WINDOW) {
			assert_false(vnmi);
			assert_true(iw);
			/* the interrupt window cannot see an IRET */
			assert_false(intr & INTR_BLOCK_NMI);
		}
		/* with virtual NMIs a blocked NMI always gets its window */
		if (vnmi && !stepping && runnable && (queued || blocked))
			assert_int_equal(a, NMI_NMI_WINDOW);
		inject += a == NMI_INJECT;
		nmi_window += a == NMI_NMI_WINDOW;
	}
	/* pending 1-2 x (no event, no step, 2 of 16 intr, 2 activities) x 4 */
	assert_int_equal(inject, 2 * 2 * 2 * 4);
	assert_true(nmi_window > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_merge_exhaustive),
		cmocka_unit_test(test_merge_examples),
		cmocka_unit_test(test_nmi_decide_exhaustive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
