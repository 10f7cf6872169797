/* SPDX-License-Identifier: MIT */
/*
 * PKS (protection keys for supervisor pages) semantics, in pure code that
 * the hypervisor (pks/) and the host unit tests share.  Architectural
 * facts: CPUID.(7,0):ECX[31]; CR4.PKS is bit 24; IA32_PKRS is MSR 0x6e1
 * with, for key k, AD = bit 2k and WD = bit 2k+1, bits 63:32 reserved
 * (#GP); the key of a translation is bits 62:59 of its leaf entry; PKS
 * applies to supervisor-mode data accesses to supervisor-mode linear
 * addresses (some paging level has U/S = 0) with 4- or 5-level paging.
 * AD denies reads and writes, WD denies writes only when CR0.WP = 1;
 * instruction fetches are never checked.  A denied access is a #PF with
 * error code P | (W/R) | PK (bit 5) and CR2 = the linear address.
 */
#ifndef PKSVISOR_PKS_H
#define PKSVISOR_PKS_H

#include <pksvisor/types.h>
#include <pksvisor/config.h>

#define PKS_NR_KEYS		16
#define PKRS_AD(k)		(1u << (2 * (k)))
#define PKRS_WD(k)		(1u << (2 * (k) + 1))
#define PKRS_KEY_MASK(k)	(3u << (2 * (k)))
#define PKRS_RESERVED		0xffffffff00000000ull
#define PTE_KEY_SHIFT		59
#define PTE_KEY(pte)		((unsigned int)(((pte) >> PTE_KEY_SHIFT) & 0xf))

#define PFEC_P			BIT(0)
#define PFEC_W			BIT(1)
#define PFEC_U			BIT(2)
#define PFEC_RSVD		BIT(3)
#define PFEC_I			BIT(4)
#define PFEC_PK			BIT(5)

/* One access, as the soft backend sees it at an EPT violation. */
struct pks_access {
	bool write;		/* data write (else data read, unless fetch) */
	bool fetch;		/* instruction fetch: never PKS-checked */
	bool user_mode;		/* CPL 3 explicit access */
	bool supervisor_page;	/* some paging level has U/S = 0 */
	unsigned int key;	/* leaf PTE bits 62:59 */
	bool cr4_pks;		/* the guest's CR4.PKS */
	bool cr0_wp;		/* the guest's CR0.WP */
	bool long_paging;	/* 4- or 5-level paging active (CR0.PG, CR4.PAE, EFER.LMA) */
	u32 pkrs;		/* the guest's IA32_PKRS (low 32 bits) */
};

/* true when PKS denies the access (what hardware PKS would do). */
bool pks_denies(const struct pks_access *a);

/* #PF error code hardware delivers for a PKS-denied access. */
u32 pks_pf_error_code(const struct pks_access *a);

/*
 * hw backend: a #PF with error code pfec exited to pksvisor (the PFEC
 * filter lets every PK fault through).  true only for a PKS fault, the one
 * kind pksvisor may act on (modes, unprotect table): PK set, a
 * supervisor-mode access (U = 0) to a supervisor-mode address (walk_ok and
 * supervisor_page).  Any other PK fault -- PKRU on a user-mode address, or
 * one the walk cannot explain -- belongs to the guest unchanged.
 */
bool pks_hw_fault_is_pkrs(u32 pfec, bool walk_ok, bool supervisor_page);

/*
 * EPT permissions (EPT_READ/WRITE/EXEC) for a guest-physical page whose
 * supervisor mappings carry key, in the view for (pkrs, cr0_wp): AD -> X
 * only, WD with WP -> R+X, otherwise RWX.  Key 0 is always RWX.
 */
u64 pks_view_perms(u32 pkrs, bool cr0_wp, unsigned int key);

/* WRMSR IA32_PKRS: false if value sets reserved bits (#GP). */
static inline bool pks_pkrs_valid(u64 value)
{
	return !(value & PKRS_RESERVED);
}

/* Backend choice (issue: pks=auto|hw|soft|off). */
enum pks_backend_kind {
	PKS_BACKEND_NONE = 0,	/* PKS hidden from the guest */
	PKS_BACKEND_HW = 1,	/* VMCS load/save IA32_PKRS */
	PKS_BACKEND_SOFT = 2,	/* EPT views */
};

/*
 * Pick the backend for request on a CPU with (cpu_pks, vmx_pks_controls,
 * ept).  Returns the backend, or -1 with a one-line reason in err when the
 * forced choice is impossible (pks=hw without hardware PKS, pks=soft
 * without EPT).
 */
int pks_select_backend(enum pks_request request, bool cpu_pks,
		       bool vmx_pks_controls, bool ept, char *err, size_t errlen);
const char *pks_backend_name(int backend);

/*
 * Guest page walk for 4/5-level paging.  read(ctx, gpa, &val) returns 0 or
 * -1 (gpa not readable).  Fills the leaf's attributes; returns 0, 1 when the
 * translation is not present, -1 when a read failed.
 */
typedef int (*gpa_read_fn)(void *ctx, u64 gpa, u64 *val);

struct guest_walk {
	u64 gpa;		/* translated guest-physical address */
	u64 page_gpa;		/* base of the leaf page (4K, 2M or 1G) */
	u64 page_size;
	u64 leaf;		/* leaf entry value */
	u64 leaf_gpa;		/* where the leaf entry lives */
	bool supervisor;	/* some level has U/S = 0 */
	bool writable;		/* all levels R/W = 1 */
	bool nx;		/* some level XD = 1 */
	unsigned int key;	/* PTE_KEY(leaf) */
};

int guest_walk(u64 cr3, bool la57, u64 gla, gpa_read_fn read, void *ctx,
	       struct guest_walk *out);

/*
 * Enumerate the supervisor leaf mappings of a whole address space that
 * carry a non-zero key, and every paging-structure page visited (so the
 * caller can write-protect them to see later changes).  Callbacks may be
 * NULL.  Bounded: stops with -1 after max_tables table pages.
 */
struct guest_scan_ops {
	void (*keyed)(void *ctx, u64 page_gpa, u64 size, unsigned int key);
	void (*table)(void *ctx, u64 table_gpa);
	/* Optional: every (table, level) walked, 1 = PT ... 5 = PML5. */
	void (*table_level)(void *ctx, u64 table_gpa, int level);
};

int guest_scan_keys(u64 cr3, bool la57, gpa_read_fn read, void *rctx,
		    const struct guest_scan_ops *ops, void *ctx,
		    unsigned int max_tables);

/*
 * Keyed guest-physical ranges: which pages are protected by which key.
 * Bounded array of disjoint page-aligned ranges; adding a range that
 * overlaps an existing one with another key is an error.
 */
#define KEYMAP_MAX	256

struct keymap_range {
	u64 start, end;		/* [start, end), page aligned */
	u8 key;			/* 1..15 */
	u8 source;		/* KEYMAP_PV or KEYMAP_DISCOVERED */
};

#define KEYMAP_PV		1
#define KEYMAP_DISCOVERED	2

/* No lock of its own: hv->pks.keymap is guarded by pks_global.lock. */
struct keymap {
	struct keymap_range r[KEYMAP_MAX];
	unsigned int n;
	u64 generation;		/* bumped on every change */
};

void keymap_init(struct keymap *km);
/* 0, or -PKSV_EINVAL / -PKSV_EALIGN / -PKSV_EKEY / -PKSV_ENOSPC (hypercall.h). */
int keymap_add(struct keymap *km, u64 start, u64 len, unsigned int key, u8 source);
/* Remove [start, start+len) (may split ranges); -PKSV_ENOENT if nothing there. */
int keymap_remove(struct keymap *km, u64 start, u64 len, u8 source);
/* Drop every range of one source (rescans replace discovered ranges). */
void keymap_clear_source(struct keymap *km, u8 source);
/* Key of the page holding gpa, 0 if none. */
unsigned int keymap_lookup(const struct keymap *km, u64 gpa);

/*
 * Global-unprotect table: guest pages (by gfn) that every context may
 * access despite their key, refcounted (kmap() of a protected page).
 * Open addressing with linear probing and backward-shift deletion: O(1)
 * expected lookup, no tombstones, bounded at UNPROTECT_MAX live pages.
 * Not locked itself: pksvisor holds the PKS lock around every call.
 */
#define UNPROTECT_SLOTS		4096	/* power of two */
#define UNPROTECT_MAX		3072	/* live entries (load factor 3/4) */

struct unprotect_entry {
	u64 gfn;		/* valid when refs != 0 */
	/*
	 * The page's view-independent facts, cached by the owner (pksvisor:
	 * pks/unprotect_vmm.c) so that PROTECT reuses what UNPROTECT
	 * gathered: valid while facts_gen equals the owner's generation;
	 * 0 (set at insertion) never does.
	 */
	u64 facts_gen;
	u32 refs;		/* every reference, READ and READ|WRITE */
	u32 refs_write;		/* those of them taken with READ|WRITE */
	u8 access;		/* READ|WRITE while refs_write, else READ */
	u8 facts_rights;	/* owner's encoding (base rights, table bit) */
	u16 facts_keys;		/* keys 1-15 of the page */
	/*
	 * The owner's plan for the page (pksvisor: the rights each view
	 * gives it open and closed, pks/unprotect_vmm.c), valid while
	 * plan_epoch equals the owner's epoch; 0 (set at insertion) never
	 * does.
	 */
	u64 plan_epoch;
	u64 plan;
	u64 plan_leaf;
};

/* No lock of its own: hv->pks.unprotect is guarded by pks_global.lock. */
struct unprotect_table {
	struct unprotect_entry e[UNPROTECT_SLOTS];
	unsigned int count;	/* live entries */
	u64 generation;
};

void unprotect_init(struct unprotect_table *t);
/*
 * Take a reference: 0, -PKSV_EINVAL (access not READ or READ|WRITE),
 * -PKSV_ENOSPC (full), -PKSV_ERANGE (refcount would overflow).  *changed is
 * set when the page was not unprotected before or its access grew (the
 * views must open it).
 */
int unprotect_get(struct unprotect_table *t, u64 gfn, unsigned int access, bool *changed);
/* The same, and *entry = the page's entry on success (valid until the next change). */
int unprotect_get_entry(struct unprotect_table *t, u64 gfn, unsigned int access,
			bool *changed, struct unprotect_entry **entry);
/*
 * Drop a reference: 0, -PKSV_ENOENT (page not unprotected).  *gone is set
 * when that was the last one (the page is protected again).  PROTECT_PAGE
 * does not name the access of the reference it drops, so the widest one
 * goes first: a READ|WRITE reference while any is left.  The page is
 * never wider than its outstanding references (a READ holder cannot keep
 * it writable after the writers are done); a guest that mixes accesses on
 * one page and protects the READ first narrows it early (docs/hypercalls.md).
 */
int unprotect_put(struct unprotect_table *t, u64 gfn, bool *gone);

/* What unprotect_put_entry() did to the page. */
enum unprotect_drop {
	UNPROTECT_KEPT,		/* references left, access unchanged */
	UNPROTECT_NARROWED,	/* the last READ|WRITE reference went: READ now */
	UNPROTECT_GONE,		/* the last reference went */
};
/* The same, and, when it is GONE or NARROWED, *last = the entry with the access it had. */
int unprotect_put_entry(struct unprotect_table *t, u64 gfn, enum unprotect_drop *drop,
			struct unprotect_entry *last);
/* Access bits of gfn, 0 if not unprotected. */
unsigned int unprotect_lookup(const struct unprotect_table *t, u64 gfn);

#endif
