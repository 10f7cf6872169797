// SPDX-License-Identifier: MIT
/*
 * Unit tests for the real VMCALL dispatcher, vmm/hypercall.c (with
 * hypercall_decode() of vmm/hypercall.h), against stubs for the vmm/
 * helpers and the pks/ calls it routes to.  docs/hypercalls.md promises, and this checks:
 *  - wrong magic or CPL > 0: #UD, RIP not advanced, no register changed,
 *    nothing counted as a hypercall;
 *  - unknown call numbers (any 32-bit value): -PKSV_ENOSYS, counted;
 *  - every call gets its arguments from RBX, RCX, RDX, RSI as documented;
 *  - a failed call changes nothing but RAX, whatever the callee wrote to
 *    its result slots; every other register is preserved on success too;
 *  - GET_COUNTER maps every id to its counter and refuses the rest.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../vmm/exit.h"
#include "../../vmm/hypercall.h"
#include "../../vmm/vmx.h"
#include "../../pks/pks_vmm.h"

/* ---- stubs ---------------------------------------------------------- */

static unsigned int cpl, ud_calls, skip_calls, print_calls;
static s64 pks_ret;			/* what every pks_hc_* stub returns */
static bool exposed = true;

static struct {
	const char *fn;
	u64 a[4];
	bool add;
} last;

static void record(const char *fn, u64 a0, u64 a1, u64 a2, u64 a3)
{
	last.fn = fn;
	last.a[0] = a0;
	last.a[1] = a1;
	last.a[2] = a2;
	last.a[3] = a3;
}

void vcpu_inject_ud(struct vcpu *vcpu) { (void)vcpu; ud_calls++; }
/*
 * vcpu_skip_instruction() (vmm/exit.h) and vcpu_cpl() (seam.h) are
 * inline: a fake VMCS, where each write of the guest RIP is one skip and
 * SS holds the CPL.
 */
u64 vmread_at(u64 field, const char *file, int line)
{
	(void)file;
	(void)line;
	/* vcpu_cpl() (seam.h): SS.DPL in bits 6:5 of the access rights. */
	return field == VMCS_GUEST_SS_AR ? (u64)cpl << 5 : 0;
}

void vmwrite_at(u64 field, u64 value, const char *file, int line)
{
	(void)value;
	(void)file;
	(void)line;
	if (field == VMCS_GUEST_RIP)
		skip_calls++;
}

bool vcpu_step_emulated(struct vcpu *vcpu) { (void)vcpu; return false; }
void vcpu_skip_finish(struct vcpu *vcpu, u64 intr, bool guest_tf)
{
	(void)vcpu;
	(void)intr;
	(void)guest_tf;
}
void vcpu_print_stats(struct vcpu *vcpu, const char *why) { (void)vcpu; (void)why; print_calls++; }
bool pks_exposed(const struct hv *hv) { (void)hv; return exposed; }
u32 pksv_features(const struct hv *hv) { (void)hv; return 0x2a; }

s64 pks_hc_range(struct vcpu *vcpu, u64 gpa, u64 len, u64 key, bool add)
{
	(void)vcpu;
	record("range", gpa, len, key, 0);
	last.add = add;
	return pks_ret;
}

s64 pks_hc_set_mode(struct vcpu *vcpu, u64 mode) { (void)vcpu; record("set_mode", mode, 0, 0, 0); return pks_ret; }
s64 pks_hc_unprotect(struct vcpu *vcpu, u64 gfn, u64 access) { (void)vcpu; record("unprotect", gfn, access, 0, 0); return pks_ret; }
s64 pks_hc_protect(struct vcpu *vcpu, u64 gfn) { (void)vcpu; record("protect", gfn, 0, 0, 0); return pks_ret; }
s64 pks_hc_grant(struct vcpu *vcpu, u64 key, u64 access) { (void)vcpu; record("grant", key, access, 0, 0); return pks_ret; }
s64 pks_hc_revoke(struct vcpu *vcpu, u64 key) { (void)vcpu; record("revoke", key, 0, 0, 0); return pks_ret; }
s64 pks_hc_lock_key(struct vcpu *vcpu, u64 key) { (void)vcpu; record("lock_key", key, 0, 0, 0); return pks_ret; }

s64 pks_hc_pv_ranges(struct vcpu *vcpu, u64 flags) { (void)vcpu; record("pv_ranges", flags, 0, 0, 0); return pks_ret; }

/* The real one is tested in test_get_stats.c; here only the routing. */
s64 hc_get_stats(struct vcpu *vcpu, struct hc_args *a)
{
	(void)vcpu;
	record("get_stats", a->in[0], a->in[1], 0, 0);
	a->out[0] = 0x5555;	/* written even on failure: must not leak out */
	return pks_ret;
}

s64 pks_hc_view_index(struct vcpu *vcpu, u64 pkrs, u64 *index)
{
	(void)vcpu;
	record("view_index", pkrs, 0, 0, 0);
	*index = 0x7777;	/* written even on failure: must not leak out */
	return pks_ret;
}

/* ---- fixture ---------------------------------------------------------- */

static struct hv hv_s;
static struct vcpu vcpu_s;
static struct guest_regs regs;

static int setup(void **state)
{
	(void)state;
	memset(&hv_s, 0, sizeof(hv_s));
	memset(&vcpu_s, 0, sizeof(vcpu_s));
	vcpu_s.hv = &hv_s;
	vcpu_s.regs = &regs;
	hv_s.pool.base = 0x7e000000;
	hv_s.pks.backend = PKS_BACKEND_SOFT;
	hv_s.pks.mode = PKSV_MODE_RELAXED;
	hv_s.pks.guest_mode = PKSV_MODE_RELAXED;
	/* Every register a distinct value. */
	for (unsigned int i = 0; i < sizeof(regs) / 8; i++)
		((u64 *)&regs)[i] = 0x1111111111111111ull * (i + 1);
	cpl = ud_calls = skip_calls = print_calls = 0;
	pks_ret = 0;
	exposed = true;
	memset(&last, 0, sizeof(last));
	return 0;
}

static void call(u64 rax)
{
	regs.rax = rax;
	handle_vmcall(&vcpu_s);
}

static u64 total_hypercalls(void)
{
	u64 sum = 0;

	for (unsigned int i = 0; i < PKSV_HC_MAX; i++)
		sum += vcpu_s.stats.hypercalls[i];
	return sum;
}

/* ---- tests -------------------------------------------------------------- */

static void test_ud_changes_nothing(void **state)
{
	struct guest_regs before;
	const u64 bad[] = { 0, PKSV_HC_NOP, (u64)(PKSV_HC_MAGIC + 1) << 32,
			    0xffffffffffffffffull };

	(void)state;
	for (unsigned int i = 0; i < 4; i++) {
		regs.rax = bad[i];
		before = regs;
		handle_vmcall(&vcpu_s);
		assert_memory_equal(&regs, &before, sizeof(regs));
	}
	/* CPL 3 (and 1, 2) with the right magic: #UD as well. */
	for (cpl = 1; cpl <= 3; cpl++) {
		regs.rax = PKSV_HC_RAX(PKSV_HC_NOP);
		before = regs;
		handle_vmcall(&vcpu_s);
		assert_memory_equal(&regs, &before, sizeof(regs));
	}
	assert_int_equal(ud_calls, 7);
	assert_int_equal(skip_calls, 0);
	assert_int_equal(total_hypercalls(), 0);
	assert_int_equal(vcpu_s.stats.hypercall_errors, 0);
}

static void test_unknown_calls(void **state)
{
	const u32 nrs[] = { 0x05, 0x0f, PKSV_HC_MAX, 0x100, 0x7fffffff, 0xffffffff };

	(void)state;
	for (unsigned int i = 0; i < 6; i++) {
		struct guest_regs before = regs;

		call(PKSV_HC_RAX(nrs[i]));
		assert_int_equal((s64)regs.rax, -PKSV_ENOSYS);
		before.rax = regs.rax;
		assert_memory_equal(&regs, &before, sizeof(regs));
	}
	assert_int_equal(skip_calls, 6);
	assert_int_equal(vcpu_s.stats.hypercall_errors, 6);
	/* Unassigned numbers below the table end are counted per number. */
	assert_int_equal(vcpu_s.stats.hypercalls[0x05], 1);
	assert_int_equal(total_hypercalls(), 2);
}

static void test_simple_calls(void **state)
{
	(void)state;
	call(PKSV_HC_RAX(PKSV_HC_VERSION));
	assert_int_equal(regs.rax, 0);
	assert_int_equal(regs.rbx, PKSV_ABI_VERSION);
	assert_int_equal(regs.rcx, 0x2a);
	assert_int_equal(regs.rdx, PKSV_BACKEND_SOFT);

	regs.rbx = 0x0123456789abcdefull;
	call(PKSV_HC_RAX(PKSV_HC_NOP));
	assert_int_equal(regs.rbx, ~0x0123456789abcdefull);

	call(PKSV_HC_RAX(PKSV_HC_SELFTEST_INFO));
	assert_int_equal(regs.rbx, hv_s.pool.base);

	call(PKSV_HC_RAX(PKSV_HC_PRINT_STATS));
	assert_int_equal(regs.rax, 0);
	assert_int_equal(print_calls, 1);

	call(PKSV_HC_RAX(PKSV_HC_GET_MODE));
	assert_int_equal(regs.rbx, PKSV_MODE_RELAXED);
	assert_int_equal(regs.rcx, 0);
	assert_int_equal(regs.rdx, PKSV_MODE_RELAXED);
	/* ABI 1.1: a guest policy reports the guest's mode, the flag, STRICT. */
	hv_s.pks.guest_mode = PKSV_MODE_SILENT;
	hv_s.pks.guest_policy = true;
	hv_s.pks.mode = PKSV_MODE_STRICT;
	call(PKSV_HC_RAX(PKSV_HC_GET_MODE));
	assert_int_equal(regs.rbx, PKSV_MODE_SILENT);
	assert_int_equal(regs.rcx, PKSV_MODE_GUEST_POLICY);
	assert_int_equal(regs.rdx, PKSV_MODE_STRICT);
	exposed = false;
	regs.rbx = 5;
	call(PKSV_HC_RAX(PKSV_HC_GET_MODE));
	assert_int_equal((s64)regs.rax, -PKSV_ENOTSUP);
	assert_int_equal(regs.rbx, 5);
	assert_int_equal(skip_calls, 7);
}

static void test_get_counter(void **state)
{
	struct vcpu_stats *st = &vcpu_s.stats;
	const struct { u64 id; u64 *field; } map[] = {
		{ PKSV_CTR_EPT_VIOLATIONS, &st->ept_violations },
		{ PKSV_CTR_HIDDEN_ACCESS, &st->hidden_access },
		{ PKSV_CTR_INJECTED, &st->injected },
		{ PKSV_CTR_PKRS_WRITES, &st->pkrs_writes },
		{ PKSV_CTR_VMFUNC_REFUSED, &st->vmfunc_refused },
		{ PKSV_CTR_MSR_REFUSED, &st->msr_refused },
	};

	(void)state;
	for (unsigned int i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		*map[i].field = 1000 + i;
		regs.rbx = map[i].id;
		call(PKSV_HC_RAX(PKSV_HC_GET_COUNTER));
		assert_int_equal(regs.rax, 0);
		assert_int_equal(regs.rbx, 1000 + i);
	}
	st->pk_fault_injected = 1;
	st->pk_fault_unprotected = 2;
	st->pk_fault_table = 4;
	regs.rbx = PKSV_CTR_PK_FAULTS;
	call(PKSV_HC_RAX(PKSV_HC_GET_COUNTER));
	assert_int_equal(regs.rbx, 7);
	st->exit_reason[EXIT_RDMSR] = 3;
	st->exit_reason[EXIT_WRMSR] = 5;
	regs.rbx = PKSV_CTR_MSR_EXITS;
	call(PKSV_HC_RAX(PKSV_HC_GET_COUNTER));
	assert_int_equal(regs.rbx, 8);
	/* Bad ids: -EINVAL, RBX keeps the id. */
	for (u64 id = PKSV_CTR_MAX; id < PKSV_CTR_MAX + 3; id++) {
		regs.rbx = id;
		call(PKSV_HC_RAX(PKSV_HC_GET_COUNTER));
		assert_int_equal((s64)regs.rax, -PKSV_EINVAL);
		assert_int_equal(regs.rbx, id);
	}
	regs.rbx = 1ull << 32;
	call(PKSV_HC_RAX(PKSV_HC_GET_COUNTER));
	assert_int_equal((s64)regs.rax, -PKSV_EINVAL);
}

/* Which registers reach which pks_hc_* argument (docs/hypercalls.md). */
static void test_arguments_routed(void **state)
{
	const struct {
		u32 nr;
		const char *fn;
		unsigned int nargs;
		int add;		/* -1: not a range call */
	} calls[] = {
		{ PKSV_HC_RANGE_REGISTER, "range", 3, 1 },
		{ PKSV_HC_RANGE_UNREGISTER, "range", 2, 0 },
		{ PKSV_HC_UNPROTECT_PAGE, "unprotect", 2, -1 },
		{ PKSV_HC_PROTECT_PAGE, "protect", 1, -1 },
		{ PKSV_HC_GRANT, "grant", 2, -1 },
		{ PKSV_HC_REVOKE, "revoke", 1, -1 },
		{ PKSV_HC_SET_MODE, "set_mode", 1, -1 },
		{ PKSV_HC_LOCK_KEY, "lock_key", 1, -1 },
		{ PKSV_HC_VIEW_INDEX, "view_index", 1, -1 },
		{ PKSV_HC_PV_RANGES, "pv_ranges", 1, -1 },
		{ PKSV_HC_GET_STATS, "get_stats", 2, -1 },
	};

	(void)state;
	for (unsigned int i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		const u64 in[3] = { regs.rbx, regs.rcx, regs.rdx };

		memset(&last, 0, sizeof(last));
		call(PKSV_HC_RAX(calls[i].nr));
		assert_non_null(last.fn);
		assert_string_equal(last.fn, calls[i].fn);
		for (unsigned int a = 0; a < calls[i].nargs; a++)
			assert_int_equal(last.a[a], in[a]);
		if (calls[i].add >= 0) {
			assert_int_equal(last.add, calls[i].add);
			if (!calls[i].add)
				assert_int_equal(last.a[2], 0);	/* no key */
		}
		assert_int_equal(vcpu_s.stats.hypercalls[calls[i].nr], 1);
	}
	/* VIEW_INDEX success: the index in RBX, RCX/RDX untouched. */
	{
		u64 rcx = regs.rcx, rdx = regs.rdx;

		call(PKSV_HC_RAX(PKSV_HC_VIEW_INDEX));
		assert_int_equal(regs.rbx, 0x7777);
		assert_int_equal(regs.rcx, rcx);
		assert_int_equal(regs.rdx, rdx);
	}
}

/* Every error of every routed call: RAX only, the rest as before. */
static void test_failure_changes_only_rax(void **state)
{
	const u32 nrs[] = {
		PKSV_HC_RANGE_REGISTER, PKSV_HC_RANGE_UNREGISTER, PKSV_HC_UNPROTECT_PAGE,
		PKSV_HC_PROTECT_PAGE, PKSV_HC_GRANT, PKSV_HC_REVOKE, PKSV_HC_SET_MODE,
		PKSV_HC_LOCK_KEY, PKSV_HC_VIEW_INDEX, PKSV_HC_PV_RANGES, PKSV_HC_GET_STATS,
	};
	unsigned int n = 0;

	(void)state;
	for (s64 err = PKSV_ENOSYS; err <= PKSV_EPERM; err++)
		for (unsigned int i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
			struct guest_regs before = regs;

			pks_ret = -err;
			call(PKSV_HC_RAX(nrs[i]));
			n++;
			assert_int_equal((s64)regs.rax, -err);
			before.rax = regs.rax;
			assert_memory_equal(&regs, &before, sizeof(regs));
		}
	assert_int_equal(vcpu_s.stats.hypercall_errors, n);
	assert_int_equal(skip_calls, n);
	assert_int_equal(ud_calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ud_changes_nothing, setup),
		cmocka_unit_test_setup(test_unknown_calls, setup),
		cmocka_unit_test_setup(test_simple_calls, setup),
		cmocka_unit_test_setup(test_get_counter, setup),
		cmocka_unit_test_setup(test_arguments_routed, setup),
		cmocka_unit_test_setup(test_failure_changes_only_rax, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
