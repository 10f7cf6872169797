// SPDX-License-Identifier: MIT
/*
 * VMCALL dispatcher (exit reason 18).  The ABI is in
 * include/pksvisor/hypercall.h and docs/hypercalls.md.  Calls are looked
 * up in a table; a failed call writes nothing but RAX.
 */
#include <pksvisor/log.h>
#include "exit.h"
#include "../pks/pks_vmm.h"
#include "hypercall.h"
#include "vmx.h"

typedef s64 (*hypercall_fn)(struct vcpu *vcpu, struct hc_args *a);

static s64 hc_version(struct vcpu *vcpu, struct hc_args *a)
{
	a->out[0] = PKSV_ABI_VERSION;
	a->out[1] = pksv_features(vcpu->hv);
	a->out[2] = vcpu->hv->pks.backend;	/* PKS_BACKEND_* == PKSV_BACKEND_* */
	return 0;
}

static s64 hc_print_stats(struct vcpu *vcpu, struct hc_args *a)
{
	(void)a;
	vcpu_print_stats(vcpu, "requested by hypercall");
	return 0;
}

static u64 counter_value(struct vcpu *vcpu, u64 id)
{
	struct vcpu_stats *st = &vcpu->stats;

	switch (id) {
	case PKSV_CTR_EXITS:		return st->exits;
	case PKSV_CTR_HYPERCALLS: {
		u64 sum = 0;

		for (unsigned int i = 0; i < PKSV_HC_MAX; i++)
			sum += st->hypercalls[i];
		return sum;
	}
	case PKSV_CTR_EPT_VIOLATIONS:	return st->ept_violations;
	case PKSV_CTR_HIDDEN_ACCESS:	return st->hidden_access;
	case PKSV_CTR_INJECTED:		return st->injected;
	case PKSV_CTR_CPUID_EXITS:	return st->exit_reason[EXIT_CPUID];
	case PKSV_CTR_MSR_EXITS:
		return st->exit_reason[EXIT_RDMSR] + st->exit_reason[EXIT_WRMSR];
	case PKSV_CTR_PKRS_WRITES:	return st->pkrs_writes;
	case PKSV_CTR_PK_FAULTS:
		return st->pk_fault_injected + st->pk_fault_unprotected +
		       st->pk_fault_table;
	case PKSV_CTR_VMFUNC_REFUSED:	return st->vmfunc_refused;
	case PKSV_CTR_MSR_REFUSED:	return st->msr_refused;
	}
	return 0;
}

static s64 hc_get_counter(struct vcpu *vcpu, struct hc_args *a)
{
	if (!hypercall_counter_valid(a->in[0]))
		return -PKSV_EINVAL;
	a->out[0] = counter_value(vcpu, a->in[0]);
	return 0;
}

static s64 hc_nop(struct vcpu *vcpu, struct hc_args *a)
{
	(void)vcpu;
	a->out[0] = ~a->in[0];
	return 0;
}

static s64 hc_selftest_info(struct vcpu *vcpu, struct hc_args *a)
{
	/* The first pool page: inside pksvisor, hidden from the guest. */
	a->out[0] = vcpu->hv->pool.base;
	return 0;
}

static s64 hc_range_register(struct vcpu *vcpu, struct hc_args *a)
{
	return pks_hc_range(vcpu, a->in[0], a->in[1], a->in[2], true);
}

static s64 hc_range_unregister(struct vcpu *vcpu, struct hc_args *a)
{
	return pks_hc_range(vcpu, a->in[0], a->in[1], 0, false);
}

static s64 hc_set_mode(struct vcpu *vcpu, struct hc_args *a)
{
	return pks_hc_set_mode(vcpu, a->in[0]);
}

/*
 * RBX: the mode the guest set (or pks_mode= from the configuration);
 * RCX: PKSV_MODE_GUEST_POLICY if the guest decides PK faults itself;
 * RDX: the mode pksvisor acts on (STRICT under a guest policy).
 */
static s64 hc_get_mode(struct vcpu *vcpu, struct hc_args *a)
{
	if (!pks_exposed(vcpu->hv))
		return -PKSV_ENOTSUP;
	a->out[0] = vcpu->hv->pks.guest_mode;
	a->out[1] = vcpu->hv->pks.guest_policy ? PKSV_MODE_GUEST_POLICY : 0;
	a->out[2] = vcpu->hv->pks.mode;
	return 0;
}

static s64 hc_pv_ranges(struct vcpu *vcpu, struct hc_args *a)
{
	return pks_hc_pv_ranges(vcpu, a->in[0]);
}

static s64 hc_view_index(struct vcpu *vcpu, struct hc_args *a)
{
	return pks_hc_view_index(vcpu, a->in[0], &a->out[0]);
}

static s64 hc_unprotect_page(struct vcpu *vcpu, struct hc_args *a)
{
	return pks_hc_unprotect(vcpu, a->in[0], a->in[1]);
}

static s64 hc_protect_page(struct vcpu *vcpu, struct hc_args *a)
{
	return pks_hc_protect(vcpu, a->in[0]);
}

static s64 hc_grant(struct vcpu *vcpu, struct hc_args *a)
{
	return pks_hc_grant(vcpu, a->in[0], a->in[1]);
}

static s64 hc_revoke(struct vcpu *vcpu, struct hc_args *a)
{
	return pks_hc_revoke(vcpu, a->in[0]);
}

static s64 hc_lock_key(struct vcpu *vcpu, struct hc_args *a)
{
	return pks_hc_lock_key(vcpu, a->in[0]);
}

static const hypercall_fn hypercalls[PKSV_HC_MAX] = {
	[PKSV_HC_VERSION]	= hc_version,
	[PKSV_HC_PRINT_STATS]	= hc_print_stats,
	[PKSV_HC_GET_COUNTER]	= hc_get_counter,
	[PKSV_HC_NOP]		= hc_nop,
	[PKSV_HC_SELFTEST_INFO]	= hc_selftest_info,
	[PKSV_HC_RANGE_REGISTER] = hc_range_register,
	[PKSV_HC_RANGE_UNREGISTER] = hc_range_unregister,
	[PKSV_HC_UNPROTECT_PAGE] = hc_unprotect_page,
	[PKSV_HC_PROTECT_PAGE]	= hc_protect_page,
	[PKSV_HC_GRANT]		= hc_grant,
	[PKSV_HC_REVOKE]	= hc_revoke,
	[PKSV_HC_LOCK_KEY]	= hc_lock_key,
	[PKSV_HC_SET_MODE]	= hc_set_mode,
	[PKSV_HC_GET_MODE]	= hc_get_mode,
	[PKSV_HC_VIEW_INDEX]	= hc_view_index,
	[PKSV_HC_PV_RANGES]	= hc_pv_ranges,
	[PKSV_HC_GET_STATS]	= hc_get_stats,
};

void handle_vmcall(struct vcpu *vcpu)
{
	struct guest_regs *r = vcpu->regs;
	struct hc_args a;
	hypercall_fn fn = NULL;
	u32 nr;
	s64 ret;

	if (hypercall_decode(r->rax, vcpu_cpl(), &nr)) {
		vcpu_inject_ud(vcpu);
		return;
	}
	if (nr < PKSV_HC_MAX) {
		fn = hypercalls[nr];
		vcpu->stats.hypercalls[nr]++;
	}
	/* Every field set here: no clearing of the whole block first. */
	a.in[0] = r->rbx;
	a.in[1] = r->rcx;
	a.in[2] = r->rdx;
	a.in[3] = r->rsi;
	ret = fn ? fn(vcpu, &a) : -PKSV_ENOSYS;
	if (__builtin_expect(ret == 0, 1)) {
		r->rbx = a.out[0];
		r->rcx = a.out[1];
		r->rdx = a.out[2];
	} else {
		vcpu->stats.hypercall_errors++;
	}
	r->rax = (u64)ret;
	vcpu_skip_instruction(vcpu);
}
