// SPDX-License-Identifier: MIT
/*
 * vmm/ and pks/ stubs for the views tests (see stub_vmm.h).  Pages come
 * from aligned_alloc; a freed page is poisoned and kept (never reused), so
 * a view still pointing at freed tables shows as garbage, and everything
 * is released at exit for LeakSanitizer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../pks/pks_internal.h"
#include "../../vmm/exit.h"
#include <pksvisor/page_pool.h>
#include "stub_vmm.h"

#define MAX_PAGES	65536

static void *pages[MAX_PAGES];
static unsigned int nr_pages;
static int fail_after = -1;
static unsigned int apply_calls, flush_calls, shootdown_calls;

static void free_all(void)
{
	for (unsigned int i = 0; i < nr_pages; i++)
		free(pages[i]);
	nr_pages = 0;
}

u64 stub_alloc_page(void)
{
	void *p;

	if (fail_after == 0)
		return 0;
	if (fail_after > 0)
		fail_after--;
	if (nr_pages == MAX_PAGES)
		return 0;
	if (!nr_pages)
		atexit(free_all);
	p = aligned_alloc(4096, 4096);
	if (!p)
		return 0;
	memset(p, 0, 4096);
	pages[nr_pages++] = p;
	return (u64)(uintptr_t)p;
}

void stub_reset(void)
{
	apply_calls = flush_calls = shootdown_calls = 0;
	fail_after = -1;
}

void stub_fail_allocs_after(int n)
{
	fail_after = n;
}

unsigned int stub_apply_calls(void)
{
	return apply_calls;
}

unsigned int stub_flush_calls(void)
{
	return flush_calls;
}

unsigned int stub_shootdown_calls(void)
{
	return shootdown_calls;
}

/* vmm/shootdown.c: a change the other vCPUs must re-sync to */
void vcpu_shootdown_owe(struct vcpu *vcpu)
{
	(void)vcpu;
	shootdown_calls++;
}

/*
 * vmm/memory.c.  STUB_REAL_POOL: the test links lib/page_pool.c instead
 * (its LIFO free-list reuse matters there).
 */
#ifndef STUB_REAL_POOL
u64 pool_alloc_page(struct page_pool *pool)
{
	(void)pool;
	return stub_alloc_page();
}

u64 pool_alloc_ept(void *pool)
{
	(void)pool;
	return stub_alloc_page();
}

u64 pool_alloc_ept_reserved(void *pool)
{
	(void)pool;
	return stub_alloc_page();
}

void pool_free_ept(void *pool, u64 pa)
{
	(void)pool;
	memset((void *)(uintptr_t)pa, 0x5a, 4096);	/* poison, keep */
}

/* vmm/memory.c: what the stub allocator will still hand out */
u64 pool_pages_left(struct page_pool *pool)
{
	(void)pool;
	if (fail_after >= 0)
		return (u64)fail_after;
	return MAX_PAGES - nr_pages;
}

bool pool_contains(const struct page_pool *pool, u64 pa)
{
	return pa >= pool->base && pa - pool->base < pool->size;
}
#endif

/*
 * vmm/ept_retire.c with one vCPU: nobody else can walk a tree, it is
 * freed at once.  STUB_REAL_RETIRE: the test links the real one.
 */
#ifndef STUB_REAL_RETIRE
bool ept_retire(struct hv *hv, struct ept *tree)
{
	ept_destroy(tree, pool_free_ept, &hv->pool);
	return true;
}

void ept_retire_page(void *hv, u64 pa)
{
	pool_free_ept(&((struct hv *)hv)->pool, pa);
}

unsigned int ept_retire_room(struct hv *hv)
{
	(void)hv;
	return EPT_RETIRE_MAX;
}
#endif

/* vmm/exit_ept.c, vmm/dump.c, lib/serial.c */
void ept_flush(struct hv *hv, u64 eptp)
{
	(void)hv;
	(void)eptp;
	flush_calls++;
}

/* vmm/exit_ept.c: every EPTP at once (counted like one flush per call) */
void ept_flush_all(struct hv *hv)
{
	(void)hv;
	flush_calls++;
}

/* vmm/flush.c: the flush each vCPU does before its next entry (counted too) */
void ept_flush_at_entry(struct hv *hv)
{
	(void)hv;
	flush_calls++;
}

#ifndef STUB_OWN_VMCS	/* test_smp_views.c keeps one fake VMCS per vCPU */
/* vmm/vmx.h under PKSV_HOST_TEST: a fake VMCS (views_select() writes the EPTP) */
static u64 fake_vmcs[0x8000];

u64 vmread_at(u64 field, const char *file, int line)
{
	(void)file;
	(void)line;
	return fake_vmcs[field & 0x7fff];
}

void vmwrite_at(u64 field, u64 value, const char *file, int line)
{
	(void)file;
	(void)line;
	fake_vmcs[field & 0x7fff] = value;
}
#endif

/* vmm/vmx_check.c: a failed VMX instruction is a pksvisor bug */
void vmx_insn_failed(enum vmx_insn insn, u64 operand, u64 value, bool fail_invalid,
		     const char *file, int line)
{
	fprintf(stderr, "vmx_insn_failed: insn %d operand %#llx value %#llx%s at %s:%d\n",
		(int)insn, (unsigned long long)operand, (unsigned long long)value,
		fail_invalid ? " (VMfailInvalid)" : "", file, line);
	abort();
}

void vcpu_fatal(struct vcpu *vcpu, const char *why)
{
	(void)vcpu;
	fprintf(stderr, "vcpu_fatal: %s\n", why);
	abort();
}

void pksv_log(const char *fmt, ...)
{
	(void)fmt;
}

/* pks/pks.c, pks/discover.c (pks_effective_pkrs() is inline: pks_internal.h) */
void pks_apply(struct vcpu *vcpu)
{
	(void)vcpu;
	apply_calls++;
}

bool pks_exposed(const struct hv *hv)
{
	return hv->pks.backend != PKS_BACKEND_NONE;
}

void discover_rescan(struct vcpu *vcpu)
{
	(void)vcpu;
}
