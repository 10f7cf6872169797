/* SPDX-License-Identifier: MIT */
/*
 * Stubs for the vmm/ and pks/ functions that the real pks/views.c,
 * pks/view_perms.c and pks/unprotect_vmm.c call (tests/unit/stub_vmm.c):
 * a page allocator with failure injection, call counters, no VMX.
 */
#ifndef PKSV_TEST_STUB_VMM_H
#define PKSV_TEST_STUB_VMM_H

#include <pksvisor/types.h>

u64 stub_alloc_page(void);
/* Zero the counters. */
void stub_reset(void);
/* Allocations fail after n more succeed; n < 0: never. */
void stub_fail_allocs_after(int n);
unsigned int stub_apply_calls(void);
unsigned int stub_flush_calls(void);
unsigned int stub_shootdown_calls(void);

#endif
