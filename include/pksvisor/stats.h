/* SPDX-License-Identifier: MIT */
/*
 * Per-vCPU statistics.  Counters are only written by the vCPU that owns
 * them (in VMX root on that CPU), so no locking.  Formatting is pure and
 * unit tested; docs/statistics.md documents every key.
 */
#ifndef PKSVISOR_STATS_H
#define PKSVISOR_STATS_H

#include <pksvisor/types.h>
#include <pksvisor/hypercall.h>

#define EXIT_REASON_MAX	80	/* SDM Vol. 3D Appendix C; 0..79 covers all defined */

/* Per vCPU (vcpu->stats): only its own CPU writes it, no lock. */
/*
 * Room for the longest machine line (every counter at 2^64-1, every exit
 * reason and hypercall named): tests/unit/test_stats.c checks it fits.
 */
#define STATS_LINE_MAX	8192

struct vcpu_stats {
	u64 exits;			/* all VM exits */
	u64 exit_reason[EXIT_REASON_MAX];
	u64 hypercalls[PKSV_HC_MAX];	/* per call number */
	u64 hypercall_errors;
	u64 injected;			/* events injected (#GP, #UD, #PF, ...) */
	u64 ept_violations;
	u64 hidden_access;		/* refused accesses to pksvisor memory */
	/* PKS (filled by pks/) */
	u64 pkrs_writes;
	u64 view_switch_exit;
	u64 view_switch_vmfunc;
	u64 views_built;
	u64 pk_fault_injected;
	u64 pk_fault_unprotected;
	u64 pk_fault_table;
	u64 s3_refused;			/* ACPI S3 requests not performed (docs/power.md) */
	u64 unprotected_pages;		/* snapshot of the global table when printed */
	/* NMIs and event injection (vmm/inject.c) */
	u64 nmi_reflected;		/* NMI exits: an NMI arrived in VMX non-root */
	u64 nmi_root;			/* NMIs taken by the host IDT in VMX root */
	u64 nmi_injected;		/* NMIs injected (re-deliveries included) */
	u64 nmi_requeued;		/* NMI deliveries an exit interrupted */
	u64 nmi_window;			/* NMI-window exits */
	u64 events_requeued;		/* events re-queued from IDT-vectoring info */
	u64 events_merged;		/* new exception met a queued event (SDM 6.15) */
	/* Refused guest actions (the guest continues with #UD / #GP) */
	u64 vmfunc_refused;		/* VMFUNC exits: an index that is no pinned view */
	u64 msr_refused;		/* Intel PT (RTIT) MSRs, APIC base into the reservation */
	/* Guest input answered architecturally or by a degraded mode (never fatal) */
	u64 cr_write_refused;		/* MOV to CR that would fail VM entry: #GP */
	u64 db_after_emulation;		/* guest TF: #DB after an emulated instruction */
	u64 step_merged;		/* second step reason while one is in progress */
	u64 step_overflow;		/* instruction needing more page overrides */
	u64 walk_refused;		/* soft: walk failed or GPA mismatch: not allowed */
	u64 view_degraded;		/* soft: no view could be built: degraded view */
	u64 mmio_mapped;		/* EPT regions mapped on demand above the map */
	u64 pku_reinjected;		/* hw: user-page (PKRU) #PF re-injected unchanged */
	u64 ept_stale;			/* soft: EPT violation the view already allows */
};

/* Name of a basic exit reason ("CPUID", "EPT_VIOLATION"), or NULL if reserved. */
const char *exit_reason_name(unsigned int reason);

/* Short lower-case key for the machine line ("cpuid", "ept_violation"). */
const char *exit_reason_key(unsigned int reason);

/*
 * Machine-readable one-liner:
 *   "pksvisor: stats vcpu=N backend=soft exits=.. exit.cpuid=.. ... hc.version=.. ..."
 * Zero per-reason and per-call counters are omitted.  Returns length (as snprintf).
 */
int stats_format_line(char *buf, size_t size, unsigned int vcpu_id,
		      const char *backend, const struct vcpu_stats *st);

/*
 * The same line without its "pksvisor: stats " prefix ("vcpu=N backend=..."):
 * what PKSV_HC_GET_STATS hands the guest.  buf may be NULL with size 0 to
 * learn the length.  Returns length (as snprintf).
 */
int stats_format_body(char *buf, size_t size, unsigned int vcpu_id,
		      const char *backend, const struct vcpu_stats *st);

/*
 * Human table, one line per call of emit (each line already prefixed with
 * "pksvisor: ").  emit receives NUL-terminated lines without newline.
 */
void stats_format_table(unsigned int vcpu_id, const char *backend,
			const struct vcpu_stats *st,
			void (*emit)(void *ctx, const char *line), void *ctx);

#endif
