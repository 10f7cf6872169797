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
#include "vmx_caps.h"

/* Guest GPRs as the exit stub (vmm/vmx_asm.asm) pushes them. */
struct guest_regs {
	u64 rax, rcx, rdx, rbx, rbp, rsi, rdi;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

struct spinlock {
	volatile u32 locked;
};

static inline void spin_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (l->locked)
			asm volatile("pause");
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

/* Page pool in EfiReservedMemoryType memory (boot/memory.c). */
struct page_pool {
	struct spinlock lock;
	u64 base, size;		/* the whole reservation: hidden from the guest */
	u64 next;		/* bump pointer */
	u64 free_list;		/* freed single pages, linked through their first word */
	u64 free_pages;
};

#define MAX_RAM_RANGES	128

struct ram_range {
	u64 start, end;		/* [start, end) conventional-type guest RAM */
};

#define PKS_MAX_VIEWS	8	/* slot 0 is the base (permissive) EPT */
#define PKS_MAX_TABLES	1024	/* guest paging-structure pages tracked */
#define PKS_WARN_SLOTS	64
#define PKS_MAX_MULTI	64
#define PKS_MAX_ROOTS	32	/* address spaces scanned in this epoch */
#define PKS_RESCAN_NONE	0
#define PKS_RESCAN_ROOT	1	/* a root not scanned yet was loaded */
#define PKS_RESCAN_ALL	2	/* a tracked page table was written */
#define PKS_MAX_OVERRIDES 16	/* pages opened for one stepped instruction */

/* One EPT per distinct (effective PKRS, CR0.WP): the soft backend's views. */
struct pks_view {
	bool valid;
	bool pinned;			/* index handed to the guest for VMFUNC */
	u32 pkrs;
	bool wp;
	u64 generation;			/* keymap/table generation it reflects */
	u64 last_used;
	struct ept ept;
	u64 eptp;
};

struct pks_global {
	int backend;			/* PKS_BACKEND_* */
	int mode;			/* PKSV_MODE_* pksvisor acts on */
	int guest_mode;			/* the mode GET_MODE reports (SET_MODE's) */
	bool guest_policy;		/* the guest decides PK faults: mode STRICT/OFF */
	struct spinlock lock;		/* everything below */
	struct keymap keymap;		/* keyed guest-physical ranges */
	bool discovery;			/* no PV registration: scan guest tables */
	/* Discovered pages mapped with more than one key (aliases). */
	struct { u64 start, end; u16 keys; } multi[PKS_MAX_MULTI];
	unsigned int nr_multi;
	u64 tables[PKS_MAX_TABLES];	/* write-protected guest table pages */
	u8 table_level[PKS_MAX_TABLES];	/* their paging level (1 = PT) */
	unsigned int nr_tables;
	u64 roots[PKS_MAX_ROOTS];	/* CR3 roots scanned in this epoch */
	unsigned int nr_roots;
	u64 generation;			/* bumped when keymap or tables change */
	struct pks_view views[PKS_MAX_VIEWS];
	u64 use_clock;
	u64 eptp_list_pa;		/* VMFUNC leaf 0 list (slot = index) */
	bool vmfunc;
	struct { u64 rip; u8 key; } warned[PKS_WARN_SLOTS];
	unsigned int nr_warned;
	u32 lock_bits;			/* AD|WD of locked keys: always enforced */
	struct unprotect_table unprotect;	/* kmap()ed pages open to all */
};

struct hv {
	struct pksv_config cfg;
	struct vmx_msrs msrs;
	struct vmx_setup vmx;
	struct page_pool pool;
	struct mtrr_state mtrr;
	struct ept ept;			/* the guest's identity EPT */
	struct spinlock ept_lock;	/* EPT changes after launch */
	u64 eptp;
	u64 scratch_hpa;		/* 0xff page standing in for hidden memory */
	u64 phys_limit;			/* EPT maps [0, phys_limit) */
	struct ram_range ram[MAX_RAM_RANGES];
	unsigned int nr_ram;
	u64 host_cr3;
	u64 host_gdt, host_idt, host_tss;
	u64 tsc_per_sec;
	struct acpi_pm acpi;		/* ACPI PM1 sleep registers (docs/power.md) */
	struct pks_global pks;
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

struct vcpu {
	struct vcpu *self;		/* host GS:0 points here */
	unsigned int id;
	struct hv *hv;
	u64 vmxon_pa;
	u64 vmcs_pa;
	u64 msr_bitmap_pa;
	u64 io_bitmap_a_pa, io_bitmap_b_pa;
	u64 stack_top;
	struct guest_regs *regs;	/* valid during exit handling */

	/* Per-exit cache */
	u32 exit_reason;
	u64 exit_qual;
	u64 guest_rip;
	u32 exit_instr_len;
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
	struct ept *hidden_ept;		/* the EPT (base or PKS view) redirected */
	u64 hidden_eptp;

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

	/* PKS (pks/): the guest's IA32_PKRS and what pksvisor does with it */
	u64 pkrs;			/* architectural value the guest wrote */
	u32 pkrs_open;			/* keys opened by RELAXED/SILENT until the next write */
	u32 pkrs_grant;			/* AD/WD bits cleared by GRANT until REVOKE or the next write */
	bool pkrs_passthrough;		/* hw: PKRS RDMSR/WRMSR do not exit (pks/hw_pkrs.c) */
	int pks_view;			/* soft: view slot in use */
	u64 pks_root;			/* soft discovery: root last scanned */
	struct pks_override {		/* pages opened for one stepped instruction */
		u64 gpa, perms;
		u8 slot;		/* view they were opened in */
	} pks_override[PKS_MAX_OVERRIDES];
	unsigned int pks_nr_override;
	u64 pks_retry_rip, pks_retry_gpa;	/* last access retried (walk mismatch) */
	u64 pks_table_gpa;		/* tracked table being written (step) */
	u64 pks_table_snap[512];	/* its content before the write */
	u8 pks_rescan;			/* soft discovery: PKS_RESCAN_* */

	u64 last_stats_tsc;
	struct vcpu_stats stats;
	struct exit_record history[EXIT_HISTORY];
	unsigned int history_next;
};

/* Host per-CPU pointer (GS base). */
static inline struct vcpu *this_vcpu(void)
{
	struct vcpu *v;

	asm volatile("movq %%gs:0, %0" : "=r"(v));
	return v;
}

#endif
