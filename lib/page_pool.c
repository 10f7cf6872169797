// SPDX-License-Identifier: MIT
/* The page pool of include/pksvisor/page_pool.h. */
#include <pksvisor/format.h>
#include <pksvisor/page_pool.h>

void pool_init(struct page_pool *pool, u64 base, u64 size)
{
	pool->base = base;
	pool->size = size;
	pool->next = base;
	pool->free_list = 0;
	pool->free_pages = 0;
	pool->lock.locked = 0;
}

u64 pool_alloc_pages(struct page_pool *pool, u64 count)
{
	u64 pa = 0;

	spin_lock(&pool->lock);
	/* Single pages come back from the free list first (EPT views). */
	if (count == 1 && pool->free_list) {
		pa = pool->free_list;
		pool->free_list = *(u64 *)(uintptr_t)pa;
		pool->free_pages--;
	} else if (count && pool->next + count * PAGE_SIZE <= pool->base + pool->size) {
		pa = pool->next;
		pool->next += count * PAGE_SIZE;
	}
	spin_unlock(&pool->lock);
	if (pa)
		pksv_memset((void *)(uintptr_t)pa, 0, count * PAGE_SIZE);
	return pa;
}

u64 pool_alloc_page(struct page_pool *pool)
{
	return pool_alloc_pages(pool, 1);
}

u64 pool_alloc_ept(void *pool)
{
	return pool_alloc_page(pool);
}

void pool_free_page(struct page_pool *pool, u64 pa)
{
	spin_lock(&pool->lock);
	*(u64 *)(uintptr_t)pa = pool->free_list;
	pool->free_list = pa;
	pool->free_pages++;
	spin_unlock(&pool->lock);
}

void pool_free_ept(void *pool, u64 pa)
{
	pool_free_page(pool, pa);
}

bool pool_contains(const struct page_pool *pool, u64 pa)
{
	return pa >= pool->base && pa < pool->base + pool->size;
}

u64 pool_pages_left(struct page_pool *pool)
{
	u64 n;

	spin_lock(&pool->lock);
	n = pool->free_pages + (pool->base + pool->size - pool->next) / PAGE_SIZE;
	spin_unlock(&pool->lock);
	return n;
}
