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

/* Class of an interruption-information value (SDM 25.8.3 format). */
enum event_class event_class_of(u32 info);

/* The merge decision; both arguments are valid interruption-info values. */
enum inject_merge inject_merge_decide(u32 queued_info, u32 new_info);

#endif
