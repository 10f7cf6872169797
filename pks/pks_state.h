/* SPDX-License-Identifier: MIT */
/*
 * PKS state, owned by pks/ (docs/pks.md): struct pks_vcpu is one vCPU's
 * (embedded in struct vcpu as vcpu->pks, touched only by that vCPU's CPU
 * in VMX root, so it takes no lock); struct pks_global is shared by all
 * vCPUs (embedded in struct hv as hv->pks, guarded by its lock).  vmm/
 * embeds both and asks pks/ through pks/pks_vmm.h; it reads only a few
 * fields directly (backend and mode for hypercalls, the unprotect count
 * for statistics, the views' EPTPs in vmm/flush.c).
 */
#ifndef PKSVISOR_PKS_STATE_H
#define PKSVISOR_PKS_STATE_H

#include <pksvisor/types.h>
#include <pksvisor/ept.h>
#include <pksvisor/pks.h>
#include <pksvisor/spinlock.h>

#define PKS_MAX_VIEWS	8	/* slot 0 is the base (permissive) EPT */
#define PKS_MAX_TABLES	1024	/* guest paging-structure pages tracked */
#define PKS_WARN_SLOTS	64
#define PKS_MAX_MULTI	64
#define PKS_MAX_ROOTS	32	/* address spaces scanned in this epoch */
#define PKS_RESCAN_NONE	0
#define PKS_RESCAN_ROOT	1	/* a root not scanned yet was loaded */
#define PKS_RESCAN_ALL	2	/* a tracked page table was written */
#define PKS_MAX_OVERRIDES 16	/* pages opened for one stepped instruction */
#define PKS_FACTS_RECENT 64	/* protected pages whose facts are kept (power of two) */

/*
 * One EPT per distinct (effective PKRS, CR0.WP): the soft backend's views.
 * Shared: an element of pks_global.views, guarded by pks_global.lock.
 */
struct pks_view {
	bool valid;
	bool pinned;			/* index handed to the guest for VMFUNC */
	u32 pkrs;
	bool wp;
	/*
	 * pks_view_perms(pkrs, wp, key) for every key, computed when the view
	 * is built (views_key_perms()): deriving a page is then a load per
	 * key, not a call.
	 */
	u8 key_perms[PKS_NR_KEYS];
	u64 generation;			/* keymap/table generation it reflects */
	u64 last_used;
	struct ept ept;
	u64 eptp;
	/*
	 * Which build of the slot this is (pks_global.build_seq when it was
	 * built, never 0): a vCPU that chose it remembers the value
	 * (pks_vcpu.view_seq) and re-selects when it changed.  The EPTP
	 * cannot tell builds apart: a slot rebuilt while nobody else could
	 * reach it may get the freed root back (one reachable by others is
	 * built into fresh pages, its old tree retired: docs/architecture.md,
	 * "SMP views").
	 */
	u64 build_seq;
	/*
	 * vCPUs (BIT_ULL(vcpu->id)) that run on this slot or hold it in
	 * their hint (pks_vcpu.user_slots): a view with another vCPU's bit
	 * set is never evicted or freed for a different PKRS.  Each vCPU
	 * sets and clears only its own bit, under the lock (views.c
	 * view_take()); the bit is what lets it switch to a hinted view
	 * without the lock (view_switch_hinted()).
	 */
	u64 users;
};

/*
 * PKS state shared by every vCPU (hv->pks).  backend is set at boot and
 * read-only afterwards; everything from lock on is guarded by lock.
 * Changes (keymap, tables, views built or evicted, unprotect, LOCK_KEY)
 * take it; a few exit-path reads of single words (mode, lock_bits, the
 * EPTP of the view in use) do not, which is safe with one vCPU and is
 * what the multi-CPU work settles (docs/architecture.md, "SMP").
 */
struct pks_global {
	int backend;			/* PKS_BACKEND_*: set at boot */
	int mode;			/* PKSV_MODE_* pksvisor acts on */
	int guest_mode;			/* GET_MODE reports it; written under lock */
	bool guest_policy;		/* guest decides PK faults; under lock */
	struct spinlock lock;		/* guards everything below */
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
	u64 build_seq;			/* last pks_view.build_seq handed out */
	struct pks_view views[PKS_MAX_VIEWS];
	u8 views_built;			/* bit i: views[i].valid, for i >= 1 */
	/*
	 * Bumped whenever a view is built or freed and whenever a table of
	 * a view is freed (an override's split merged back, soft_fault.c);
	 * never 0.  A page's plan (pks/unprotect_vmm.c) made at another
	 * epoch names other views, or an EPT entry that may be gone.
	 */
	u64 view_epoch;
	u64 use_clock;
	/*
	 * Bumped whenever views_list_entry() of some slot may have changed
	 * (a view pinned, built or freed): each vCPU's own EPTP list
	 * (pks_vcpu.eptp_list_pa) catches up before its next VM entry.
	 */
	u64 list_generation;
	bool vmfunc;
	struct { u64 rip; u8 key; } warned[PKS_WARN_SLOTS];
	unsigned int nr_warned;
	u32 lock_bits;			/* AD|WD of locked keys: always enforced */
	struct unprotect_table unprotect;	/* kmap()ed pages open to all */
	/*
	 * The facts of pages protected again lately (pks/unprotect_vmm.c
	 * entry_facts()): a kmap() of the same page finds them here, by gfn,
	 * while their stamp is current.
	 */
	struct pks_facts_recent {
		u64 gfn, stamp;
		u8 rights;		/* an unprotect entry's facts_rights */
		u16 keys;
		u64 plan_epoch, plan, plan_leaf;	/* and its plan */
	} facts_recent[PKS_FACTS_RECENT];
};

/* Per vCPU: no lock (only its own CPU touches it). */
struct pks_vcpu {
	u64 pkrs;			/* architectural IA32_PKRS the guest wrote */
	u32 pkrs_open;			/* keys opened by RELAXED/SILENT until the next write */
	u32 pkrs_grant;			/* AD/WD bits cleared by GRANT until REVOKE or the next write */
	bool pkrs_passthrough;		/* hw: PKRS RDMSR/WRMSR do not exit (pks/hw_pkrs.c) */
	int view;			/* soft: view slot in use */
	u64 view_seq;			/* soft: its build_seq when chosen (0: slot 0) */
	/*
	 * soft, SMP: the last selection found no view it may run on (every
	 * slot parked behind a full retire list, review3 F4) and left the
	 * vCPU on slot 0 in VMX root only: it must not enter the guest on
	 * the base EPT.  pks_entry_check() re-selects while this is set, and
	 * the shootdown the selection owes loops until it is clear
	 * (views_slot_degraded()).
	 */
	bool view_wanted;
	/*
	 * soft: the slots whose users has this vCPU's bit (bit i: views[i]):
	 * the one it runs on and its hinted ones (view_hint[]).
	 */
	u8 user_slots;
	/*
	 * The global inputs the enforced PKRS (hw: VMCS guest PKRS; soft:
	 * the view) was last derived from.  Another vCPU changes them
	 * (RANGE_REGISTER, discovery, LOCK_KEY, SET_MODE): pks_entry_check()
	 * / pks_hw_exit_sync() compare and re-apply.
	 */
	u64 applied_generation;
	u32 applied_lock_bits;
	int applied_mode;
	/* soft: the view a hidden-page redirect was written into (pks_hidden_*) */
	u8 hidden_slot;
	u64 hidden_seq;
	bool cr3_exiting;		/* soft: "CR3-load exiting" as last written */
#define VIEW_HINTS	2
	u8 view_hint[VIEW_HINTS];	/* soft: slots last selected (views.c view_hint()) */
	u64 root;			/* soft discovery: root last scanned */
	struct pks_override {		/* pages opened for one stepped instruction */
		u64 gpa, perms;
		u8 slot;		/* view they were opened in */
		u64 build_seq;		/* that view's build: restore only into it */
		u8 split_level;		/* > 1: a large leaf of that level was split */
	} override[PKS_MAX_OVERRIDES];
	unsigned int nr_override;
	u32 allow_failed;		/* overrides that could not be made (logged) */
	u64 retry_rip, retry_gpa;	/* last access retried (walk mismatch) */
	/*
	 * stats.exits of the exit whose VMCS EPTP named no current view
	 * (pks_exit_follow(): a VMFUNC through an EPTP-list entry older than
	 * a view's drop or rebuild): that exit's EPT violation or
	 * misconfiguration happened in a tree pksvisor no longer uses, and
	 * is retried on the re-selected view instead of being decided.
	 */
	u64 followed_lost_view;
	u64 table_gpa;			/* tracked table being written (step) */
	u64 table_snap[512];		/* its content before the write */
	u8 rescan;			/* soft discovery: PKS_RESCAN_* */
	/*
	 * This vCPU's VMFUNC leaf 0 EPTP list (slot = index, VMCS field
	 * EPTP_LIST_ADDR, SDM 25.6.14) and the pks_global.list_generation
	 * it reflects: per vCPU so that one CPU's list can be rewritten
	 * while another runs on its own (views_list_refresh()).
	 */
	u64 eptp_list_pa;
	u64 list_generation;
	/*
	 * The PKRS of each pinned view when this vCPU's list was written: a
	 * VMFUNC through an entry a rebuild elsewhere has replaced since (a
	 * build into fresh pages has a new EPTP; the list catches up only at
	 * this vCPU's next entry) still names the PKRS the guest asked for.
	 */
	u32 list_pkrs[PKS_MAX_VIEWS];
};

#endif
