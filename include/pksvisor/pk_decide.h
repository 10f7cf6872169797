/* SPDX-License-Identifier: MIT */
/*
 * The decisions pksvisor takes on a protection-key exit, as pure functions
 * of what the exit and the guest's page tables say (pks/pk_decide.c), so
 * that host unit tests cover them without an emulator:
 *  - soft backend: an EPT violation in a PKS view (pks/soft_fault.c);
 *  - hw backend: a #PF with PFEC.PK that the PFEC filter let exit
 *    (pks/pks.c), which may be a PKS or a PKU fault;
 *  - the fault modes: does a mode open the key or deliver the #PF.
 */
#ifndef PKSVISOR_PK_DECIDE_H
#define PKSVISOR_PK_DECIDE_H

#include <pksvisor/pks.h>

/* What an EPT violation in a soft-backend view reports (SDM 28.2.1). */
struct soft_fault_input {
	bool write, fetch;	/* qualification bits 1, 2 */
	bool linear_valid;	/* bit 7: a guest-linear address is reported */
	bool translated;	/* bit 8: access to the translation, not to a
				 * paging structure during the walk */
	u64 fault_gpa;		/* VMCS guest-physical address (0x2400) */
	bool table_write;	/* write to a tracked guest table (discovery) */
	bool long_paging;	/* guest EFER.LMA: PKS applies at all */
	int walk;		/* guest_walk() result: 0, 1 not present, -1 unreadable */
	const struct guest_walk *w;	/* the walk of the reported linear address */
	bool user_mode, cr4_pks, cr0_wp;
	u32 pkrs;		/* effective PKRS */
};

enum soft_verdict {
	SOFT_ALLOW,		/* PKS allows: this page for one instruction */
	SOFT_TABLE,		/* a tracked table is written: allow, then re-learn */
	SOFT_DENY,		/* PKS denies: fault mode, then #PF */
	SOFT_RETRY,		/* the walk does not describe this access */
};

/* The verdict; *a gets the access as PKS sees it (for the #PF error code). */
enum soft_verdict soft_ept_decide(const struct soft_fault_input *in,
				  struct pks_access *a);

/* hw backend: a #PF with PFEC.PK exited. */
enum hw_pf_action {
	HW_PF_REINJECT,		/* deliver the #PF unchanged */
	HW_PF_UNPROTECTED,	/* globally unprotected page: step with the key open */
	HW_PF_OPEN_KEY,		/* the fault mode opens the key: retry */
	HW_PF_INJECT,		/* the fault mode delivers the #PF (counted) */
};

/*
 * walk/w: the guest walk of the faulting address; unprotected: the page is
 * in the global unprotect table for this access; mode: PKSV_MODE_*;
 * locked: the key is locked (LOCK_KEY).
 */
enum hw_pf_action hw_pf_decide(int walk, const struct guest_walk *w,
			       bool unprotected, int mode, bool locked);

/*
 * HW_PF_UNPROTECTED: the PKRS for the one stepped instruction.  Hardware
 * PKS has no per-page exception, so the key opens for every page that
 * carries it during that instruction; open only what the unprotected
 * access needs: a read clears AD (WD stays: no write through the key), a
 * write clears AD and WD.
 */
u32 hw_pf_step_pkrs(u32 pkrs, unsigned int key, bool write);

/*
 * Soft backend out of view memory: may a view built for (view_pkrs,
 * view_wp) stand in for (pkrs, wp)?  Only if it restricts at least as
 * much (every AD/WD bit wanted, and WD enforced if wanted), so that every
 * access it should deny exits and is decided by walking.
 */
bool pk_view_covers(u32 view_pkrs, bool view_wp, u32 pkrs, bool wp);

/* Does fault mode open a key on a PK fault (never a locked key)? */
bool pk_mode_opens(int mode, bool locked);

/*
 * hw backend: must RDMSR/WRMSR IA32_PKRS exit (both halves of the MSR
 * bitmap, SDM Vol. 3C 25.6.9)?  Only while what the CPU enforces differs
 * from what the guest wrote or a write must end something: mode OFF
 * (only locked keys enforced), a locked key (a write must not clear it),
 * a GRANT, a RELAXED/SILENT opening (both end at the next write).  mode:
 * PKSV_MODE_*; lock_bits, grants, openings: AD/WD masks.  Otherwise the
 * guest owns PKRS and the VMCS guest-PKRS field holds its value.
 */
bool pks_hw_pkrs_intercept(int mode, u32 lock_bits, u32 grants, u32 openings);

#endif
