/* SPDX-License-Identifier: MIT */
/*
 * pksvisor's page pool (lib/page_pool.c): one EfiReservedMemoryType
 * reservation made at boot (boot/efi_main.c), handed out page by page.
 * Only EPT view pages are ever freed (to a free list); everything else
 * lives as long as the machine.
 */
#ifndef PKSVISOR_PAGE_POOL_H
#define PKSVISOR_PAGE_POOL_H

#include <pksvisor/types.h>
#include <pksvisor/spinlock.h>

/* Shared by every CPU. */
struct page_pool {
	struct spinlock lock;	/* guards next, free_list, free_pages */
	u64 base, size;		/* the whole reservation: hidden from the guest; set once at boot */
	u64 next;		/* bump pointer */
	u64 free_list;		/* freed single pages, linked through their first word */
	u64 free_pages;
};

void pool_init(struct page_pool *pool, u64 base, u64 size);
/* Zeroed, 4 KiB aligned pages; 0 when the pool is exhausted. */
u64 pool_alloc_pages(struct page_pool *pool, u64 count);
u64 pool_alloc_page(struct page_pool *pool);
/* Adapter for struct ept's allocator. */
u64 pool_alloc_ept(void *pool);
/* Give one page back (EPT views that are rebuilt or evicted). */
void pool_free_page(struct page_pool *pool, u64 pa);
void pool_free_ept(void *pool, u64 pa);
bool pool_contains(const struct page_pool *pool, u64 pa);
/* Single pages still available (free list plus never handed out). */
u64 pool_pages_left(struct page_pool *pool);

#endif
