/* SPDX-License-Identifier: MIT */
/*
 * EPT paging structures (SDM Vol. 3C 29.3 "The Extended Page Table
 * Mechanism").  Pages are addressed by their physical address; pksvisor
 * runs identity mapped, and host unit tests use pointers as addresses, so
 * the same code serves both.
 */
#ifndef PKSVISOR_EPT_H
#define PKSVISOR_EPT_H

#include <pksvisor/types.h>
#include <pksvisor/mtrr.h>

#define EPT_READ	BIT(0)
#define EPT_WRITE	BIT(1)
#define EPT_EXEC	BIT(2)
#define EPT_RWX		(EPT_READ | EPT_WRITE | EPT_EXEC)
#define EPT_MT_SHIFT	3		/* bits 5:3 memory type (leaf) */
#define EPT_IGNORE_PAT	BIT(6)
#define EPT_LARGE	BIT(7)		/* 2M / 1G leaf */
#define EPT_ACCESSED	BIT(8)
#define EPT_DIRTY	BIT(9)
#define EPT_SUPPRESS_VE	BIT(63)
#define EPT_ADDR_MASK	0x000ffffffffff000ull

/* Page allocator: returns a zeroed, 4 KiB aligned page, or 0. */
typedef u64 (*ept_alloc_fn)(void *ctx);

/*
 * No lock of its own: the owner guards it.  hv->ept changes after launch
 * only under hv->ept_lock; the soft backend's views (pks_global.views)
 * under pks_global.lock.
 */
struct ept {
	u64 pml4;		/* physical address of the PML4 */
	ept_alloc_fn alloc;
	void *alloc_ctx;
	bool allow_1g;		/* IA32_VMX_EPT_VPID_CAP bit 17 */
	u64 pages_used;		/* paging-structure pages allocated */
};

/* 0 or -1 (no memory). */
int ept_init(struct ept *ept, ept_alloc_fn alloc, void *ctx, bool allow_1g);

/*
 * Identity map [start, end) (4 KiB aligned) read/write/execute, using the
 * largest pages whose MTRR type is uniform; memory types from mtrr.
 */
int ept_map_identity(struct ept *ept, u64 start, u64 end,
		     const struct mtrr_state *mtrr);

/*
 * Identity map the naturally aligned 1 GiB region (2 MiB without 1 GiB
 * pages) holding gpa, uncacheable: MMIO above the boot-time map, mapped on
 * first access.  [*start, *end) is the region; -1 beyond 48 bits or when
 * out of memory.
 */
int ept_map_mmio_region(struct ept *ept, u64 gpa, u64 *start, u64 *end);

/*
 * Set the 4 KiB mapping of gpa to hpa with perms (EPT_READ/WRITE/EXEC),
 * splitting any large page on the way (the split pages keep the large
 * page's attributes).  memtype is the leaf memory type.
 */
int ept_set_4k(struct ept *ept, u64 gpa, u64 hpa, u64 perms, u8 memtype);

/* Change only the permission bits of the 4 KiB page gpa (splits if needed). */
int ept_protect_4k(struct ept *ept, u64 gpa, u64 perms);

/*
 * Leaf entry mapping gpa, and its level (1 = 4K, 2 = 2M, 3 = 1G) in *level;
 * NULL if not mapped.
 */
u64 *ept_lookup(const struct ept *ept, u64 gpa, int *level);

/*
 * Deep copy of src into dst (dst->alloc/alloc_ctx must be set); -1 when
 * out of memory (dst then holds a partial copy: ept_destroy it).
 */
int ept_clone(struct ept *dst, const struct ept *src);
/* Free every paging-structure page of ept. */
void ept_destroy(struct ept *ept, void (*free_page)(void *ctx, u64 pa), void *ctx);

/* Upper bound of table pages splitting [start, end) to 4 KiB may allocate. */
u64 ept_split_cost(u64 start, u64 end);

/* EPTP for this structure: WB, 4-level walk, A/D flags when ad is set. */
u64 ept_eptp(const struct ept *ept, bool ad);

#endif
