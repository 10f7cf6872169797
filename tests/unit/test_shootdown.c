// SPDX-License-Identifier: MIT
/*
 * The shootdown protocol (vmm/shootdown.c) on the host: vCPUs are plain
 * structs, the NMI IPI is a recorded call whose "delivery" is chosen by
 * the case, the re-sync and INVEPT are counters.  Two cases run two
 * vCPUs on two real threads: two senders at once must both finish (each
 * serves the other's request while it waits).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../vmm/exit.h"
#include "../../vmm/lapic.h"
#include "../../vmm/shootdown.h"
#include "../../vmm/vmx_timer.h"
#include "../../pks/pks_vmm.h"

#define NR	4

static struct hv *hv;
static struct vcpu *cpu[NR];

/* ---- fakes ---------------------------------------------------------- */

/*
 * How a sent NMI arrives: DELIVER_EXIT runs the target's NMI exit at once
 * (claim, then its entry step), as a target in guest mode would;
 * DELIVER_ROOT only claims it (the target is in VMX root and passes its
 * entry step on its own thread); DELIVER_NONE: the local APIC is off;
 * DELIVER_INIT: the target took an INIT exit after the sender counted it
 * as running, so it is in wait-for-SIPI, where NMIs are blocked (SDM 3C
 * 26.6.2): the NMI stays pending and nothing exits; DELIVER_LOST: the
 * first NMI is accepted by no CPU (the target's guest had its APIC off or
 * rewrote its ID), the later ones arrive as DELIVER_EXIT;
 * DELIVER_NEVER: every NMI is accepted by no CPU (the target's guest
 * keeps its own APIC off) and the target takes no exit.
 */
static enum {
	DELIVER_EXIT, DELIVER_ROOT, DELIVER_NONE, DELIVER_INIT, DELIVER_LOST, DELIVER_NEVER
} delivery;
static unsigned int nmis_sent[NR], resyncs[NR], flushes[NR];
static bool claimed_as_shootdown[NR];

static struct vcpu *by_apic_id(u32 apic_id)
{
	for (unsigned int i = 0; i < NR; i++)
		if (cpu[i]->apic_id == apic_id)
			return cpu[i];
	fail();
	return NULL;
}

bool lapic_send_nmi(u32 apic_id, u64 mapped_limit)
{
	struct vcpu *t = by_apic_id(apic_id);

	/* The sender passes the bound of the host map (vmm/lapic.c). */
	if (mapped_limit != hv->phys_limit)
		abort();
	if (delivery == DELIVER_NONE)
		return false;
	if (delivery == DELIVER_NEVER) {
		__atomic_add_fetch(&nmis_sent[t->id], 1, __ATOMIC_RELAXED);
		return true;
	}
	if (delivery == DELIVER_LOST &&
	    __atomic_add_fetch(&nmis_sent[t->id], 1, __ATOMIC_RELAXED) == 1)
		return true;
	if (delivery == DELIVER_LOST) {
		claimed_as_shootdown[t->id] = shootdown_nmi_claim(t);
		shootdown_entry(t);
		return true;
	}
	if (delivery == DELIVER_INIT) {
		shootdown_set_state(t, SHOOT_WAIT_SIPI);
		__atomic_add_fetch(&nmis_sent[t->id], 1, __ATOMIC_RELAXED);
		return true;
	}
	__atomic_add_fetch(&nmis_sent[t->id], 1, __ATOMIC_RELAXED);
	claimed_as_shootdown[t->id] = shootdown_nmi_claim(t);
	if (delivery == DELIVER_EXIT)
		shootdown_entry(t);
	return true;
}

/*
 * owe_in_sync: re-syncs of vCPU 0 that owe a shootdown again, as a view
 * selection that builds, hands a tree over or finds no view yet does
 * (pks/views.c views_slot_degraded()).
 */
static unsigned int owe_in_sync;

void pks_remote_sync(struct vcpu *vcpu)
{
	resyncs[vcpu->id]++;
	if (vcpu->id == 0 && owe_in_sync) {
		owe_in_sync--;
		vcpu_shootdown_owe(vcpu);
	}
}

bool vcpu_flush_stale(struct vcpu *vcpu)
{
	flushes[vcpu->id]++;
	return true;
}

/*
 * vmm/ept_retire.c: what each shootdown armed the sender's retired trees
 * with, and when it reaped (after its waits).
 */
static u64 armed_need[NR];
static unsigned int arms, reaps;

void ept_retire_arm(struct vcpu *sender, const u64 *need)
{
	(void)sender;
	for (unsigned int i = 0; i < NR; i++)
		armed_need[i] = need[i];
	arms++;
}

void ept_retire_reap(struct hv *h)
{
	(void)h;
	reaps++;
}

void pksv_log(const char *fmt, ...)
{
	(void)fmt;
}

/* ---- fixtures ------------------------------------------------------- */

static int setup(void **state)
{
	(void)state;
	hv = calloc(1, sizeof(*hv));
	assert_non_null(hv);
	hv->nr_vcpus = NR;
	hv->phys_limit = 512ull << 30;
	hv->vmx.has_preemption_timer = true;	/* the backstop, as on SMP hardware */
	for (unsigned int i = 0; i < NR; i++) {
		cpu[i] = calloc(1, sizeof(*cpu[i]));
		assert_non_null(cpu[i]);
		cpu[i]->id = i;
		cpu[i]->apic_id = 0x10 + i;
		cpu[i]->hv = hv;
		hv->vcpus[i] = cpu[i];
		/* As vmm/build.c: the first exit takes the slow path. */
		cpu[i]->shoot_req = 1;
		cpu[i]->shoot_self = true;
		nmis_sent[i] = resyncs[i] = flushes[i] = 0;
		claimed_as_shootdown[i] = false;
	}
	delivery = DELIVER_EXIT;
	owe_in_sync = 0;
	memset(armed_need, 0, sizeof(armed_need));
	arms = reaps = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < NR; i++)
		free(cpu[i]);
	free(hv);
	return 0;
}

/* Every vCPU's first exit: it becomes a target, nothing taken or sent. */
static void first_exits(void)
{
	for (unsigned int i = 0; i < NR; i++) {
		shootdown_entry(cpu[i]);
		assert_int_equal(cpu[i]->shoot_state, SHOOT_RUNNING);
		assert_int_equal(cpu[i]->shoot_ack, cpu[i]->shoot_req);
		resyncs[i] = flushes[i] = 0;
	}
}

/* ---- cases ---------------------------------------------------------- */

/* First exit: a target from now on; no request was anyone's. */
static void test_first_exit_makes_a_target(void **state)
{
	(void)state;
	assert_int_equal(cpu[1]->shoot_state, SHOOT_NEW);
	shootdown_entry(cpu[1]);
	assert_int_equal(cpu[1]->shoot_state, SHOOT_RUNNING);
	assert_int_equal(cpu[1]->stats.shootdowns_taken, 0);
	assert_int_equal(cpu[1]->stats.shootdowns_sent, 0);
	/* Then the entry step is one compare: nothing pending, nothing done. */
	resyncs[1] = flushes[1] = 0;
	shootdown_entry(cpu[1]);
	assert_int_equal(resyncs[1] + flushes[1], 0);
}

/*
 * vCPU 0 changed shared state: each running vCPU gets one NMI, re-syncs
 * and acknowledges before vCPU 0 goes on; a vCPU in wait-for-SIPI and one
 * that never exited get none.
 */
static void test_owe_reaches_running_vcpus_only(void **state)
{
	(void)state;
	first_exits();
	shootdown_set_state(cpu[2], SHOOT_WAIT_SIPI);
	cpu[3]->shoot_state = SHOOT_NEW;
	vcpu_shootdown_owe(cpu[0]);
	vcpu_shootdown_owe(cpu[0]);		/* several changes, one round */
	/* The debt moved the generation: vmexit_dispatch's one test sees it. */
	assert_int_equal(hv->prot_generation, 1);
	shootdown_entry(cpu[0]);
	/*
	 * And once more after the requests: a target that caught up before
	 * its request is stale again, so any exit of it acknowledges.
	 */
	assert_int_equal(hv->prot_generation, 2);
	assert_int_equal(cpu[0]->stats.shootdowns_sent, 1);
	assert_int_equal(nmis_sent[1], 1);
	assert_true(claimed_as_shootdown[1]);
	assert_int_equal(cpu[1]->shoot_nmi, 0);
	assert_int_equal(resyncs[1], 1);
	assert_int_equal(flushes[1], 1);
	assert_int_equal(cpu[1]->stats.shootdowns_taken, 1);
	assert_int_equal(nmis_sent[2] + nmis_sent[3] + resyncs[2] + resyncs[3], 0);
	/* The sender re-synced itself once (its own request), taking nothing. */
	assert_int_equal(resyncs[0], 1);
	assert_int_equal(cpu[0]->stats.shootdowns_taken, 0);
	assert_false(cpu[0]->shoot_owed);
	assert_int_equal(cpu[0]->shoot_ack, cpu[0]->shoot_req);
	/* Retired trees wait for vCPU 1's request only, reaped after it. */
	assert_int_equal(arms, 1);
	assert_int_equal(reaps, 1);
	assert_int_equal(armed_need[1], cpu[1]->shoot_req);
	assert_int_equal(armed_need[0] + armed_need[2] + armed_need[3], 0);
}

/* One vCPU: owing is a no-op (no IPI, the entry step stays one compare). */
static void test_single_vcpu_sends_nothing(void **state)
{
	(void)state;
	hv->nr_vcpus = 1;
	shootdown_entry(cpu[0]);
	resyncs[0] = 0;
	vcpu_shootdown_owe(cpu[0]);
	assert_false(cpu[0]->shoot_owed);
	assert_int_equal(hv->prot_generation, 0);
	shootdown_entry(cpu[0]);
	assert_int_equal(resyncs[0], 0);
	assert_int_equal(cpu[0]->stats.shootdowns_sent, 0);
}

/*
 * The guest's NMIs: one that finds no shootdown NMI on its way is the
 * guest's (reflected); a shootdown NMI is claimed exactly once.
 */
static void test_nmi_claim_rule(void **state)
{
	(void)state;
	cpu[1]->prot_generation = 7;
	assert_false(shootdown_nmi_claim(cpu[1]));
	assert_int_equal(cpu[1]->prot_generation, 7);	/* the guest's: nothing to do */
	cpu[1]->shoot_nmi = 1;
	assert_true(shootdown_nmi_claim(cpu[1]));
	/* Stale: the next entry re-syncs and acknowledges (vmexit_dispatch). */
	assert_true(cpu[1]->prot_generation == SHOOT_STALE);
	assert_false(shootdown_nmi_claim(cpu[1]));
}

/* A vCPU in VMX root on its own thread: passes its entry step until told. */
static volatile bool root_loop_stop;

static void *root_loop(void *arg)
{
	struct vcpu *v = arg;

	while (!__atomic_load_n(&root_loop_stop, __ATOMIC_ACQUIRE))
		shootdown_entry(v);
	return NULL;
}

/*
 * While a shootdown NMI is on its way to a CPU, a second sender sends
 * none, not even when it re-sends after the timeout: the NMI on its way
 * is claimed after the second request was made, so it covers both, and
 * no second NMI can reach the target where it would pass for the guest's.
 */
static void test_one_nmi_on_its_way(void **state)
{
	pthread_t t;

	(void)state;
	alarm(30);			/* a hang is a failure, not a stuck run */
	first_exits();
	cpu[1]->shoot_nmi = 1;			/* another sender's, not yet arrived */
	root_loop_stop = false;
	assert_int_equal(pthread_create(&t, NULL, root_loop, cpu[1]), 0);
	vcpu_shootdown_owe(cpu[2]);
	shootdown_entry(cpu[2]);		/* returns once vCPU 1 acknowledged */
	__atomic_store_n(&root_loop_stop, true, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(nmis_sent[1], 0);
	assert_int_equal(nmis_sent[0], 1);
	assert_int_equal(nmis_sent[3], 1);
	assert_true(cpu[1]->shoot_ack == cpu[1]->shoot_req);
	assert_int_equal(cpu[1]->stats.shootdowns_taken, 1);
	assert_true(shootdown_nmi_claim(cpu[1]));	/* the one NMI arrives late */
	assert_false(shootdown_nmi_claim(cpu[1]));
	alarm(0);
}

/*
 * review3 N1: the APIC is off on the sender's CPU (its guest cleared
 * IA32_APIC_BASE.EN).  No NMI can be sent, yet the sender still waits for
 * every target: their next exits (the preemption-timer backstop at the
 * latest) acknowledge.  Here the targets' "timer exits" come from the main
 * thread after the sender had time to give up; on the old code it had
 * returned without waiting.
 */
static bool apic_off_sender_done;

static void *apic_off_sender(void *arg)
{
	struct vcpu *v = arg;

	vcpu_shootdown_owe(v);
	shootdown_entry(v);
	__atomic_store_n(&apic_off_sender_done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void test_apic_off_sender_still_waits(void **state)
{
	pthread_t t;

	(void)state;
	alarm(30);			/* a hang is a failure, not a stuck run */
	first_exits();
	delivery = DELIVER_NONE;
	apic_off_sender_done = false;
	assert_int_equal(pthread_create(&t, NULL, apic_off_sender, cpu[0]), 0);
	usleep(200000);
	/* Still waiting: no target acknowledged yet. */
	assert_false(__atomic_load_n(&apic_off_sender_done, __ATOMIC_ACQUIRE));
	for (unsigned int i = 1; i < NR; i++) {
		assert_int_equal(cpu[i]->shoot_nmi, 0);
		assert_true(cpu[i]->shoot_ack < cpu[i]->shoot_req);
		/* Armed before the waits, reaped after them. */
		assert_int_equal(armed_need[i], cpu[i]->shoot_req);
	}
	assert_int_equal(reaps, 0);
	/* Each target's timer exit: its entry step acknowledges. */
	for (unsigned int i = 1; i < NR; i++)
		shootdown_entry(cpu[i]);
	assert_int_equal(pthread_join(t, NULL), 0);
	alarm(0);
	assert_true(apic_off_sender_done);
	assert_true(cpu[0]->shoot_apic_warned);
	for (unsigned int i = 1; i < NR; i++) {
		assert_int_equal(cpu[i]->shoot_ack, cpu[i]->shoot_req);
		assert_int_equal(armed_need[i], cpu[i]->shoot_req);
		assert_int_equal(resyncs[i], 1);
	}
	assert_int_equal(reaps, 1);
	/* The APIC back on: the next change is shot down by NMI again. */
	delivery = DELIVER_EXIT;
	vcpu_shootdown_owe(cpu[0]);
	shootdown_entry(cpu[0]);
	assert_int_equal(nmis_sent[1], 1);
	assert_int_equal(resyncs[1], 2);
	assert_int_equal(cpu[1]->shoot_ack, cpu[1]->shoot_req);
}

/*
 * review3 F7: without the VMX-preemption timer nothing makes a target
 * whose guest keeps its APIC off exit.  The sender waits a bounded time
 * (a forced re-send included), then leaves the target to catch up at its
 * next exit; the trees it armed stay armed.  On the old code the sender
 * spun for ever (the alarm fails the run).
 */
static void test_no_timer_wait_is_bounded(void **state)
{
	(void)state;
	alarm(20);			/* a hang is a failure, not a stuck run */
	first_exits();
	hv->nr_vcpus = 2;
	hv->vmx.has_preemption_timer = false;
	delivery = DELIVER_NEVER;
	vcpu_shootdown_owe(cpu[0]);
	shootdown_entry(cpu[0]);
	alarm(0);
	assert_true(cpu[0]->shoot_gave_up);
	assert_true(nmis_sent[1] >= 2);			/* the forced re-send was made */
	assert_true(cpu[1]->shoot_ack < cpu[1]->shoot_req);
	assert_int_equal(armed_need[1], cpu[1]->shoot_req);	/* its trees wait */
	/* Its next exit acknowledges. */
	shootdown_entry(cpu[1]);
	assert_int_equal(cpu[1]->shoot_ack, cpu[1]->shoot_req);
}

/*
 * review3 F4: a re-sync of the sender that owes again (its view selection
 * found every slot parked and waits for this shootdown to drain the
 * retire list) must be followed by another shootdown *and another
 * re-sync*, never by VM entry on what the first re-sync left.  On the old
 * code the own bump was consumed after the re-sync, so the second
 * shootdown ran but no re-sync followed it.
 */
static void test_resync_that_owes_resyncs_again(void **state)
{
	(void)state;
	first_exits();
	owe_in_sync = 3;
	vcpu_shootdown_owe(cpu[0]);
	shootdown_entry(cpu[0]);
	assert_int_equal(owe_in_sync, 0);
	/* Three re-syncs that owed, then one that did not. */
	assert_int_equal(resyncs[0], 4);
	/* Each owed shootdown reached the others. */
	assert_int_equal(cpu[0]->stats.shootdowns_sent, 4 * (NR - 1));
	assert_int_equal(cpu[0]->shoot_ack, cpu[0]->shoot_req);
	assert_false(cpu[0]->shoot_owed);
	/* None of them counted as taken from others. */
	assert_int_equal(cpu[0]->stats.shootdowns_taken, 0);
}

/*
 * review2 finding 2: the target went to wait-for-SIPI between the
 * sender's state load and its request (an INIT, possibly sent by the
 * sender's own guest, which sends the SIPI only after this exit).  The
 * sender must not wait for it; its SIPI exit re-syncs before guest code.
 */
static void test_target_in_wait_for_sipi_is_released(void **state)
{
	(void)state;
	alarm(30);			/* a hang is a failure, not a stuck run */
	first_exits();
	hv->nr_vcpus = 2;
	delivery = DELIVER_INIT;
	vcpu_shootdown_owe(cpu[0]);
	shootdown_entry(cpu[0]);	/* returns: vCPU 1 runs no guest code */
	alarm(0);
	assert_int_equal(cpu[1]->shoot_state, SHOOT_WAIT_SIPI);
	assert_int_equal(nmis_sent[1], 1);
	assert_true(cpu[1]->shoot_ack != cpu[1]->shoot_req);
	/*
	 * Its SIPI exit: handle_sipi() stores RUNNING, then the generation
	 * check finds it stale (the sender moved the generation after its
	 * request) and the entry step acknowledges before VM entry.
	 */
	shootdown_set_state(cpu[1], SHOOT_RUNNING);
	assert_true(cpu[1]->prot_generation != hv->prot_generation);
	shootdown_entry(cpu[1]);
	assert_int_equal(cpu[1]->shoot_ack, cpu[1]->shoot_req);
	assert_int_equal(resyncs[1], 1);
	assert_int_equal(cpu[1]->stats.shootdowns_taken, 1);
}

/*
 * review2 finding 5: an NMI that no CPU accepted is never claimed, so
 * shoot_nmi stays 1.  The sender must not rely on it for ever: after the
 * long bound it sends another (which the target, its APIC back, takes),
 * and the next change is shot down by an NMI of its own again.
 */
static void test_lost_nmi_is_sent_again(void **state)
{
	(void)state;
	alarm(30);			/* a hang is a failure, not a stuck run */
	first_exits();
	hv->nr_vcpus = 2;
	delivery = DELIVER_LOST;
	vcpu_shootdown_owe(cpu[0]);
	shootdown_entry(cpu[0]);	/* returns once the second NMI is taken */
	alarm(0);
	assert_int_equal(nmis_sent[1], 2);
	assert_true(claimed_as_shootdown[1]);
	assert_int_equal(cpu[1]->shoot_nmi, 0);
	assert_int_equal(cpu[1]->shoot_ack, cpu[1]->shoot_req);
	assert_int_equal(cpu[1]->stats.shootdowns_taken, 1);
	vcpu_shootdown_owe(cpu[0]);
	shootdown_entry(cpu[0]);
	assert_int_equal(nmis_sent[1], 3);
	assert_int_equal(cpu[1]->stats.shootdowns_taken, 2);
}

/*
 * The preemption timer's backstop (vmm/vmx_timer.h): with several vCPUs
 * every vCPU exits at least every VMX_TIMER_SHOOT_TSC ticks of guest time,
 * so a target no NMI reaches still acknowledges within that bound.
 */
static void test_timer_backstop_value(void **state)
{
	const u64 ghz2 = 2000000000ull;

	(void)state;
	/* One vCPU, no statistics: as far away as the field allows. */
	assert_int_equal(vmx_timer_value(ghz2, 0, false, 5), VMX_TIMER_MAX);
	/* Statistics alone: the interval, in timer units (TSC >> rate). */
	assert_int_equal(vmx_timer_value(ghz2, 1, false, 5), ghz2 >> 5);
	assert_int_equal(vmx_timer_value(ghz2, 100, false, 0), VMX_TIMER_MAX);
	/* Several vCPUs: the backstop, whatever the statistics interval. */
	assert_int_equal(vmx_timer_value(ghz2, 0, true, 5), VMX_TIMER_SHOOT_TSC >> 5);
	assert_int_equal(vmx_timer_value(ghz2, 10, true, 0), VMX_TIMER_SHOOT_TSC);
	/* ...unless the statistics come sooner (a slow TSC). */
	assert_int_equal(vmx_timer_value(1000000, 1, true, 0), 1000000);
	/* Never 0 (an exit at every entry): one tick at the coarsest rate. */
	assert_int_equal(vmx_timer_value(ghz2, 0, true, 31), 1);
	assert_true(VMX_TIMER_SHOOT_TSC <= 1ull << 24);
}

/*
 * Two senders at once, on two threads, targets in VMX root.  A CPU keeps
 * running after its last change (it passes entry steps, as a real vCPU
 * keeps taking exits) until the other is done too.
 */
static unsigned int senders_done;

static void *sender(void *arg)
{
	struct vcpu *v = arg;

	for (unsigned int i = 0; i < 2000; i++) {
		vcpu_shootdown_owe(v);
		shootdown_entry(v);
	}
	__atomic_add_fetch(&senders_done, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&senders_done, __ATOMIC_ACQUIRE) < 2)
		shootdown_entry(v);
	return NULL;
}

static void test_two_senders_no_deadlock(void **state)
{
	pthread_t a, b;

	(void)state;
	alarm(30);			/* a deadlock is a failure, not a stuck run */
	hv->nr_vcpus = 2;
	senders_done = 0;
	shootdown_entry(cpu[0]);
	shootdown_entry(cpu[1]);
	delivery = DELIVER_ROOT;
	assert_int_equal(pthread_create(&a, NULL, sender, cpu[0]), 0);
	assert_int_equal(pthread_create(&b, NULL, sender, cpu[1]), 0);
	assert_int_equal(pthread_join(a, NULL), 0);
	assert_int_equal(pthread_join(b, NULL), 0);
	assert_int_equal(cpu[0]->stats.shootdowns_sent, 2000);
	assert_int_equal(cpu[1]->stats.shootdowns_sent, 2000);
	/* Every request was acknowledged; some acks covered several. */
	assert_true(cpu[0]->stats.shootdowns_taken >= 1);
	assert_true(cpu[1]->stats.shootdowns_taken >= 1);
	assert_true(cpu[0]->stats.shootdowns_taken <= 2000);
	assert_int_equal(cpu[0]->shoot_ack, cpu[0]->shoot_req);
	assert_int_equal(cpu[1]->shoot_ack, cpu[1]->shoot_req);
	alarm(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_exit_makes_a_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owe_reaches_running_vcpus_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_vcpu_sends_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nmi_claim_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_nmi_on_its_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apic_off_sender_still_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resync_that_owes_resyncs_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_timer_wait_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_senders_no_deadlock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_in_wait_for_sipi_is_released, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_nmi_is_sent_again, setup, teardown),
		cmocka_unit_test(test_timer_backstop_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
