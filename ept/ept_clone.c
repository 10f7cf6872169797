// SPDX-License-Identifier: MIT
/*
 * Whole-structure operations used by PKS views: a view starts as a deep
 * copy of the guest's base EPT and is freed page by page when it is
 * rebuilt or evicted.
 */
#include <pksvisor/ept.h>
#include <pksvisor/format.h>

static bool entry_is_table(u64 e, int level)
{
	/*
	 * Non-zero entries are in use (ept.c); level 4 entries are always
	 * tables, levels 3 and 2 unless bit 7 (SDM 29.3.2).
	 */
	return e && level > 1 && (level == 4 || !(e & EPT_LARGE));
}

/*
 * Copy the table at src_pa (level) into a new page, which is linked into
 * the tree (*out_pa) before its children are cloned: if an allocation
 * fails half-way, everything allocated so far is reachable from
 * dst->pml4 and the caller's ept_destroy() frees it all.  Entries not
 * copied yet are zero (pool pages come zeroed; the failing entry is
 * cleared), so the partial tree holds no pointer into the source.
 */
static int clone_table(struct ept *dst, u64 src_pa, int level, u64 *out_pa)
{
	u64 pa = dst->alloc(dst->alloc_ctx);
	u64 *d, *s = (u64 *)(uintptr_t)src_pa;

	if (!pa)
		return -1;
	dst->pages_used++;
	*out_pa = pa;
	d = (u64 *)(uintptr_t)pa;
	for (unsigned int i = 0; i < 512; i++) {
		if (entry_is_table(s[i], level)) {
			u64 child = 0;

			if (clone_table(dst, s[i] & EPT_ADDR_MASK, level - 1, &child)) {
				/* The child, if allocated, is linked for ept_destroy(). */
				d[i] = child ? (s[i] & ~EPT_ADDR_MASK) | child : 0;
				return -1;
			}
			d[i] = (s[i] & ~EPT_ADDR_MASK) | child;
		} else {
			d[i] = s[i];
		}
	}
	return 0;
}

/* 0, or -1 out of memory: then dst holds a partial tree for ept_destroy(). */
int ept_clone(struct ept *dst, const struct ept *src)
{
	dst->pages_used = 0;
	dst->allow_1g = src->allow_1g;
	dst->pml4 = 0;
	return clone_table(dst, src->pml4, 4, &dst->pml4);
}

static void free_table(u64 pa, int level, void (*free_page)(void *, u64), void *ctx)
{
	u64 *t = (u64 *)(uintptr_t)pa;

	for (unsigned int i = 0; i < 512; i++)
		if (entry_is_table(t[i], level))
			free_table(t[i] & EPT_ADDR_MASK, level - 1, free_page, ctx);
	free_page(ctx, pa);
}

void ept_destroy(struct ept *ept, void (*free_page)(void *ctx, u64 pa), void *ctx)
{
	if (ept->pml4)
		free_table(ept->pml4, 4, free_page, ctx);
	ept->pml4 = 0;
	ept->pages_used = 0;
}
