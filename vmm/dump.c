// SPDX-License-Identifier: MIT
/*
 * Reporting: statistics on request, and the fatal dump.  A fatal error in
 * a hypervisor must never be a silent hang or a reboot loop: the dump names
 * the exit, the guest state and the last exits, then the CPU halts.
 */
#include <pksvisor/format.h>
#include <pksvisor/log.h>
#include <pksvisor/stats.h>
#include "exit.h"
#include "../pks/pks_vmm.h"
#include "vmx.h"

static void emit_line(void *ctx, const char *line)
{
	(void)ctx;
	/* stats_format_table prefixes "pksvisor: " itself */
	pksv_log_line(line);
}

static const char *backend_name(struct vcpu *vcpu)
{
	return pks_backend_str(vcpu->hv);
}

/*
 * pksvisor's memory: the reservation (image copy, host structures, EPT)
 * and the EPT paging-structure pages of the base EPT and of each soft
 * view, in KiB (docs/memory-layout.md, docs/benchmarks.md).  Read without
 * the PKS lock: a report, not a decision.
 */
static void print_memory(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	struct page_pool *pool = &hv->pool;
	u64 used = pool->next - pool->base - pool->free_pages * PAGE_SIZE;
	u64 views = 0, view_pages = 0, max_pages = 0;

	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {
		const struct pks_view *v = &hv->pks.views[i];

		if (!v->valid)
			continue;
		views++;
		view_pages += v->ept.pages_used;
		if (v->ept.pages_used > max_pages)
			max_pages = v->ept.pages_used;
	}
	pksv_log("memory reserved_kib=%llu used_kib=%llu base_ept_kib=%llu views=%llu view_ept_kib=%llu max_view_ept_kib=%llu",
		 pool->size >> 10, used >> 10, (hv->ept.pages_used * PAGE_SIZE) >> 10,
		 views, (view_pages * PAGE_SIZE) >> 10, (max_pages * PAGE_SIZE) >> 10);
}

void vcpu_print_stats(struct vcpu *vcpu, const char *why)
{
	char line[STATS_LINE_MAX];	/* 8 KiB of the 32 KiB host stack */

	vcpu->stats.unprotected_pages = vcpu->hv->pks.unprotect.count;
	pksv_log("statistics (%s):", why);
	stats_format_table(vcpu->id, backend_name(vcpu), &vcpu->stats, emit_line, NULL);
	stats_format_line(line, sizeof(line), vcpu->id, backend_name(vcpu), &vcpu->stats);
	emit_line(NULL, line);
	print_memory(vcpu);
}

/*
 * At power-off and reset: every vCPU's counters, the caller's first.  The
 * other CPUs keep running while their counters are read: each line is a
 * snapshot of plain u64 counters (a torn read is not possible on x86-64
 * for aligned u64s), possibly a few exits old.
 */
void vcpu_print_all_stats(struct vcpu *vcpu, const char *why)
{
	struct hv *hv = vcpu->hv;

	vcpu_print_stats(vcpu, why);
	for (unsigned int i = 0; i < hv->nr_vcpus; i++)
		if (hv->vcpus[i] && hv->vcpus[i] != vcpu)
			vcpu_print_stats(hv->vcpus[i], why);
}

static const char *reason_name(u32 reason)
{
	const char *name = exit_reason_name(reason & 0xffff);

	return name ? name : "RESERVED";
}

void vcpu_fatal(struct vcpu *vcpu, const char *why)
{
	pksv_log("FATAL: %s on vcpu %u", why, vcpu->id);
	pksv_log("exit reason %u (%s)%s qualification 0x%llx",
		 vcpu->exit_reason & 0xffff, reason_name(vcpu->exit_reason),
		 vcpu->exit_reason & EXIT_REASON_ENTRY_FAIL ? " [entry failure]" : "",
		 vcpu_exit_qual(vcpu));
	pksv_log("guest rip 0x%llx rsp 0x%llx rflags 0x%llx",
		 vmread(VMCS_GUEST_RIP), vmread(VMCS_GUEST_RSP), vmread(VMCS_GUEST_RFLAGS));
	pksv_log("guest cr0 0x%llx (shadow 0x%llx) cr3 0x%llx cr4 0x%llx (shadow 0x%llx)",
		 vmread(VMCS_GUEST_CR0), vcpu->cr0_shadow, vmread(VMCS_GUEST_CR3),
		 vmread(VMCS_GUEST_CR4), vcpu->cr4_shadow);
	pksv_log("guest cs 0x%llx base 0x%llx ar 0x%llx efer 0x%llx activity %llu",
		 vmread(VMCS_GUEST_CS_SEL), vmread(VMCS_GUEST_CS_BASE),
		 vmread(VMCS_GUEST_CS_AR), vmread(VMCS_GUEST_EFER),
		 vmread(VMCS_GUEST_ACTIVITY));
	if (vcpu->regs) {
		struct guest_regs *r = vcpu->regs;

		pksv_log("guest rax 0x%llx rbx 0x%llx rcx 0x%llx rdx 0x%llx",
			 r->rax, r->rbx, r->rcx, r->rdx);
		pksv_log("guest rsi 0x%llx rdi 0x%llx rbp 0x%llx",
			 r->rsi, r->rdi, r->rbp);
	}
	pksv_log("idt-vectoring 0x%llx entry-intr 0x%llx instr-error %llu",
		 vmread(VMCS_IDT_VECTORING_INFO), vmread(VMCS_ENTRY_INTR_INFO),
		 vmread(VMCS_VM_INSTR_ERROR));
	pksv_log("last %u exits, oldest first:", EXIT_HISTORY);
	for (unsigned int i = 0; i < EXIT_HISTORY; i++) {
		struct exit_record *rec =
			&vcpu->history[(vcpu->history_next + i) % EXIT_HISTORY];

		if (!rec->reason && !rec->rip)
			continue;
		pksv_log("  %-22s rip 0x%llx qual 0x%llx",
			 reason_name(rec->reason), rec->rip, rec->qual);
	}
	vcpu_print_stats(vcpu, "fatal");
	pksv_log("halting");
	pksv_halt();
}
