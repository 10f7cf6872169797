// SPDX-License-Identifier: MIT
/*
 * Soft views shared by several vCPUs (review findings 1, 2, 3, 5, 11 of
 * main at 61f577b; docs/architecture.md "SMP views").  The real
 * pks/views.c and soft_fault.c (included for their static view_slot(),
 * build_view(), allow_page()), view_perms.c, views_map.c, hw_pkrs.c and unprotect_vmm.c
 * over the real EPT code and the real page pool (lib/page_pool.c: a LIFO
 * free list, so a rebuilt view gets the root just freed back - the case
 * an EPTP compare cannot see).  vmm/ is stubbed (stub_vmm.c without its
 * pool, STUB_REAL_POOL) and each vCPU has a fake VMCS (PKSV_HOST_TEST).
 *
 * Each test drives two vCPUs the way two CPUs would interleave under the
 * PKS lock, then checks what the victim vCPU's next VM entry
 * (pks_entry_check()) leaves it running on.  On main at 61f577b every
 * test here fails (the reviewer's PoC asserted the opposite).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../pks/views.c"
#include "../../pks/soft_fault.c"
#include "stub_vmm.h"
#include "../../vmm/shootdown.h"

#define MiB		(1ull << 20)
#define KEYED1		(8 * MiB)	/* key 1, 4 KiB */
#define KEYED2		(10 * MiB)	/* key 2, registered by a test */
#define BLOCK3		(32 * MiB)	/* key 3, a whole 2 MiB block */
#define POOL_BYTES	(4 * MiB)

static struct hv *hv;
static struct vcpu *a, *b;
static void *pool_mem;

/* ---- fake VMCS, one per vCPU (the one "running" is cur) --------------- */

#define VMCS_SLOTS	32
static struct vmcs_fake {
	u64 field[VMCS_SLOTS], value[VMCS_SLOTS];
	unsigned int n;
} vmcs[2];
static struct vcpu *cur;
static unsigned int gp_injected, steps_begun;

static struct vmcs_fake *cur_vmcs(void)
{
	return &vmcs[cur == b];
}

u64 vmread_at(u64 field, const char *file, int line)
{
	struct vmcs_fake *v = cur_vmcs();

	(void)file;
	(void)line;
	for (unsigned int i = 0; i < v->n; i++)
		if (v->field[i] == field)
			return v->value[i];
	return 0;
}

void vmwrite_at(u64 field, u64 value, const char *file, int line)
{
	struct vmcs_fake *v = cur_vmcs();

	(void)file;
	(void)line;
	for (unsigned int i = 0; i < v->n; i++)
		if (v->field[i] == field) {
			v->value[i] = value;
			return;
		}
	assert_true(v->n < VMCS_SLOTS);
	v->field[v->n] = field;
	v->value[v->n++] = value;
}

/* ---- vmm/ and pks/ stubs soft_fault.c and hw_pkrs.c need ------------- */

void vcpu_step_begin(struct vcpu *vcpu, enum step_reason why)
{
	vcpu->step |= why;
	steps_begun++;
}

void vcpu_step_cancel(struct vcpu *vcpu)
{
	unsigned int why = vcpu->step;

	if (why == STEP_NONE)
		return;
	vcpu->step = STEP_NONE;
	pks_step_done(vcpu, why);
}

void vcpu_flush_vpid(struct vcpu *vcpu) { (void)vcpu; }
void vcpu_inject_gp(struct vcpu *vcpu) { (void)vcpu; gp_injected++; }
void discover_table_written(struct vcpu *vcpu, u64 table_gpa, const u64 *snap)
{
	(void)vcpu; (void)table_gpa; (void)snap;
}
bool pks_fault_policy(struct vcpu *vcpu, u64 gla, unsigned int key, bool write)
{
	(void)vcpu; (void)gla; (void)key; (void)write;
	return false;
}
void pks_inject_pf(struct vcpu *vcpu, u64 gla, u32 error_code)
{
	(void)vcpu; (void)gla; (void)error_code;
}
void msr_bitmap_set(struct vcpu *vcpu, u32 msr, bool read, bool write)
{
	(void)vcpu; (void)msr; (void)read; (void)write;
}

/* vmm/shootdown.c: the vCPU whose exit runs here is the current one. */
struct vcpu *shootdown_here(struct hv *h)
{
	(void)h;
	return cur;
}

/*
 * ---- the watcher: what a vCPU running on a recorded EPTP could walk -----
 * Every page-pool allocation and free (the real lib/page_pool.c, wrapped
 * at link time: -Wl,--wrap) is a moment where another CPU may walk the
 * tree the watched vCPU's EPTP names: its pages must be neither handed out
 * nor freed, and its rights for the watched page never wider than before.
 */
#define WATCH_MAX	64
static struct {
	bool on;
	u64 root, gpa, rights;		/* EPTP's tree, page, rights allowed */
	u64 pages[WATCH_MAX];		/* the tree's table pages */
	unsigned int nr_pages;
	unsigned int events, widened, reused, freed;
} watch;

u64 __real_pool_alloc_ept(void *pool);
void __real_pool_free_ept(void *pool, u64 pa);

static bool watched_page(u64 pa)
{
	for (unsigned int i = 0; i < watch.nr_pages; i++)
		if (watch.pages[i] == pa)
			return true;
	return false;
}

/* Walk a tree as the CPU would, trusting nothing outside the pool. */
static u64 walk_rights(u64 root, u64 gpa)
{
	u64 table = root;

	for (int level = 4; level >= 1; level--) {
		u64 e;

		if (!pool_contains(&hv->pool, table))
			return 0;
		e = ((u64 *)(uintptr_t)table)[(gpa >> (12 + 9 * (level - 1))) & 511];
		if (!(e & EPT_RWX))
			return 0;
		if (level == 1 || (level < 4 && (e & EPT_LARGE)))
			return e & EPT_RWX;
		table = e & EPT_ADDR_MASK;
	}
	return 0;
}

static void collect(u64 table, int level)
{
	const u64 *t = (const u64 *)(uintptr_t)table;

	assert_true(watch.nr_pages < WATCH_MAX);
	watch.pages[watch.nr_pages++] = table;
	for (unsigned int i = 0; i < 512; i++)
		if ((t[i] & EPT_RWX) && level > 1 && (level == 4 || !(t[i] & EPT_LARGE)))
			collect(t[i] & EPT_ADDR_MASK, level - 1);
}

static void watch_start(u64 eptp, u64 gpa)
{
	memset(&watch, 0, sizeof(watch));
	watch.root = eptp & EPT_ADDR_MASK;
	watch.gpa = gpa;
	watch.rights = walk_rights(watch.root, gpa);
	collect(watch.root, 4);
	watch.on = true;
}

static void watch_check(void)
{
	if (!watch.on)
		return;
	watch.events++;
	if (walk_rights(watch.root, watch.gpa) & ~watch.rights)
		watch.widened++;
}

u64 __wrap_pool_alloc_ept(void *pool)
{
	u64 pa = __real_pool_alloc_ept(pool);

	watch_check();
	if (watch.on && watched_page(pa))
		watch.reused++;
	return pa;
}

void __wrap_pool_free_ept(void *pool, u64 pa)
{
	watch_check();
	if (watch.on && watched_page(pa))
		watch.freed++;
	__real_pool_free_ept(pool, pa);
}

/* The sender's shootdown (vmm/shootdown.c shoot_others()) on a and b. */
static u64 shoot_request(struct vcpu *sender, struct vcpu *target)
{
	u64 need[PKSV_MAX_CPUS] = { 0 };

	need[target->id] = ++target->shoot_req;
	ept_retire_arm(sender, need);
	return need[target->id];
}

/* ---- fixture ------------------------------------------------------------ */

static u64 perms_in(struct ept *e, u64 gpa)
{
	int level;
	u64 *p = ept_lookup(e, gpa, &level);

	return p ? *p & EPT_RWX : 0;
}

/* What the vCPU runs on: its view's rights for gpa. */
static u64 runs_with(struct vcpu *v, u64 gpa)
{
	return perms_in(&hv->pks.views[v->pks.view].ept, gpa);
}

static void on(struct vcpu *v)
{
	cur = v;
}

/* A guest WRMSR of IA32_PKRS on v (pks_wrmsr() without the counters). */
static void wrmsr_pkrs(struct vcpu *v, u32 pkrs)
{
	on(v);
	v->pks.pkrs = pkrs;
	views_select(v);
}

/* v's next VM entry. */
static void enter(struct vcpu *v)
{
	on(v);
	pks_entry_check(v);
}

static struct vcpu *new_vcpu(unsigned int id)
{
	struct vcpu *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	v->hv = hv;
	v->id = id;
	v->cr4_shadow = CR4_PKS;
	v->cr0_shadow = CR0_WP;
	hv->vcpus[id] = v;
	return v;
}

static int setup(void **state)
{
	(void)state;
	stub_reset();
	memset(vmcs, 0, sizeof(vmcs));
	gp_injected = steps_begun = 0;
	pool_mem = aligned_alloc(4096, POOL_BYTES);
	hv = calloc(1, sizeof(*hv));
	assert_non_null(pool_mem);
	assert_non_null(hv);
	hv->nr_vcpus = 2;
	a = new_vcpu(0);
	b = new_vcpu(1);
	pool_init(&hv->pool, (u64)(uintptr_t)pool_mem, POOL_BYTES);
	hv->phys_limit = 64 * MiB;
	hv->msrs.ept_vpid_cap = BIT(0);
	assert_int_equal(ept_init(&hv->ept, pool_alloc_ept, &hv->pool, false), 0);
	assert_int_equal(ept_map_identity(&hv->ept, 0, hv->phys_limit, NULL), 0);
	hv->eptp = ept_eptp(&hv->ept, false);
	hv->pks.backend = PKS_BACKEND_SOFT;
	hv->pks.mode = PKSV_MODE_STRICT;
	hv->pks.generation = 1;
	keymap_init(&hv->pks.keymap);
	unprotect_init(&hv->pks.unprotect);
	assert_int_equal(views_init(hv), 0);
	assert_int_equal(keymap_add(&hv->pks.keymap, KEYED1, PAGE_SIZE, 1, KEYMAP_PV), 0);
	assert_int_equal(keymap_add(&hv->pks.keymap, BLOCK3, 2 * MiB, 3, KEYMAP_PV), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(a);
	free(b);
	free(hv);
	free(pool_mem);
	return 0;
}

/* ---- finding 1: eviction of a view another vCPU runs on ---------------- */

static void test_other_vcpus_view_never_evicted(void **state)
{
	const u32 pkrs_b = PKRS_AD(1) | PKRS_WD(1);
	const u32 others[] = { PKRS_WD(2), PKRS_WD(4), PKRS_WD(5), PKRS_WD(6),
			       PKRS_WD(7), PKRS_WD(8), 0 };
	int sb;

	(void)state;
	wrmsr_pkrs(b, pkrs_b);
	enter(b);
	sb = b->pks.view;
	assert_true(sb > 0);
	assert_int_equal(runs_with(b, KEYED1), EPT_EXEC);
	/* A goes through more distinct PKRS values than there are slots. */
	for (unsigned int i = 0; i < ARRAY_SIZE(others); i++) {
		wrmsr_pkrs(a, others[i]);
		enter(a);
		assert_true(a->pks.view > 0);
		assert_int_not_equal(a->pks.view, sb);
	}
	/* B's slot still holds B's view: key 1 closed for B. */
	enter(b);
	assert_int_equal(b->pks.view, sb);
	assert_int_equal(hv->pks.views[sb].pkrs, pkrs_b);
	assert_int_equal(runs_with(b, KEYED1), EPT_EXEC);
	/* A's last value (0) opens key 1 for A only. */
	assert_int_equal(runs_with(a, KEYED1), EPT_RWX);
}

/*
 * A slot rebuilt while B runs on it goes into fresh pages: B's EPTP still
 * names its old tree, intact.  Even a slot rebuilt at the same EPTP (LIFO
 * pool: the freed root comes back first; only for a view no other vCPU
 * was on, here forced by clearing B's users bit) is caught: the entry
 * check compares the build, not the EPTP.  The degraded path (no pool for
 * a view) is the other way a slot went.
 */
static void test_rebuilt_slot_same_eptp_caught(void **state)
{
	const u32 pkrs_b = PKRS_AD(1) | PKRS_WD(1);
	u64 eptp_b;
	int sb;

	(void)state;
	wrmsr_pkrs(b, pkrs_b);
	sb = b->pks.view;
	eptp_b = hv->pks.views[sb].eptp;
	on(a);
	spin_lock(&hv->pks.lock);
	assert_int_equal(build_view(hv, (unsigned int)sb, 0, true, false), 0);
	spin_unlock(&hv->pks.lock);
	assert_int_not_equal(hv->pks.views[sb].eptp, eptp_b);
	assert_int_equal(walk_rights(eptp_b & EPT_ADDR_MASK, KEYED1), EPT_EXEC);
	enter(b);
	assert_int_equal(runs_with(b, KEYED1), EPT_EXEC);
	/* Now the same EPTP: B's bit lost, the slot looks unused. */
	eptp_b = hv->pks.views[b->pks.view].eptp;
	sb = b->pks.view;
	hv->pks.views[sb].users = 0;
	on(a);
	spin_lock(&hv->pks.lock);
	assert_int_equal(build_view(hv, (unsigned int)sb, 0, true, false), 0);
	spin_unlock(&hv->pks.lock);
	hv->pks.views[sb].users = BIT(b->id);
	assert_int_equal(hv->pks.views[sb].eptp, eptp_b);
	assert_int_equal(runs_with(b, KEYED1), EPT_RWX);
	enter(b);
	assert_int_equal(runs_with(b, KEYED1), EPT_EXEC);
	assert_int_equal(hv->pks.views[b->pks.view].pkrs, pkrs_b);
}

static void test_degraded_keeps_other_vcpus_view(void **state)
{
	const u32 pkrs_b = PKRS_AD(1) | PKRS_WD(1);
	int sb;

	(void)state;
	wrmsr_pkrs(b, pkrs_b);
	sb = b->pks.view;
	on(a);
	a->pks.pkrs = PKRS_WD(2);
	spin_lock(&hv->pks.lock);
	views_slot_degraded(a, PKRS_WD(2), true);
	spin_unlock(&hv->pks.lock);
	assert_true(hv->pks.views[sb].valid);
	assert_int_equal(hv->pks.views[sb].pkrs, pkrs_b);
	enter(b);
	assert_int_equal(b->pks.view, sb);
	assert_int_equal(runs_with(b, KEYED1), EPT_EXEC);
}

/* ---- finding 2: keymap / LOCK_KEY / SET_MODE reach every vCPU ---------- */

static void test_keymap_change_reaches_other_vcpu(void **state)
{
	(void)state;
	wrmsr_pkrs(b, PKRS_AD(2) | PKRS_WD(2));
	enter(b);
	assert_int_equal(runs_with(b, KEYED2), EPT_RWX);	/* not keyed yet */
	/* RANGE_REGISTER(KEYED2, key 2) on vCPU A (discover.c pks_hc_range). */
	on(a);
	spin_lock(&hv->pks.lock);
	assert_int_equal(keymap_add(&hv->pks.keymap, KEYED2, PAGE_SIZE, 2, KEYMAP_PV), 0);
	views_invalidate(hv);
	spin_unlock(&hv->pks.lock);
	enter(b);
	assert_int_equal(hv->pks.views[b->pks.view].generation, hv->pks.generation);
	assert_int_equal(runs_with(b, KEYED2), EPT_EXEC);
}

static void test_lock_key_reaches_vcpu_in_mode_off(void **state)
{
	(void)state;
	hv->pks.mode = PKSV_MODE_OFF;
	wrmsr_pkrs(b, 0);
	enter(b);
	assert_int_equal(b->pks.view, 0);			/* nothing enforced */
	/* LOCK_KEY(1) on vCPU A (unprotect_vmm.c). */
	on(a);
	assert_int_equal(pks_hc_lock_key(a, 1), 0);
	enter(b);
	assert_true(b->pks.view > 0);
	assert_int_equal(runs_with(b, KEYED1), EPT_EXEC);
}

static void test_set_mode_reaches_other_vcpu(void **state)
{
	(void)state;
	hv->pks.mode = PKSV_MODE_OFF;
	wrmsr_pkrs(b, PKRS_AD(1));
	enter(b);
	assert_int_equal(b->pks.view, 0);
	/* SET_MODE(STRICT) on A: B's own PKRS applies again. */
	spin_lock(&hv->pks.lock);
	hv->pks.mode = PKSV_MODE_STRICT;
	spin_unlock(&hv->pks.lock);
	enter(b);
	assert_int_equal(runs_with(b, KEYED1), EPT_EXEC);
}

/* hw backend: B intercepts PKRS (mode OFF) when A locks a key. */
static void test_hw_lock_key_reaches_intercepting_vcpu(void **state)
{
	(void)state;
	hv->pks.backend = PKS_BACKEND_HW;
	hv->pks.mode = PKSV_MODE_OFF;
	on(b);
	pks_apply(b);				/* stub: counts only */
	b->pks.applied_lock_bits = 0;
	b->pks.applied_mode = PKSV_MODE_OFF;
	b->pks.pkrs_passthrough = false;
	stub_reset();
	pks_hw_exit_sync(b, EXIT_CPUID);
	assert_int_equal(stub_apply_calls(), 0);	/* nothing moved: hot path */
	hv->pks.lock_bits = PKRS_AD(1) | PKRS_WD(1);	/* A: LOCK_KEY(1) */
	pks_hw_exit_sync(b, EXIT_CPUID);
	assert_int_equal(stub_apply_calls(), 1);
}

/*
 * review2 finding 9: B steps a write to an unprotected page of key 1 with
 * key 1 open in its VMCS PKRS (HW_PF_UNPROTECTED).  A's PROTECT_PAGE takes
 * the page out of the table and shoots B down before the instruction
 * retires: the shootdown must close the key again (the step cancelled;
 * the instruction re-faults against the new table), not leave it open.
 */
static void test_hw_shootdown_cancels_unprotected_step(void **state)
{
	const u32 closed = PKRS_AD(1) | PKRS_WD(1);

	(void)state;
	hv->pks.backend = PKS_BACKEND_HW;
	on(b);
	b->pks.pkrs = closed;
	b->pks.pkrs_passthrough = false;
	vmwrite(VMCS_GUEST_PKRS, hw_pf_step_pkrs(closed, 1, true));
	vcpu_step_begin(b, STEP_PKS_HW);
	stub_reset();
	pks_remote_sync(b);		/* A's PROTECT_PAGE reached B */
	assert_int_equal(b->step, STEP_NONE);
	assert_int_equal(stub_apply_calls(), 1);	/* pks_step_done(): key closed */
}

/* ---- finding 3: a step's override restored into a rebuilt view -------- */

static void test_override_not_restored_into_rebuilt_view(void **state)
{
	int sb;

	(void)state;
	on(b);
	spin_lock(&hv->pks.lock);
	sb = view_slot(b, PKRS_WD(1), true, true);	/* pinned (VIEW_INDEX) */
	spin_unlock(&hv->pks.lock);
	assert_true(sb > 0);
	wrmsr_pkrs(b, PKRS_WD(1));
	assert_int_equal(b->pks.view, sb);
	assert_int_equal(runs_with(b, KEYED1), EPT_READ | EPT_EXEC);
	/* B steps a write PKS allows (a key-0 alias of KEYED1). */
	assert_true(allow_page(b, KEYED1, EPT_READ | EPT_WRITE, STEP_PKS_ALLOW));
	assert_int_equal(runs_with(b, KEYED1), EPT_RWX);
	/* A: LOCK_KEY(1) rebuilds the pinned view with key 1 closed. */
	on(a);
	assert_int_equal(pks_hc_lock_key(a, 1), 0);
	assert_int_equal(perms_in(&hv->pks.views[sb].ept, KEYED1), EPT_EXEC);
	/* B's step ends: nothing of the old build goes into the new one. */
	on(b);
	b->step = STEP_NONE;
	pks_step_done(b, STEP_PKS_ALLOW);
	assert_int_equal(perms_in(&hv->pks.views[sb].ept, KEYED1), EPT_EXEC);
	assert_int_equal(b->pks.nr_override, 0);
}

/* Restored rights are derived again: a PROTECT meanwhile is kept. */
static void test_override_restore_rederives(void **state)
{
	u64 gfn = KEYED1 >> PAGE_SHIFT;

	(void)state;
	on(a);
	assert_int_equal(pks_hc_unprotect(a, gfn, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE), 0);
	wrmsr_pkrs(b, PKRS_AD(1) | PKRS_WD(1));
	assert_int_equal(runs_with(b, KEYED1), EPT_RWX);	/* unprotected */
	/* C-like case: B opens the page for a fetch the view allows anyway. */
	assert_true(allow_page(b, KEYED1, EPT_EXEC, STEP_PKS_ALLOW));
	on(a);
	assert_int_equal(pks_hc_protect(a, gfn), 0);		/* narrows again */
	on(b);
	b->step = STEP_NONE;
	pks_step_done(b, STEP_PKS_ALLOW);
	assert_int_equal(runs_with(b, KEYED1), EPT_EXEC);
}

/* ---- finding 5: override reserve per vCPU, allow_page fails closed ---- */

static void test_reserve_covers_every_vcpu(void **state)
{
	(void)state;
	assert_int_equal(hv->pool.reserve, 2 * PKS_MAX_OVERRIDES * 2);
}

static void test_allow_page_failure_fails_closed(void **state)
{
	u64 left;

	(void)state;
	wrmsr_pkrs(b, PKRS_WD(3));
	assert_int_equal(runs_with(b, BLOCK3), EPT_READ | EPT_EXEC);
	/* Drain the pool, reserve included: the split cannot get a table. */
	while (pool_alloc_ept_reserved(&hv->pool))
		;
	left = pool_pages_left(&hv->pool);
	assert_int_equal(left, 0);
	on(b);
	assert_true(allow_page(b, BLOCK3 + PAGE_SIZE, EPT_READ | EPT_WRITE, STEP_PKS_ALLOW));
	assert_int_equal(gp_injected, 1);
	assert_int_equal(b->pks.nr_override, 0);
	assert_int_equal(b->step, STEP_NONE);
	assert_int_equal(runs_with(b, BLOCK3 + PAGE_SIZE), EPT_READ | EPT_EXEC);
}

/* ---- finding 11: a failed clone leaks nothing --------------------------- */

static void test_failed_clone_frees_partial_tree(void **state)
{
	u64 before;

	(void)state;
	before = pool_pages_left(&hv->pool);
	/* The base EPT has 3 tables (PML4, PDPT, PD): fail at each. */
	for (int n = 0; n < 3; n++) {
		struct ept e = { .alloc = pool_alloc_ept, .alloc_ctx = &hv->pool };
		/* Leave exactly n pages above the reserve for the clone. */
		u64 grab = pool_pages_left(&hv->pool) - (u64)n;
		u64 *held = calloc(grab, sizeof(u64));

		for (u64 i = 0; i < grab; i++)
			held[i] = pool_alloc_ept(&hv->pool);
		assert_int_equal(ept_clone(&e, &hv->ept), -1);
		ept_destroy(&e, pool_free_ept, &hv->pool);
		for (u64 i = 0; i < grab; i++)
			pool_free_ept(&hv->pool, held[i]);
		free(held);
		assert_int_equal(pool_pages_left(&hv->pool), before);
	}
}

/* ---- finding 8: hidden redirects into the build they were made in ----- */

static void test_hidden_redirect_not_into_rebuilt_view(void **state)
{
	/* Above phys_limit, mapped nowhere (hidden_refuse_unmapped()). */
	const u64 gpa = 100 * MiB;
	u64 eptp, scratch = hv->pool.base;
	u64 gpas[1] = { gpa };
	int sb;

	(void)state;
	on(b);
	spin_lock(&hv->pks.lock);
	sb = view_slot(b, PKRS_WD(1), true, true);	/* pinned (VIEW_INDEX) */
	spin_unlock(&hv->pks.lock);
	wrmsr_pkrs(b, PKRS_WD(1));
	assert_int_equal(b->pks.view, sb);
	assert_int_equal(perms_in(&hv->pks.views[sb].ept, gpa), 0);
	on(b);
	assert_int_equal(pks_hidden_redirect(b, gpa, scratch, true, &eptp), 0);
	assert_int_equal(eptp, hv->pks.views[sb].eptp);
	assert_int_equal(perms_in(&hv->pks.views[sb].ept, gpa), EPT_READ | EPT_WRITE);
	/* A changes the keymap: B's pinned slot is rebuilt in place. */
	spin_lock(&hv->pks.lock);
	views_invalidate(hv);
	spin_unlock(&hv->pks.lock);
	assert_true(hv->pks.views[sb].valid);
	assert_int_equal(perms_in(&hv->pks.views[sb].ept, gpa), 0);
	/* A later redirect of the same instruction and the undo: no writes. */
	assert_int_equal(pks_hidden_redirect(b, gpa + PAGE_SIZE, scratch, false, &eptp), -1);
	assert_int_equal(pks_hidden_restore(b, gpas, 1), 0);
	assert_int_equal(perms_in(&hv->pks.views[sb].ept, gpa + PAGE_SIZE), 0);
}

/* ---- review2 finding 1: no rebuild under a vCPU running on the view ---- */

/*
 * B runs on the view pinned for PKRS = WD(1) (VMFUNC: it exits for
 * nothing), A locks key 1.  At every page-pool step of the rebuild, the
 * tree B's EPTP names keeps B's rights for the key-1 page (R+X, never W)
 * and none of its pages is freed or handed out again; the tree is freed
 * only after B acknowledged A's shootdown.  On main at beffebc the slot
 * was freed first and cloned from the base EPT into the same root: B's
 * EPTP walked RWX mid-rebuild.
 */
static int pin_b_on_wd1(void)
{
	int sb;

	on(b);
	spin_lock(&hv->pks.lock);
	sb = view_slot(b, PKRS_WD(1), true, true);	/* VIEW_INDEX */
	spin_unlock(&hv->pks.lock);
	assert_true(sb > 0);
	wrmsr_pkrs(b, PKRS_WD(1));			/* or VMFUNC(0, sb) */
	enter(b);
	assert_int_equal(b->pks.view, sb);
	assert_int_equal(runs_with(b, KEYED1), EPT_READ | EPT_EXEC);
	a->shoot_state = b->shoot_state = SHOOT_RUNNING;
	return sb;
}

static void test_lock_key_never_rebuilds_under_runner(void **state)
{
	u64 eptp_b, need, left;
	int sb;

	(void)state;
	sb = pin_b_on_wd1();
	eptp_b = b->eptp;
	left = pool_pages_left(&hv->pool);
	watch_start(eptp_b, KEYED1);
	assert_int_equal(watch.rights, EPT_READ | EPT_EXEC);
	on(a);
	assert_int_equal(pks_hc_lock_key(a, 1), 0);
	assert_true(watch.events > 0);			/* the rebuild allocated */
	assert_int_equal(watch.widened, 0);
	assert_int_equal(watch.reused, 0);
	assert_int_equal(watch.freed, 0);
	/* The new build is complete and published under another root. */
	assert_true(hv->pks.views[sb].valid);
	assert_int_not_equal(hv->pks.views[sb].eptp, eptp_b);
	assert_int_equal(perms_in(&hv->pks.views[sb].ept, KEYED1), EPT_EXEC);
	/* A's shootdown: B has not acknowledged yet, nothing is freed. */
	need = shoot_request(a, b);
	ept_retire_reap(hv);
	assert_int_equal(watch.freed, 0);
	assert_int_equal(walk_rights(watch.root, KEYED1), EPT_READ | EPT_EXEC);
	/* B exits (NMI), re-selects, acknowledges: then the tree goes. */
	enter(b);
	assert_int_equal(b->eptp, hv->pks.views[sb].eptp);
	assert_int_equal(runs_with(b, KEYED1), EPT_EXEC);
	b->shoot_ack = need;
	ept_retire_reap(hv);
	assert_int_equal(watch.freed, watch.nr_pages);
	assert_int_equal(watch.widened, 0);
	assert_int_equal(pool_pages_left(&hv->pool), left);
}

/* A vCPU that is not running guest code (wait-for-SIPI) holds nothing. */
static void test_retired_tree_free_without_running_target(void **state)
{
	(void)state;
	pin_b_on_wd1();
	watch_start(b->eptp, KEYED1);
	on(a);
	assert_int_equal(pks_hc_lock_key(a, 1), 0);
	shoot_request(a, b);
	ept_retire_reap(hv);
	assert_int_equal(watch.freed, 0);
	b->shoot_state = SHOOT_WAIT_SIPI;		/* INIT taken */
	ept_retire_reap(hv);
	assert_int_equal(watch.freed, watch.nr_pages);
}

/*
 * A dropped view (views_drop: no memory for a page change) B runs on:
 * unreachable at once, its tables kept until B acknowledged - never
 * reused under B's paging-structure caches (an EPT misconfiguration).
 */
static void test_dropped_view_kept_until_ack(void **state)
{
	u64 need;
	int sb;

	(void)state;
	sb = pin_b_on_wd1();
	watch_start(b->eptp, KEYED1);
	on(a);
	spin_lock(&hv->pks.lock);
	views_drop(hv, (unsigned int)sb);
	spin_unlock(&hv->pks.lock);
	assert_false(hv->pks.views[sb].valid);
	assert_int_equal(views_list_entry(&hv->pks, (unsigned int)sb), EPTP_LIST_INVALID);
	need = shoot_request(a, b);
	/* A builds another view meanwhile: not from B's pages. */
	wrmsr_pkrs(a, PKRS_WD(3));
	ept_retire_reap(hv);
	assert_int_equal(watch.reused + watch.freed, 0);
	enter(b);
	b->shoot_ack = need;
	ept_retire_reap(hv);
	assert_int_equal(watch.freed, watch.nr_pages);
}

/*
 * No room left to hold a retired tree: the pinned view is not rebuilt
 * under B but parked - out of every list, its tree intact for B - and
 * handed over by the next selection once there is room.
 */
static void test_full_retire_list_parks_view(void **state)
{
	u64 need;
	int sb;

	(void)state;
	sb = pin_b_on_wd1();
	for (unsigned int i = 0; i < EPT_RETIRE_MAX; i++) {
		hv->retired.e[i].pml4 = 0x1000;		/* taken, never armed */
		hv->retired.e[i].owner = b->id;
	}
	watch_start(b->eptp, KEYED1);
	on(a);
	assert_int_equal(pks_hc_lock_key(a, 1), 0);
	assert_false(hv->pks.views[sb].valid);
	assert_int_equal(views_list_entry(&hv->pks, (unsigned int)sb), EPTP_LIST_INVALID);
	assert_int_equal(hv->pks.views[sb].ept.pml4, watch.root);
	assert_int_equal(watch.widened + watch.reused + watch.freed, 0);
	/* An exit of B before it re-selects: no override into the parked tree. */
	on(b);
	assert_true(allow_page(b, KEYED1, EPT_READ | EPT_WRITE, STEP_PKS_ALLOW));
	assert_int_equal(b->pks.nr_override, 0);
	assert_int_equal(steps_begun, 0);
	assert_int_equal(walk_rights(watch.root, KEYED1), EPT_READ | EPT_EXEC);
	memset(hv->retired.e, 0, sizeof(hv->retired.e));
	/*
	 * B re-selects: the selection hands the parked tree over first
	 * (review3 F4), so the slot is free again and may take B's new
	 * build - in fresh pages, the old tree still intact for the walkers.
	 */
	enter(b);
	assert_int_equal(runs_with(b, KEYED1), EPT_EXEC);
	assert_int_not_equal(hv->pks.views[sb].ept.pml4, watch.root);
	assert_true(!hv->pks.views[sb].ept.pml4 || hv->pks.views[sb].valid);
	/* Handed over in B's exit: B's own shootdown (to A) frees it. */
	need = shoot_request(b, a);
	ept_retire_reap(hv);
	assert_int_equal(watch.freed, 0);
	a->shoot_ack = need;
	ept_retire_reap(hv);
	assert_int_equal(watch.freed, watch.nr_pages);
	assert_int_equal(watch.widened + watch.reused, 0);
}

/*
 * A step's split merged back on a view B runs on too: the page table it
 * gives up may be in B's paging-structure caches, so it is freed only
 * after B acknowledged (on main at beffebc: freed by the merge at once).
 */
static void test_merged_split_table_kept_until_ack(void **state)
{
	u64 need, *pde;
	int sv, level;

	(void)state;
	wrmsr_pkrs(a, PKRS_WD(3));
	wrmsr_pkrs(b, PKRS_WD(3));
	sv = a->pks.view;
	assert_int_equal(b->pks.view, sv);
	a->shoot_state = b->shoot_state = SHOOT_RUNNING;
	on(a);
	assert_true(allow_page(a, BLOCK3 + PAGE_SIZE, EPT_READ | EPT_WRITE, STEP_PKS_ALLOW));
	assert_int_equal(a->pks.nr_override, 1);
	assert_non_null(ept_lookup(&hv->pks.views[sv].ept, BLOCK3, &level));
	assert_int_equal(level, 1);				/* split */
	pde = ept_lookup(&hv->pks.views[sv].ept, BLOCK3, &level);
	memset(&watch, 0, sizeof(watch));
	watch.root = hv->pks.views[sv].ept.pml4;
	watch.gpa = BLOCK3;
	watch.rights = EPT_READ | EPT_EXEC;
	/* The PT: the page holding BLOCK3's 4 KiB entry. */
	watch.pages[watch.nr_pages++] = (u64)(uintptr_t)pde & ~0xfffull;
	watch.on = true;
	a->step = STEP_NONE;
	pks_step_done(a, STEP_PKS_ALLOW);
	assert_non_null(ept_lookup(&hv->pks.views[sv].ept, BLOCK3, &level));
	assert_int_equal(level, 2);				/* merged */
	assert_int_equal(watch.freed + watch.reused + watch.widened, 0);
	need = shoot_request(a, b);
	ept_retire_reap(hv);
	assert_int_equal(watch.freed, 0);
	b->shoot_ack = need;
	ept_retire_reap(hv);
	assert_int_equal(watch.freed, 1);
	assert_int_equal(watch.widened, 0);
}

/* ---- the lock-free hinted switch (views.c view_switch_hinted()) -------- */

#define CLOSED1		(PKRS_AD(1) | PKRS_WD(1))

/*
 * A PKRS write on v; true when it took the lock-free path.  The locked
 * path always moves the LRU clock (view_hint(), view_slot()); the hinted
 * one writes no shared word at all.
 */
static bool wrmsr_hinted(struct vcpu *v, u32 pkrs)
{
	u64 clock = hv->pks.use_clock;

	wrmsr_pkrs(v, pkrs);
	return hv->pks.use_clock == clock;
}

/* v alternated CLOSED1 and 0 once: both views hinted, it runs on 0's. */
static void alternate(struct vcpu *v)
{
	wrmsr_pkrs(v, CLOSED1);
	enter(v);
	wrmsr_pkrs(v, 0);
	enter(v);
}

/* The slot of v's hint whose view is for pkrs. */
static int hinted_slot(struct vcpu *v, u32 pkrs)
{
	for (unsigned int h = 0; h < VIEW_HINTS; h++) {
		int i = v->pks.view_hint[h];

		if (i && hv->pks.views[i].valid && hv->pks.views[i].pkrs == pkrs)
			return i;
	}
	return -1;
}

/*
 * Every hinted slot and the slot a vCPU runs on carry its users bit, and
 * no other slot does (view_take()): the hinted path relies on the first,
 * eviction by the others on the second.
 */
static void assert_users_consistent(struct vcpu *v)
{
	u64 me = BIT(v->id);

	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		bool named = (int)i == v->pks.view || i == v->pks.view_hint[0] ||
			     i == v->pks.view_hint[1];

		assert_int_equal(!!(hv->pks.views[i].users & me), named);
		assert_int_equal(!!(v->pks.user_slots & BIT(i)), named);
	}
}

static void test_hinted_switch_takes_no_lock(void **state)
{
	int closed;

	(void)state;
	alternate(a);
	assert_users_consistent(a);
	closed = hinted_slot(a, CLOSED1);
	assert_true(closed > 0);
	for (unsigned int i = 0; i < 4; i++) {
		u64 clock;

		assert_true(wrmsr_hinted(a, CLOSED1));
		assert_int_equal(a->pks.view, closed);
		assert_int_equal(a->pks.view_seq, hv->pks.views[closed].build_seq);
		clock = hv->pks.use_clock;
		enter(a);			/* the entry check keeps it */
		assert_int_equal(hv->pks.use_clock, clock);
		assert_int_equal(runs_with(a, KEYED1), EPT_EXEC);
		assert_true(wrmsr_hinted(a, 0));
		enter(a);
		assert_int_equal(runs_with(a, KEYED1), EPT_RWX);
	}
	assert_users_consistent(a);
}

/* A hinted view is protected like the one a vCPU runs on. */
static void test_hinted_view_not_evicted(void **state)
{
	const u32 others[] = { PKRS_WD(2), PKRS_WD(4), PKRS_WD(5), PKRS_WD(6),
			       PKRS_WD(7), PKRS_WD(8), PKRS_WD(9) };
	int closed;
	u64 seq;

	(void)state;
	alternate(a);
	closed = hinted_slot(a, CLOSED1);
	seq = hv->pks.views[closed].build_seq;
	for (unsigned int i = 0; i < ARRAY_SIZE(others); i++) {
		wrmsr_pkrs(b, others[i]);
		enter(b);
		assert_int_not_equal(b->pks.view, closed);
		assert_users_consistent(b);
	}
	assert_true(hv->pks.views[closed].valid);
	assert_int_equal(hv->pks.views[closed].build_seq, seq);
	assert_true(wrmsr_hinted(a, CLOSED1));
	enter(a);
	assert_int_equal(a->pks.view, closed);
	assert_int_equal(runs_with(a, KEYED1), EPT_EXEC);
	assert_users_consistent(a);
}

/* A hinted slot dropped (out of memory): never taken while freed. */
static void test_hinted_slot_dropped(void **state)
{
	int closed;

	(void)state;
	alternate(a);
	closed = hinted_slot(a, CLOSED1);
	spin_lock(&hv->pks.lock);
	views_drop(hv, (unsigned int)closed);
	spin_unlock(&hv->pks.lock);
	wrmsr_pkrs(a, CLOSED1);
	assert_true(hv->pks.views[a->pks.view].valid);
	assert_int_equal(hv->pks.views[a->pks.view].pkrs, CLOSED1);
	enter(a);
	assert_int_equal(runs_with(a, KEYED1), EPT_EXEC);
	assert_users_consistent(a);
}

/* ... and rebuilt by another vCPU for another PKRS: not taken either. */
static void test_hinted_slot_rebuilt_for_other_pkrs(void **state)
{
	int closed;

	(void)state;
	alternate(a);
	closed = hinted_slot(a, CLOSED1);
	spin_lock(&hv->pks.lock);
	views_drop(hv, (unsigned int)closed);
	spin_unlock(&hv->pks.lock);
	wrmsr_pkrs(b, 0 | PKRS_WD(2));		/* the first free slot: closed's */
	assert_int_equal(b->pks.view, closed);
	wrmsr_pkrs(a, CLOSED1);
	assert_int_not_equal(a->pks.view, closed);
	assert_int_equal(hv->pks.views[a->pks.view].pkrs, CLOSED1);
	enter(a);
	assert_int_equal(runs_with(a, KEYED1), EPT_EXEC);
	enter(b);
	assert_int_equal(b->pks.view, closed);
	assert_int_equal(runs_with(b, KEYED1), EPT_RWX);
}

/*
 * The keymap changed: a's current view is re-selected at entry, the hinted
 * one is stale (an unpinned view rebuilds when next selected) and must
 * not be taken for the new keymap.
 */
static void test_hinted_view_of_older_keymap(void **state)
{
	const u32 closed2 = CLOSED1 | PKRS_AD(2) | PKRS_WD(2);

	(void)state;
	wrmsr_pkrs(a, closed2);
	enter(a);
	wrmsr_pkrs(a, 0);
	enter(a);
	on(b);
	spin_lock(&hv->pks.lock);
	assert_int_equal(keymap_add(&hv->pks.keymap, KEYED2, PAGE_SIZE, 2, KEYMAP_PV), 0);
	views_invalidate(hv);
	spin_unlock(&hv->pks.lock);
	enter(a);			/* re-selects its current view */
	assert_int_equal(a->pks.applied_generation, hv->pks.generation);
	wrmsr_pkrs(a, closed2);
	assert_int_equal(hv->pks.views[a->pks.view].generation, hv->pks.generation);
	assert_int_equal(runs_with(a, KEYED2), EPT_EXEC);
	enter(a);
	assert_int_equal(runs_with(a, KEYED2), EPT_EXEC);
}

/* ---- page plans (unprotect_vmm.c plan_holds(), follow_plan()) --------- */

#define RW		(PKSV_ACCESS_READ | PKSV_ACCESS_WRITE)

/* Every built view gives gpa exactly its derived rights. */
static void assert_views_derived(u64 gpa)
{
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		struct pks_view *v = &hv->pks.views[i];

		if (v->valid)
			assert_int_equal(perms_in(&v->ept, gpa), view_page_perms(hv, v, gpa));
	}
}

/* One kmap()/kunmap() of gfn on a: the second one follows the plan. */
static void kmap_pair(u64 gfn, u64 access)
{
	on(a);
	assert_int_equal(pks_hc_unprotect(a, gfn, access), 0);
	assert_views_derived(gfn << PAGE_SHIFT);
	assert_int_equal(pks_hc_protect(a, gfn), 0);
	assert_views_derived(gfn << PAGE_SHIFT);
}

/* A view built while the page is open is narrowed by PROTECT too. */
static void test_plan_view_built_while_open(void **state)
{
	const u64 gfn = KEYED1 >> PAGE_SHIFT;
	int wd;

	(void)state;
	alternate(a);
	kmap_pair(gfn, RW);
	kmap_pair(gfn, RW);			/* by plan */
	on(a);
	assert_int_equal(pks_hc_unprotect(a, gfn, RW), 0);
	wrmsr_pkrs(b, PKRS_WD(1));		/* a new view, the page open */
	wd = b->pks.view;
	assert_int_equal(runs_with(b, KEYED1), EPT_RWX);
	on(a);
	assert_int_equal(pks_hc_protect(a, gfn), 0);
	assert_int_equal(perms_in(&hv->pks.views[wd].ept, KEYED1), EPT_READ | EPT_EXEC);
	assert_views_derived(KEYED1);
}

/*
 * A view whose PKRS has WD only gives a READ kmap() the closed rights and
 * a READ|WRITE one more.  The plan made for READ|WRITE names that view;
 * a READ kmap() of the page must not follow it (that would open the page
 * for writing), nor may PROTECT after an upgrade use a plan of another
 * access.
 */
static void test_plan_not_for_other_access(void **state)
{
	const u64 gfn = KEYED1 >> PAGE_SHIFT;
	int wd;

	(void)state;
	wrmsr_pkrs(a, PKRS_WD(1));
	enter(a);
	wd = a->pks.view;
	kmap_pair(gfn, RW);
	kmap_pair(gfn, RW);			/* by plan */
	on(a);
	assert_int_equal(pks_hc_unprotect(a, gfn, PKSV_ACCESS_READ), 0);
	assert_int_equal(perms_in(&hv->pks.views[wd].ept, KEYED1), EPT_READ | EPT_EXEC);
	assert_views_derived(KEYED1);
	/* Upgrade, then the writer's PROTECT narrows to READ, the last closes. */
	assert_int_equal(pks_hc_unprotect(a, gfn, RW), 0);
	assert_int_equal(perms_in(&hv->pks.views[wd].ept, KEYED1), EPT_RWX);
	assert_int_equal(pks_hc_protect(a, gfn), 0);
	assert_int_equal(perms_in(&hv->pks.views[wd].ept, KEYED1), EPT_READ | EPT_EXEC);
	assert_views_derived(KEYED1);
	assert_int_equal(pks_hc_protect(a, gfn), 0);
	assert_int_equal(perms_in(&hv->pks.views[wd].ept, KEYED1), EPT_READ | EPT_EXEC);
	assert_views_derived(KEYED1);
	/* And a READ|WRITE kmap() again opens it. */
	kmap_pair(gfn, RW);
}

/*
 * The page changes key while open (RANGE_UNREGISTER + RANGE_REGISTER):
 * the views are not rebuilt yet (unpinned: when next selected), so only
 * the facts stamp tells the plan made for key 2 from the one key 1 needs.
 */
static void test_plan_not_across_keymap_change(void **state)
{
	const u64 gfn = KEYED2 >> PAGE_SHIFT;
	int closed;

	(void)state;
	spin_lock(&hv->pks.lock);
	assert_int_equal(keymap_add(&hv->pks.keymap, KEYED2, PAGE_SIZE, 2, KEYMAP_PV), 0);
	views_invalidate(hv);
	spin_unlock(&hv->pks.lock);
	alternate(a);				/* CLOSED1: key 2 open */
	closed = hinted_slot(a, CLOSED1);
	kmap_pair(gfn, RW);
	on(a);
	assert_int_equal(pks_hc_unprotect(a, gfn, RW), 0);	/* by plan */
	spin_lock(&hv->pks.lock);
	assert_int_equal(keymap_remove(&hv->pks.keymap, KEYED2, PAGE_SIZE, KEYMAP_PV), 0);
	assert_int_equal(keymap_add(&hv->pks.keymap, KEYED2, PAGE_SIZE, 1, KEYMAP_PV), 0);
	views_invalidate(hv);
	spin_unlock(&hv->pks.lock);
	assert_int_equal(pks_hc_protect(a, gfn), 0);
	/* The stale view is rebuilt before anyone runs on it; still: closed. */
	assert_int_equal(perms_in(&hv->pks.views[closed].ept, KEYED2), EPT_EXEC);
}

/*
 * A plan keeps the address of the page's 4 KiB entry.  Here that entry
 * lies in a table an override split for another page of the block; the
 * override's merge frees it (soft_fault.c restore_one()).  The next
 * transition must walk again, not write into the freed table.
 */
static void test_plan_leaf_not_after_merge(void **state)
{
	const u64 gfn = BLOCK3 >> PAGE_SHIFT;
	int wd;

	(void)state;
	wrmsr_pkrs(b, PKRS_WD(3));
	wd = b->pks.view;
	assert_int_equal(runs_with(b, BLOCK3), EPT_READ | EPT_EXEC);
	/* B steps a write PKS allows to another page of the 2 MiB block. */
	assert_true(allow_page(b, BLOCK3 + PAGE_SIZE, EPT_READ | EPT_WRITE, STEP_PKS_ALLOW));
	kmap_pair(gfn, RW);			/* the plan: wd's entry */
	assert_int_not_equal(a->pks.view, wd);
	on(b);
	b->step = STEP_NONE;
	pks_step_done(b, STEP_PKS_ALLOW);	/* merged: the table is gone */
	on(a);
	assert_int_equal(pks_hc_unprotect(a, gfn, RW), 0);
	assert_int_equal(perms_in(&hv->pks.views[wd].ept, BLOCK3), EPT_RWX);
	assert_int_equal(pks_hc_protect(a, gfn), 0);
	assert_int_equal(perms_in(&hv->pks.views[wd].ept, BLOCK3), EPT_READ | EPT_EXEC);
	assert_views_derived(BLOCK3);
}

/*
 * Every slot held: five pinned views and a's two (it runs on CLOSED1's,
 * hints 0's).  b needs a view of its own: it may take the one a only
 * hints (view_steal()), never the one a runs on, and does not degrade.
 */
static void test_hint_stolen_not_running_view(void **state)
{
	u64 seq;
	int cur, hinted;

	(void)state;
	on(b);
	for (unsigned int k = 4; k < 9; k++) {
		spin_lock(&hv->pks.lock);
		assert_true(view_slot(b, PKRS_WD(k), true, true) > 0);
		spin_unlock(&hv->pks.lock);
	}
	alternate(a);
	assert_true(wrmsr_hinted(a, CLOSED1));
	enter(a);
	cur = a->pks.view;
	hinted = hinted_slot(a, 0);
	seq = hv->pks.views[cur].build_seq;
	assert_true(cur < hinted);			/* tried first */
	wrmsr_pkrs(b, PKRS_WD(2));
	enter(b);
	assert_int_equal(b->stats.view_degraded, 0);
	assert_int_equal(b->pks.view, hinted);
	assert_int_equal(hv->pks.views[hinted].pkrs, PKRS_WD(2));
	/* a's own view is untouched; its hint is gone with its bit. */
	assert_true(hv->pks.views[cur].valid);
	assert_int_equal(hv->pks.views[cur].build_seq, seq);
	assert_false(hv->pks.views[hinted].users & BIT(a->id));
	enter(a);
	assert_int_equal(a->pks.view, cur);
	assert_int_equal(runs_with(a, KEYED1), EPT_EXEC);
	/* a's next switch to 0 finds no hinted view of it and re-selects. */
	assert_false(wrmsr_hinted(a, 0));
	assert_int_equal(hv->pks.views[a->pks.view].pkrs, 0);
	assert_users_consistent(a);
}

/* ---- review2 finding 3: an exit on a view another vCPU dropped -------- */

/*
 * B took an EPT violation in its view; before B gets the PKS lock, A drops
 * that view (refresh_page() out of pool) or rebuilds the slot for another
 * PKRS.  B must not walk the freed tree (ept.pml4 0: host address 0, the
 * guest's page 0 in pksvisor's identity map) nor open a page in another
 * build: the access retries on the view its next entry re-selects.  On
 * main at beffebc the dropped case walks from address 0 (ASan: SEGV).
 */
static void test_exit_on_dropped_view_retries(void **state)
{
	const u32 pkrs_b = PKRS_AD(1) | PKRS_WD(1);
	u64 stale;
	int sb;

	(void)state;
	wrmsr_pkrs(b, pkrs_b);
	enter(b);
	sb = b->pks.view;
	assert_true(sb > 0);
	on(a);
	spin_lock(&hv->pks.lock);
	views_drop(hv, (unsigned int)sb);
	spin_unlock(&hv->pks.lock);
	assert_false(hv->pks.views[sb].valid);
	on(b);
	stale = b->stats.ept_stale;
	assert_true(view_already_allows(b, KEYED1, EPT_WRITE));
	assert_true(open_page(b, KEYED1, EPT_WRITE, STEP_PKS_ALLOW));
	assert_int_equal(b->pks.nr_override, 0);
	assert_int_equal(steps_begun, 0);
	assert_int_equal(b->stats.ept_stale, stale + 2);
	enter(b);
	assert_true(hv->pks.views[b->pks.view].valid);
	assert_int_equal(runs_with(b, KEYED1), EPT_EXEC);
}

static void test_exit_on_rebuilt_view_opens_nothing(void **state)
{
	const u32 pkrs_b = PKRS_AD(1) | PKRS_WD(1);
	int sb;

	(void)state;
	wrmsr_pkrs(b, pkrs_b);
	enter(b);
	sb = b->pks.view;
	on(a);
	spin_lock(&hv->pks.lock);
	assert_int_equal(build_view(hv, (unsigned int)sb, PKRS_WD(2), true, false), 0);
	spin_unlock(&hv->pks.lock);
	on(b);
	/* The slot's new build allows the write: not B's to take. */
	assert_true(open_page(b, KEYED1, EPT_WRITE, STEP_PKS_ALLOW));
	assert_int_equal(b->pks.nr_override, 0);
	assert_int_equal(steps_begun, 0);
	enter(b);
	assert_int_equal(hv->pks.views[b->pks.view].pkrs, pkrs_b);
	assert_int_equal(runs_with(b, KEYED1), EPT_EXEC);
}

/*
 * Review2 finding 7: RANGE_REGISTER from a vCPU that runs on the base EPT
 * (PKS off there) rebuilt nothing of its own, so no flush and no shootdown
 * was owed and B, running guest code on a view built before the range was
 * keyed, kept writing it.  views_invalidate() now owes the flush (and with
 * it the shootdown, vmm/flush.c prot_changed()) whoever calls it.
 */
static void test_range_register_owes_flush(void **state)
{
	unsigned int flushes;

	(void)state;
	wrmsr_pkrs(b, PKRS_WD(2));
	enter(b);
	assert_true(b->pks.view > 0);
	assert_int_equal(runs_with(b, KEYED2), EPT_RWX);
	a->cr4_shadow = 0;		/* A: PKS off, on the base EPT */
	wrmsr_pkrs(a, 0);
	assert_int_equal(a->pks.view, 0);
	flushes = stub_flush_calls();
	/* pks_hc_range(a, KEYED2, 4096, 2, add) of pks/discover.c, step by step. */
	on(a);
	spin_lock(&hv->pks.lock);
	assert_int_equal(keymap_add(&hv->pks.keymap, KEYED2, PAGE_SIZE, 2, KEYMAP_PV), 0);
	views_invalidate(hv);
	spin_unlock(&hv->pks.lock);
	views_select(a);
	assert_int_not_equal(stub_flush_calls(), flushes);
	enter(b);
	assert_int_equal(runs_with(b, KEYED2), EPT_READ | EPT_EXEC);
}

/* ---- review3 (integ at 26ec743) --------------------------------------- */

/*
 * F1: on hw a PROTECT that closes a page must reach a vCPU stepping an
 * access to it with the key open (pks_remote_sync() cancels the step): it
 * owes the shootdown.  On 26ec743 it owed none.
 */
static void test_hw_protect_owes_shootdown(void **state)
{
	const u64 gfn = KEYED1 >> PAGE_SHIFT;

	(void)state;
	hv->pks.backend = PKS_BACKEND_HW;
	a->shoot_state = b->shoot_state = SHOOT_RUNNING;
	on(a);
	assert_int_equal(pks_hc_unprotect(a, gfn, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE), 0);
	assert_int_equal(pks_hc_unprotect(a, gfn, PKSV_ACCESS_READ), 0);
	stub_reset();
	assert_int_equal(pks_hc_protect(a, gfn), 0);		/* narrowed to READ */
	assert_int_equal(stub_shootdown_calls(), 1);
	assert_int_equal(pks_hc_protect(a, gfn), 0);		/* gone */
	assert_int_equal(stub_shootdown_calls(), 2);
	assert_int_equal(pks_hc_protect(a, gfn), -PKSV_ENOENT);
	assert_int_equal(stub_shootdown_calls(), 2);
}

/*
 * F5: B's MMIO-on-demand exit looked its view up without the lock after A
 * dropped it (pml4 0: a walk from host address 0).  Now the lookup says
 * "the view went" and the access retries.
 */
static void test_current_ept_after_drop(void **state)
{
	u64 eptp = 0;
	int sb;

	(void)state;
	sb = pin_b_on_wd1();
	assert_int_equal(pks_current_ept_maps(b, KEYED1, &eptp), 1);
	on(a);
	spin_lock(&hv->pks.lock);
	views_drop(hv, (unsigned int)sb);
	spin_unlock(&hv->pks.lock);
	on(b);
	assert_int_equal(pks_current_ept_maps(b, KEYED1, &eptp), -1);
}

/*
 * F8: the locked selection published pks.view only after the unlock, so a
 * thief's view_steal() in that window saw no owner and freed the tree the
 * owner entered the guest on.  view_take() now publishes it under the
 * lock: the steal is refused.
 */
static void test_locked_path_steal_window(void **state)
{
	int s;

	(void)state;
	a->shoot_state = b->shoot_state = SHOOT_RUNNING;
	on(a);
	a->pks.pkrs = CLOSED1;
	spin_lock(&hv->pks.lock);
	s = view_slot(a, CLOSED1, true, false);
	assert_true(s > 0);
	view_hint_add(a, s);
	view_take(a, s);
	spin_unlock(&hv->pks.lock);
	on(b);
	spin_lock(&hv->pks.lock);
	assert_false(view_steal(hv, b, (unsigned int)s));
	spin_unlock(&hv->pks.lock);
	on(a);
	use_slot(a, s);
	pks_entry_check(a);
	assert_int_equal(a->pks.view, s);
	assert_true(hv->pks.views[s].users & BIT(a->id));
	assert_int_equal(runs_with(a, KEYED1), EPT_EXEC);
}

/*
 * smp-4 found it (relaxed_pardon_work on CPUs 1-3 after the rebuild into
 * fresh pages): B's EPTP list still names the old build of a pinned view
 * that A's LOCK_KEY rebuilt; B VMFUNCs through that entry before its next
 * entry rewrites the list.  The switch must be followed as a switch to
 * that slot's PKRS - matching the views' current EPTPs missed it, kept the
 * PKRS from before (a key the guest had just closed stayed open) and
 * re-selected a view for it.
 */
static void test_vmfunc_through_entry_of_rebuilt_view(void **state)
{
	const u32 closed = PKRS_AD(1) | PKRS_WD(1), open = 0;
	u64 *list_b = aligned_alloc(4096, 4096), old_closed;
	int sc, so;

	(void)state;
	assert_non_null(list_b);
	memset(list_b, 0, 4096);
	hv->pks.vmfunc = true;
	b->pks.eptp_list_pa = (u64)(uintptr_t)list_b;
	a->shoot_state = b->shoot_state = SHOOT_RUNNING;
	on(a);
	spin_lock(&hv->pks.lock);
	sc = view_slot(a, closed, true, true);			/* VIEW_INDEX */
	so = view_slot(a, open, true, true);
	spin_unlock(&hv->pks.lock);
	assert_true(sc > 0 && so > 0 && sc != so);
	/* B runs on the open pinned view (a pardon, say); its list is current. */
	wrmsr_pkrs(b, open);
	enter(b);
	assert_int_equal(b->pks.view, so);
	old_closed = hv->pks.views[sc].eptp;
	assert_int_equal(list_b[sc], old_closed);
	/* A locks key 5: both pinned views rebuilt into fresh pages. */
	on(a);
	assert_int_equal(pks_hc_lock_key(a, 5), 0);
	assert_int_not_equal(hv->pks.views[sc].eptp, old_closed);
	/* B, still in the guest with its old list: VMFUNC(0, sc), then an exit. */
	on(b);
	b->eptp = old_closed;
	pks_exit_follow(b, old_closed);
	assert_int_equal(b->pks.pkrs, closed);		/* what the guest asked for */
	enter(b);
	assert_int_equal(b->pks.view, sc);
	assert_int_equal(runs_with(b, KEYED1), EPT_EXEC);
	hv->pks.vmfunc = false;
	free(list_b);
}

/*
 * review3 F4: a full retire list (A's APIC off, B never exits) parks every
 * slot.  The degraded path must not put A on the base EPT (every key open)
 * and, once B acknowledged, A's next entry step and B's re-selection must
 * find views again (parked trees handed over, their slots free).
 */
static void test_review3_all_parked_base_ept(void **state)
{
	const u32 pins[] = { PKRS_WD(2), PKRS_WD(4), PKRS_WD(5), PKRS_WD(6), PKRS_WD(7) };
	unsigned int parked = 0, valid = 0, i;
	int s;

	(void)state;
	a->shoot_state = b->shoot_state = SHOOT_RUNNING;
	on(a);
	for (i = 0; i < 5; i++) {
		spin_lock(&hv->pks.lock);
		s = view_slot(a, pins[i], true, true);		/* VIEW_INDEX */
		spin_unlock(&hv->pks.lock);
		print_message("pin %u -> slot %d\n", i, s);
	}
	wrmsr_pkrs(a, CLOSED1);
	enter(a);
	wrmsr_pkrs(a, PKRS_WD(3));
	enter(a);
	/* A's APIC is off: its shootdowns arm the trees for B but never wait; B does not exit. */
	for (unsigned int round = 0; round < 6; round++) {
		on(a);
		assert_int_equal(pks_hc_lock_key(a, 9), 0);
		enter(a);
		shoot_request(a, b);
		ept_retire_reap(hv);
	}
	for (i = 1; i < PKS_MAX_VIEWS; i++) {
		parked += !hv->pks.views[i].valid && hv->pks.views[i].ept.pml4;
		valid += hv->pks.views[i].valid;
	}
	print_message("parked %u valid %u a.view %d a runs KEYED1 with 0x%llx wanted %d\n", parked, valid,
		      a->pks.view, (unsigned long long)runs_with(a, KEYED1), a->pks.view_wanted);
	/*
	 * Never the base EPT for the guest: either a view, or slot 0 in VMX
	 * root with a re-selection pending and a shootdown owed.
	 */
	assert_true(a->pks.view != 0 || (a->pks.view_wanted && stub_shootdown_calls() > 0));
	/* B finally exits and acknowledges everything: the list drains. */
	b->shoot_ack = b->shoot_req;
	ept_retire_reap(hv);
	/* A's owed shootdown ends in its own re-sync: a view, no WRMSR needed. */
	enter(a);
	print_message("a re-synced: a.view %d BLOCK3 0x%llx\n", a->pks.view,
		      (unsigned long long)runs_with(a, BLOCK3));
	assert_int_not_equal(a->pks.view, 0);
	assert_false(a->pks.view_wanted);
	assert_true(hv->pks.views[a->pks.view].valid);
	assert_int_equal(hv->pks.views[a->pks.view].pkrs, pks_effective_pkrs(a));
	assert_int_equal(runs_with(a, BLOCK3), EPT_READ | EPT_EXEC);	/* PKRS_WD(3) */
	wrmsr_pkrs(a, CLOSED1);
	enter(a);
	wrmsr_pkrs(b, CLOSED1);
	enter(b);
	print_message("after drain: a.view %d b.view %d; a KEYED1 0x%llx b KEYED1 0x%llx\n",
		      a->pks.view, b->pks.view, (unsigned long long)runs_with(a, KEYED1),
		      (unsigned long long)runs_with(b, KEYED1));
	assert_int_equal(runs_with(a, KEYED1), EPT_EXEC);	/* key 1 closed by PKRS */
	assert_int_equal(runs_with(b, KEYED1), EPT_EXEC);
}

int main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_other_vcpus_view_never_evicted),
		T(test_rebuilt_slot_same_eptp_caught),
		T(test_degraded_keeps_other_vcpus_view),
		T(test_keymap_change_reaches_other_vcpu),
		T(test_lock_key_reaches_vcpu_in_mode_off),
		T(test_set_mode_reaches_other_vcpu),
		T(test_hw_lock_key_reaches_intercepting_vcpu),
		T(test_hw_shootdown_cancels_unprotected_step),
		T(test_override_not_restored_into_rebuilt_view),
		T(test_override_restore_rederives),
		T(test_reserve_covers_every_vcpu),
		T(test_allow_page_failure_fails_closed),
		T(test_failed_clone_frees_partial_tree),
		T(test_hidden_redirect_not_into_rebuilt_view),
		T(test_lock_key_never_rebuilds_under_runner),
		T(test_retired_tree_free_without_running_target),
		T(test_dropped_view_kept_until_ack),
		T(test_full_retire_list_parks_view),
		T(test_merged_split_table_kept_until_ack),
		T(test_hinted_switch_takes_no_lock),
		T(test_hinted_view_not_evicted),
		T(test_hinted_slot_dropped),
		T(test_hinted_slot_rebuilt_for_other_pkrs),
		T(test_hinted_view_of_older_keymap),
		T(test_hint_stolen_not_running_view),
		T(test_plan_view_built_while_open),
		T(test_plan_not_for_other_access),
		T(test_plan_not_across_keymap_change),
		T(test_plan_leaf_not_after_merge),
		T(test_exit_on_dropped_view_retries),
		T(test_exit_on_rebuilt_view_opens_nothing),
		T(test_range_register_owes_flush),
		T(test_hw_protect_owes_shootdown),
		T(test_current_ept_after_drop),
		T(test_locked_path_steal_window),
		T(test_vmfunc_through_entry_of_rebuilt_view),
		T(test_review3_all_parked_base_ept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
