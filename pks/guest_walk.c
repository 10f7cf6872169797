// SPDX-License-Identifier: MIT
/*
 * Software walk of the guest's own page tables (4- and 5-level paging), as
 * the soft PKS backend needs it: to learn the key and the U/S verdict of
 * the linear address behind an EPT violation, and to enumerate every keyed
 * supervisor page of an address space when the guest loads CR3.
 *
 * The walk follows SDM Vol. 3A 4.5 "4-Level Paging and 5-Level Paging":
 * CR3 bits 51:12 locate the PML5 (CR4.LA57 = 1) or PML4 table; each level
 * takes 9 bits of the linear address as an index of 8-byte entries; bit 7
 * (PS) ends the walk at a PDPTE (1 GiB page) or PDE (2 MiB page); a PTE
 * always maps a 4 KiB page.  Reserved-bit checks are deliberately not
 * done: a guest with reserved bits set would take #PF(RSVD) itself before
 * any access we emulate, so we only need the same answer where the
 * translation is valid.  PS in a PML5E/PML4E is reserved and treated as 0.
 *
 * Access rights (SDM Vol. 3A 4.6): an address is a supervisor-mode address
 * if U/S = 0 at any level, writable only if R/W = 1 at every level, and
 * execute-disabled if XD = 1 at any level.  The protection key is bits
 * 62:59 of the leaf entry only (4.6.2).
 */
#include <pksvisor/pks.h>

#define PTE_P		BIT(0)
#define PTE_RW		BIT(1)
#define PTE_US		BIT(2)
#define PTE_PS		BIT(7)
#define PTE_XD		BIT(63)
/* Bits 51:12: the architectural maximum of MAXPHYADDR is 52. */
#define PTE_ADDR	0x000ffffffffff000ull

/* Level numbering: 1 = PT, 2 = PD, 3 = PDPT, 4 = PML4, 5 = PML5. */
static inline unsigned int level_shift(int level)
{
	return 12 + 9 * (level - 1);
}

static inline u64 level_index(u64 gla, int level)
{
	return (gla >> level_shift(level)) & 511;
}

/* PS only makes a leaf in a PDPTE or PDE; a PTE is always one. */
static inline bool is_leaf(u64 entry, int level)
{
	return level == 1 || ((level == 2 || level == 3) && (entry & PTE_PS));
}

/*
 * Base of the page mapped by a leaf: bits 51:12 of a PTE, 51:21 of a PDE,
 * 51:30 of a PDPTE (the low bits of a large-page entry hold PAT and
 * reserved bits, not address).
 */
static inline u64 leaf_base(u64 entry, int level)
{
	return entry & PTE_ADDR & ~((1ull << level_shift(level)) - 1);
}

int guest_walk(u64 cr3, bool la57, u64 gla, gpa_read_fn read, void *ctx,
	       struct guest_walk *out)
{
	/*
	 * CR3 bits 11:0 hold PCID or PWT/PCD, bits 63:52 (bit 63 "no flush"
	 * on MOV to CR3, LAM bits 62:61) are not address either.
	 */
	u64 table = cr3 & PTE_ADDR;
	bool supervisor = false, writable = true, nx = false;
	int level;

	for (level = la57 ? 5 : 4; level >= 1; level--) {
		u64 egpa = table + level_index(gla, level) * 8;
		u64 e;

		if (read(ctx, egpa, &e))
			return -1;
		if (!(e & PTE_P))
			return 1;
		if (!(e & PTE_US))
			supervisor = true;
		if (!(e & PTE_RW))
			writable = false;
		if (e & PTE_XD)
			nx = true;
		if (is_leaf(e, level)) {
			u64 size = 1ull << level_shift(level);

			out->page_gpa = leaf_base(e, level);
			out->page_size = size;
			out->gpa = out->page_gpa | (gla & (size - 1));
			out->leaf = e;
			out->leaf_gpa = egpa;
			out->supervisor = supervisor;
			out->writable = writable;
			out->nx = nx;
			out->key = PTE_KEY(e);
			return 0;
		}
		table = e & PTE_ADDR;
	}
	/* Not reached: level 1 entries are always leaves. */
	return 1;
}

/*
 * Whole-address-space scan.  The depth of the recursion is bounded by the
 * number of levels; what needs bounding is the breadth: a malicious or
 * merely odd guest can point many entries at the same tables (a PML4
 * entry pointing back at the PML4 is the classic "recursive mapping"
 * trick), so the number of table pages processed is capped by max_tables.
 *
 * A small open-addressing set remembers which (table, level, supervisor)
 * walks were done, so that aliases are not walked twice.  The level is
 * part of the key because a self-referencing table is legitimately seen
 * at several levels, with different meanings; "supervisor" is part of it
 * because a table reached through a path with U/S = 0 makes all its
 * leaves supervisor, which a walk through a user path did not report.  A
 * walk below a supervisor path reports a superset of one below a user
 * path, so the former makes the latter redundant.  The same set also
 * remembers which pages were already passed to ops->table.  When the set
 * is full we simply stop deduplicating: the result stays correct, only
 * repeated, and max_tables still bounds the work.
 */
#define SCAN_SET_SIZE	256	/* power of two; 2 KiB of stack */
#define SCAN_TAG_TABLE	0	/* "already passed to ops->table" */

struct scan {
	gpa_read_fn read;
	void *rctx;
	const struct guest_scan_ops *ops;
	void *ctx;
	unsigned int max_tables;
	unsigned int tables;
	bool over;
	u64 set[SCAN_SET_SIZE];
};

/* Key: page address | tag << 1 | 1 (so that 0 marks an empty slot). */
static u64 set_key(u64 gpa, unsigned int tag)
{
	return gpa | (u64)tag << 1 | 1;
}

static unsigned int set_hash(u64 key)
{
	/* Fibonacci hashing: table pages are 4 KiB apart, mix the bits. */
	return (unsigned int)((key * 0x9e3779b97f4a7c15ull) >> 56) &
	       (SCAN_SET_SIZE - 1);
}

static bool set_has(const struct scan *s, u64 key)
{
	unsigned int i, h = set_hash(key);

	for (i = 0; i < SCAN_SET_SIZE; i++) {
		u64 v = s->set[(h + i) & (SCAN_SET_SIZE - 1)];

		if (v == key)
			return true;
		if (!v)
			return false;
	}
	return false;
}

static void set_add(struct scan *s, u64 key)
{
	unsigned int i, h = set_hash(key);

	for (i = 0; i < SCAN_SET_SIZE; i++) {
		u64 *v = &s->set[(h + i) & (SCAN_SET_SIZE - 1)];

		if (*v == key)
			return;
		if (!*v) {
			*v = key;
			return;
		}
	}
	/* Full: forget it; see above. */
}

/* Tags 2..11: level (1..5) * 2 + supervisor. */
static unsigned int walk_tag(int level, bool supervisor)
{
	return (unsigned int)level * 2 + supervisor;
}

static void scan_table(struct scan *s, u64 table, int level, bool supervisor)
{
	unsigned int i;

	if (s->over)
		return;
	if (set_has(s, set_key(table, walk_tag(level, true))) ||
	    set_has(s, set_key(table, walk_tag(level, supervisor))))
		return;
	if (s->tables >= s->max_tables) {
		s->over = true;
		return;
	}
	s->tables++;
	set_add(s, set_key(table, walk_tag(level, supervisor)));
	if (!set_has(s, set_key(table, SCAN_TAG_TABLE))) {
		set_add(s, set_key(table, SCAN_TAG_TABLE));
		if (s->ops && s->ops->table)
			s->ops->table(s->ctx, table);
	}
	if (s->ops && s->ops->table_level)
		s->ops->table_level(s->ctx, table, level);

	for (i = 0; i < 512 && !s->over; i++) {
		bool sup;
		u64 e;

		/*
		 * A table page the guest cannot read back either (not RAM,
		 * or pksvisor's own memory) maps nothing we could protect:
		 * skip it rather than give up on the rest of the scan.
		 */
		if (s->read(s->rctx, table + i * 8, &e))
			return;
		if (!(e & PTE_P))
			continue;
		sup = supervisor || !(e & PTE_US);
		if (is_leaf(e, level)) {
			if (sup && PTE_KEY(e) && s->ops && s->ops->keyed)
				s->ops->keyed(s->ctx, leaf_base(e, level),
					      1ull << level_shift(level),
					      PTE_KEY(e));
			continue;
		}
		scan_table(s, e & PTE_ADDR, level - 1, sup);
	}
}

int guest_scan_keys(u64 cr3, bool la57, gpa_read_fn read, void *rctx,
		    const struct guest_scan_ops *ops, void *ctx,
		    unsigned int max_tables)
{
	struct scan s;
	unsigned int i;

	s.read = read;
	s.rctx = rctx;
	s.ops = ops;
	s.ctx = ctx;
	s.max_tables = max_tables;
	s.tables = 0;
	s.over = false;
	for (i = 0; i < SCAN_SET_SIZE; i++)
		s.set[i] = 0;

	scan_table(&s, cr3 & PTE_ADDR, la57 ? 5 : 4, false);
	return s.over ? -1 : 0;
}
