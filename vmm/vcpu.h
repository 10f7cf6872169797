/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor's state: one struct hv (set up at boot, then read-mostly;
 * its mutable parts have their own locks) and one struct vcpu per
 * virtualized CPU (only touched by that CPU in VMX root).
 */
#ifndef PKSVISOR_VCPU_H
#define PKSVISOR_VCPU_H

#include <pksvisor/types.h>
#include <pksvisor/config.h>
#include <pksvisor/acpi_pm.h>
#include <pksvisor/ept.h>
#include <pksvisor/mtrr.h>
#include <pksvisor/pks.h>
#include <pksvisor/stats.h>
#include <pksvisor/spinlock.h>
#include <pksvisor/page_pool.h>
#include <pksvisor/x86.h>
#include "vmx_caps.h"
#include "../pks/pks_state.h"

/* Guest GPRs as the exit stub (vmm/vmx_asm.asm) pushes them. */
struct guest_regs {
	u64 rax, rcx, rdx, rbx, rbp, rsi, rdi;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

#define MAX_RAM_RANGES	128

struct ram_range {
	u64 start, end;		/* [start, end) conventional-type guest RAM */
};

/*
 * Shared by every vCPU.  hv_prepare() (vmm/build.c) fills it on the boot
 * CPU before the guest runs; afterwards every field is read-only except
 * those naming their lock below.
 */
/*
 * A view's EPT tree that no view names any more but that a vCPU may still
 * walk (vmm/ept_retire.c): freed when every vCPU that was running guest
 * code has acknowledged a shootdown made after it was retired.
 */
#define EPT_RETIRE_MAX	16
struct ept_retired {
	u64 pml4;			/* root of the tree; 0: entry unused */
	bool single;			/* pml4 is one table of leaves (ept_merge) */
	u32 owner;			/* vCPU whose exit retired it: its shootdown arms it */
	bool armed;			/* need[] is set */
	u64 need[PKSV_MAX_CPUS];	/* shoot_ack each vCPU must reach; 0: none */
};

struct ept_retire_list {
	struct spinlock lock;		/* guards e[]; taken inside pks.lock */
	struct ept_retired e[EPT_RETIRE_MAX];
};

struct hv {
	struct pksv_config cfg;
	struct vmx_msrs msrs;
	struct vmx_setup vmx;
	struct page_pool pool;		/* guarded by pool.lock */
	struct mtrr_state mtrr;
	struct ept ept;			/* the guest's identity EPT, guarded by ept_lock */
	struct spinlock ept_lock;	/* EPT changes after launch (MMIO on demand, hidden pages) */
	u64 eptp;
	u64 scratch_hpa;		/* 0xff page standing in for hidden memory */
	u64 phys_limit;			/* EPT maps [0, phys_limit) */
	struct ram_range ram[MAX_RAM_RANGES];
	unsigned int nr_ram;
	u64 host_cr3;
	u64 host_idt;			/* shared by every CPU (read-only) */
	/* One per CPU, index = vcpu id (0 = boot CPU); set before any launch. */
	struct vcpu *vcpus[PKSV_MAX_CPUS];
	unsigned int nr_vcpus;
	u64 tsc_per_sec;
	/*
	 * ACPI PM1 sleep registers (docs/power.md).  wake_pending is written
	 * at exits (vmm/exit_io.c) without a lock: one vCPU today; a second
	 * vCPU needs an atomic or a lock here ([all-cpus]).
	 */
	struct acpi_pm acpi;
	struct pks_global pks;		/* guarded by pks.lock (pks/pks_state.h) */
	/*
	 * The global protection generation: bumped (atomically) by every
	 * EPT invalidation; a vCPU whose own prot_generation is older
	 * invalidates its EPTPs before its next VM entry (vmm/flush.c).
	 */
	u64 prot_generation;
	/* EPT trees freed once the shootdown after their retirement is done. */
	struct ept_retire_list retired;
};

/* vcpu->shoot_state */
enum {
	SHOOT_NEW = 0,		/* prepared, no VM exit taken yet: not a target */
	SHOOT_RUNNING,		/* takes NMIs: a target */
	SHOOT_WAIT_SIPI,	/* INIT taken, waiting for SIPI: flushes at its SIPI exit;
				 * a target that reaches it while a sender waits is
				 * released (vmm/shootdown.c wait_ack()) */
};

#define EXIT_HISTORY	16
/*
 * Reserved pages one instruction may touch: straddles and MOVS need 4; an
 * AVX2 gather of 8 elements (or an AVX-512 gather of 16) on distinct
 * pages needs one each, as many as the PKS overrides (PKS_MAX_OVERRIDES).
 */
#define HIDDEN_MAX_PAGES 16

/*
 * Why one guest instruction is being single-stepped.  Bits: one
 * instruction may need several (a read of pksvisor memory and of a keyed
 * page), and each is completed when the instruction is (single_step.c).
 */
enum step_reason {
	STEP_NONE = 0,
	STEP_HIDDEN = 1,	/* refused access to pksvisor memory */
	STEP_PKS_ALLOW = 2,	/* soft PKS: allowed access through the base view */
	STEP_PKS_TABLE = 4,	/* soft PKS: guest writes a tracked page table */
	STEP_PKS_HW = 8,	/* hw PKS: access to an unprotected page, key open */
	STEP_IO = 16,		/* string I/O on an intercepted port, run natively */
};

struct exit_record {
	u32 reason;
	u64 rip;
	u64 qual;
};

/*
 * Per vCPU: only the CPU running it touches it (in VMX root), so no lock;
 * the one exception, nmi_pending, is also written by that CPU's host NMI
 * handler and is accessed atomically.
 */
struct vcpu {
	struct vcpu *self;		/* host GS:0 points here */
	unsigned int id;
	u32 apic_id;			/* initial APIC ID of the CPU it runs on */
	struct hv *hv;
	u64 host_gdt, host_tss;		/* this CPU's own (TSS busy bit, IST stack) */
	u64 vmxon_pa;
	u64 vmcs_pa;
	u64 msr_bitmap_pa;
	u64 io_bitmap_a_pa, io_bitmap_b_pa;
	u64 stack_top;
	bool vmx_failing;		/* vmm/vmx_check.c is dumping this vCPU */
	struct guest_regs *regs;	/* valid during exit handling */

	/*
	 * Per-exit cache.  Reason and RIP are read at every exit; the
	 * qualification and the instruction length only by the handlers
	 * that use them (vcpu_exit_qual(), vcpu_exit_instr_len() in
	 * seam.h): exit_fields says which of the two are valid.
	 */
	u32 exit_reason;
	u64 exit_qual_cached;		/* valid with EXIT_FIELD_QUAL: use vcpu_exit_qual() */
	u64 guest_rip;
	u32 exit_len_cached;		/* valid with EXIT_FIELD_LEN: use vcpu_exit_instr_len() */
	u8 exit_fields;			/* EXIT_FIELD_* read during this exit */
	bool injected;			/* an event is queued for this entry */

	/* Guest state pksvisor virtualizes */
	u64 cr0_shadow, cr4_shadow;
	u64 efer;
	u8 shutdown_idx;		/* progress through "Shutdown" on port 0x8900 */

	/* Single-stepping one guest instruction (vmm/single_step.c) */
	unsigned int step;		/* STEP_* bits in progress */
	bool step_guest_tf;		/* RFLAGS.TF the guest itself had */
	bool step_by_window;		/* TF fallback: an event delivery, ended by the NMI-window exit */
	u16 io_step_port;		/* STEP_IO: first port let through */
	u8 io_step_open;		/* STEP_IO: bit i = port + i was intercepted */
	enum { MTF_PROBING, MTF_WORKS, MTF_BROKEN } mtf_state;

	/* Hidden-memory access in progress (EPT -> scratch page, vmm/hidden.c) */
	bool hidden_pending;
	unsigned int hidden_nr;		/* reserved pages redirected for this instruction */
	u64 hidden_gpa[HIDDEN_MAX_PAGES];

	/*
	 * Event injection (vmm/inject.c): the event the next entry delivers,
	 * an external interrupt waiting for the interrupt window behind it,
	 * and NMIs owed to the guest (0..2: one may be latched behind the one
	 * being delivered, as on hardware; written from the host NMI handler
	 * too, hence atomic).
	 */
	struct vcpu_event { u32 info, error, instr_len; } event, deferred;
	bool triple_fault;		/* a merge ended in shutdown */
	bool vmcs_ready;		/* the host NMI handler may touch the VMCS */
	volatile u32 nmi_pending;

	/*
	 * The VMCS EPTP field, written through (vcpu_set_eptp() in seam.h)
	 * and refreshed at every exit where VMFUNC may have changed it
	 * (pks_exit_sync()): the entry check compares views against it
	 * without a VMREAD.
	 */
	u64 eptp;

	/* PKS (pks/pks_state.h): the guest's IA32_PKRS and its views */
	struct pks_vcpu pks;

	u64 prot_generation;		/* hv->prot_generation its EPT TLBs reflect */

	/*
	 * The shootdown (vmm/shootdown.c, docs/architecture.md "SMP: the
	 * shootdown").  Unlike the rest of struct vcpu these words are
	 * written by other CPUs too, always atomically:
	 *   shoot_req      bumped by a vCPU that needs this one to invalidate
	 *                  (and by this vCPU itself when it owes a shootdown);
	 *   shoot_ack      the last shoot_req this vCPU invalidated for
	 *                  (written by this vCPU only);
	 *   shoot_nmi      1 while a shootdown NMI is on its way to this CPU
	 *                  (set by the sender, cleared by whoever takes it);
	 *   shoot_state    SHOOT_* below: whether this vCPU can be made to exit.
	 * shoot_owed and shoot_self are this vCPU's own: it changed shared
	 * protection state and must shoot the others before it re-enters.
	 */
	u64 shoot_req;
	u64 shoot_ack;
	u32 shoot_nmi;
	u32 shoot_state;
	bool shoot_owed;
	bool shoot_self;		/* shoot_req holds one bump of our own */
	bool shoot_apic_warned;		/* our APIC was off once: said so (once) */
	bool shoot_gave_up;		/* no timer, a target took no NMI: said so (once) */

	u64 last_stats_tsc;
	struct vcpu_stats stats;
	struct exit_record history[EXIT_HISTORY];
	unsigned int history_next;
};

/*
 * The VPID tagging this vCPU's linear translations: the one numbering,
 * used by the VMCS field and by every INVVPID (vmm/flush.c).  VPID 0 is
 * VMX root's own (SDM Vol. 3C 29.1; VM entry refuses it when "enable
 * VPID" is 1, 26.2.1.1), so vCPU n runs with VPID 1 + n.
 */
#define VPID_FIRST	1

static inline u16 vcpu_vpid(const struct vcpu *vcpu)
{
	return (u16)(VPID_FIRST + vcpu->id);
}

/* Host per-CPU pointer (GS base). */
static inline struct vcpu *this_vcpu(void)
{
	struct vcpu *v;

	asm volatile("movq %%gs:0, %0" : "=r"(v));
	return v;
}

#endif
