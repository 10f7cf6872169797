/* SPDX-License-Identifier: MIT */
/*
 * Event injection: the one queue of what the next VM entry delivers to the
 * guest (vmm/inject.c) and the pure rule that merges two events
 * (vmm/inject_merge.c, unit tested in tests/unit/test_inject.c).
 * docs/vm-exits.md "Event injection" and "The life of an NMI".
 */
#ifndef PKSVISOR_INJECT_H
#define PKSVISOR_INJECT_H

#include <pksvisor/types.h>

/* Exception classes of SDM Vol. 3A 6.15, Table 6-4. */
enum event_class {
	EVENT_BENIGN,
	EVENT_CONTRIBUTORY,
	EVENT_PAGE_FAULT,	/* #PF and #VE */
	EVENT_DOUBLE_FAULT,
};

/*
 * What to deliver when an event is already queued for the next entry
 * (typically re-queued from the IDT-vectoring field: its delivery caused
 * the exit) and a handler asks for a new exception (SDM Vol. 3A 6.15,
 * Table 6-5 "Conditions for Generating a Double Fault").
 */
enum inject_merge {
	/* Serial: the new exception now; the queued one is dropped because
	 * re-executing the instruction regenerates it (a fault, a software
	 * interrupt or exception: RIP still points at the instruction). */
	MERGE_NEW,
	/* Serial: the new exception now, the queued NMI or external
	 * interrupt (already taken from the APIC) after it. */
	MERGE_NEW_THEN_QUEUED,
	/* #DF with error code 0 replaces both. */
	MERGE_DOUBLE_FAULT,
	/* A fault while delivering #DF: shutdown (triple fault). */
	MERGE_TRIPLE_FAULT,
};

/* What to do with pending NMIs at the end of an exit. */
enum nmi_action {
	NMI_NOTHING,		/* none pending */
	NMI_INJECT,		/* inject one at this entry */
	NMI_NMI_WINDOW,		/* blocked: ask for the NMI-window exit */
	NMI_INTR_WINDOW,	/* fallback without virtual NMIs: interrupt window */
	NMI_NEXT_EXIT,		/* wait for a later exit (single step, fallback) */
};

/* The guest state the NMI decision depends on. */
struct nmi_state {
	u32 pending;		/* vcpu->nmi_pending */
	bool event_queued;	/* another event goes in at this entry */
	bool stepping;		/* pksvisor single-steps an instruction */
	u32 interruptibility;	/* guest interruptibility state (SDM 25.4.2) */
	u32 activity;		/* guest activity state */
	bool virtual_nmis;	/* NMI exiting + virtual NMIs + NMI window */
	bool intr_window;	/* interrupt-window exiting available */
};

/*
 * Pure NMI decision (SDM 26.3.1.5 entry checks, 26.7.6 NMI window):
 * inject only with no other event, no blocking by NMI, MOV SS or STI,
 * in the active or HLT state and not in the middle of a single step.
 */
enum nmi_action inject_nmi_decide(const struct nmi_state *st);

/* Class of an interruption-information value (SDM 25.8.3 format). */
enum event_class event_class_of(u32 info);

/* The merge decision; both arguments are valid interruption-info values. */
enum inject_merge inject_merge_decide(u32 queued_info, u32 new_info);

#endif
