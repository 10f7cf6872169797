// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the pure code behind the PKS hypercalls.
 *
 * The input is a sequence of operations, each one opcode byte followed by
 * its arguments (missing bytes read as 0).  The operations drive
 * hypercall_decode() (vmm/hypercall_abi.c), keymap_add / remove / lookup /
 * clear_source (pks/keymap.c) and unprotect_get / put / lookup
 * (pks/unprotect.c), either directly or through a VMCALL-like dispatch
 * that mirrors the argument checks of pks/discover.c and
 * pks/unprotect_vmm.c.  After every operation the result and the state are
 * compared with simple shadow models:
 *
 *   keymap:    a sorted array of maximal runs, rebuilt naively (collect,
 *              sort, merge touching ranges of one owner); the map must
 *              equal it range for range, with the structural invariants
 *              (sorted, disjoint, page aligned, keys 1..15, n <= KEYMAP_MAX)
 *              checked on their own as well, and the generation must move
 *              exactly when the content does.
 *   unprotect: a sorted array of (gfn, refs, access); count, generation,
 *              return values, changed / gone and lookups must agree, every
 *              live slot must be in the shadow with the same refs (no
 *              underflow, no wrap) and reachable from its home slot.
 *   GET_STATS: pks_guest_buffer_write() (pks/guest_buffer.c) on a fake
 *              machine (RAM pages 0..95, pksvisor's pool 96..111, EPT
 *              limit 128 pages) holding the current keymap and unprotect
 *              table: its verdict must be the documented one (EINVAL,
 *              EALIGN, EFAULT, EPERM for a keyed or unprotected page,
 *              ENOSPC), and the buffer is written exactly when it is 0.
 *
 * Argument bytes are biased towards small values (a few pages, gfns that
 * collide in the unprotect hash) with an escape to raw 64-bit values.
 * A mismatch prints what differed and abort()s, which libFuzzer reports as
 * a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pksvisor/pks.h>
#include <pksvisor/hypercall.h>
#include "../../vmm/hypercall.h"
#include "../../pks/pks_vmm.h"

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_hypercall: %s:%d: %s: ",	\
				__FILE__, __LINE__, #cond);		\
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			abort();					\
		}							\
	} while (0)

/* -DFUZZ_TRACE: print every call and its result (to check the seeds). */
#ifdef FUZZ_TRACE
#define TRACE(...)	fprintf(stderr, __VA_ARGS__)
#else
#define TRACE(...)	do { } while (0)
#endif

#define R	PKSV_ACCESS_READ
#define RW	(PKSV_ACCESS_READ | PKSV_ACCESS_WRITE)
#define PG	PAGE_SIZE

/* ---- input ---------------------------------------------------------- */

struct in {
	const u8 *p;
	size_t n;
};

static u8 byte(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static u64 bytes(struct in *in, unsigned int k)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < k; i++)
		v |= (u64)byte(in) << (8 * i);
	return v;
}

/* A guest-physical address: mostly one of 128 pages, else anything. */
static u64 arg_addr(struct in *in)
{
	u8 s = byte(in);

	switch (s >> 6) {
	case 0:
	case 1:
		return (u64)(s & 0x7f) * PG;
	case 2:
		return bytes(in, 2) * PG;
	default:
		if (s & 1)
			return bytes(in, 8);
		/* pages just below 2^64 (wrap-around checks) */
		return 0ull - (bytes(in, 1) + 1) * PG;
	}
}

static u64 arg_len(struct in *in)
{
	u8 s = byte(in);

	if (s < 0xe0)
		return (u64)(s & 0x1f) * PG;	/* 0 .. 31 pages */
	if (s < 0xf0)
		return bytes(in, 3) * PG;
	return bytes(in, 8);
}

static u64 arg_key(struct in *in)
{
	u8 s = byte(in);

	return s < 0xf0 ? s % 17 : bytes(in, 8);
}

static u8 arg_source(struct in *in)
{
	u8 s = byte(in);

	return s < 0xf0 ? 1 + (s & 1) : byte(in);
}

static u64 arg_access(struct in *in)
{
	u8 s = byte(in);

	return s < 0xf0 ? s % 8 : bytes(in, 8);
}

/* 64 gfns in four clusters whose home slots are 4094, 4095, 0 and 1. */
static u64 colliding[64];

static unsigned int home_of(u64 gfn)
{
	return (unsigned int)((gfn * 0x9e3779b97f4a7c15ull) >> 52) &
	       (UNPROTECT_SLOTS - 1);
}

static void init_colliding(void)
{
	unsigned int c, i;
	u64 g;

	if (colliding[63])
		return;
	for (c = 0; c < 4; c++)
		for (g = 1, i = 0; i < 16; g++)
			if (home_of(g) == ((UNPROTECT_SLOTS - 2 + c) &
					   (UNPROTECT_SLOTS - 1)))
				colliding[c * 16 + i++] = g;
}

static u64 arg_gfn(struct in *in)
{
	u8 s = byte(in);

	switch (s >> 6) {
	case 0:
		return colliding[s & 63];
	case 1:
		return s & 63;
	case 2:
		return bytes(in, 2);
	default:
		return bytes(in, 8);
	}
}

/* ---- keymap and its shadow ------------------------------------------ */

#define SH_CAP	(KEYMAP_MAX + 8)

struct kshadow {
	struct keymap_range r[SH_CAP];
	unsigned int n;
	u64 generation;
};

static struct keymap km;
static struct kshadow ks;
static bool km_light;	/* bulk ops: full comparison only at their end */

static bool same_owner(const struct keymap_range *a, const struct keymap_range *b)
{
	return a->key == b->key && a->source == b->source;
}

/*
 * Sort by start and merge overlapping or touching ranges of one owner
 * (ranges of different owners never overlap here).
 */
static void normalize(struct kshadow *s)
{
	unsigned int i, j, out;

	for (i = 1; i < s->n; i++) {
		struct keymap_range x = s->r[i];

		for (j = i; j > 0 && s->r[j - 1].start > x.start; j--)
			s->r[j] = s->r[j - 1];
		s->r[j] = x;
	}
	for (i = 0, out = 0; i < s->n; i++) {
		if (out && same_owner(&s->r[out - 1], &s->r[i]) &&
		    s->r[out - 1].end >= s->r[i].start) {
			if (s->r[i].end > s->r[out - 1].end)
				s->r[out - 1].end = s->r[i].end;
			continue;
		}
		s->r[out++] = s->r[i];
	}
	s->n = out;
}

static bool kshadow_equal(const struct kshadow *a, const struct kshadow *b)
{
	unsigned int i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (a->r[i].start != b->r[i].start || a->r[i].end != b->r[i].end ||
		    !same_owner(&a->r[i], &b->r[i]))
			return false;
	return true;
}

/* The shadow is sorted and disjoint: binary search on start. */
static unsigned int kshadow_lookup(const struct kshadow *s, u64 gpa)
{
	unsigned int lo = 0, hi = s->n;

	while (lo < hi) {	/* first range starting after gpa */
		unsigned int mid = lo + (hi - lo) / 2;

		if (s->r[mid].start > gpa)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo && gpa < s->r[lo - 1].end)
		return s->r[lo - 1].key;
	return 0;
}

static void check_keymap(void)
{
	unsigned int i;

	CHECK(km.n <= KEYMAP_MAX, "n %u", km.n);
	CHECK(km.generation == ks.generation, "generation %llu, shadow %llu",
	      km.generation, ks.generation);
	CHECK(km.n == ks.n, "n %u, shadow %u", km.n, ks.n);
	if (km_light)
		return;
	for (i = 0; i < km.n; i++) {
		const struct keymap_range *r = &km.r[i];

		CHECK(r->start < r->end, "range %u empty", i);
		CHECK(!(r->start & (PG - 1)) && !(r->end & (PG - 1)),
		      "range %u [%llx, %llx) not page aligned", i, r->start, r->end);
		CHECK(r->key >= 1 && r->key <= 15, "range %u key %u", i, r->key);
		CHECK(r->source == KEYMAP_PV || r->source == KEYMAP_DISCOVERED,
		      "range %u source %u", i, r->source);
		CHECK(!i || km.r[i - 1].end <= r->start,
		      "ranges %u, %u unsorted or overlapping", i - 1, i);
		CHECK(r->start == ks.r[i].start && r->end == ks.r[i].end &&
		      same_owner(r, &ks.r[i]),
		      "range %u [%llx, %llx) key %u src %u, shadow [%llx, %llx) key %u src %u",
		      i, r->start, r->end, r->key, r->source, ks.r[i].start,
		      ks.r[i].end, ks.r[i].key, ks.r[i].source);
		/* lookups on both edges and just outside them */
		CHECK(keymap_lookup(&km, r->start) == r->key, "lookup start %u", i);
		CHECK(keymap_lookup(&km, r->end - 1) == r->key, "lookup end-1 %u", i);
		CHECK(keymap_lookup(&km, r->end) == kshadow_lookup(&ks, r->end),
		      "lookup end %u", i);
		if (r->start)
			CHECK(keymap_lookup(&km, r->start - 1) ==
			      kshadow_lookup(&ks, r->start - 1), "lookup start-1 %u", i);
	}
}

/* The validity rules of keymap_add / keymap_remove, in their order. */
static int range_args(u64 start, u64 len, u8 source)
{
	if ((start | len) & (PG - 1))
		return -PKSV_EALIGN;
	if (!len || start + len <= start)
		return -PKSV_EINVAL;
	if (source != KEYMAP_PV && source != KEYMAP_DISCOVERED)
		return -PKSV_EINVAL;
	return 0;
}

static struct kshadow kt;	/* candidate next state */

/* Commit kt if it fits; returns 0 or -PKSV_ENOSPC. */
static int kshadow_commit(void)
{
	normalize(&kt);
	if (kt.n > KEYMAP_MAX)
		return -PKSV_ENOSPC;
	if (!kshadow_equal(&kt, &ks)) {
		memcpy(ks.r, kt.r, sizeof(ks.r));
		ks.n = kt.n;
		ks.generation++;
	}
	return 0;
}

static void op_km_add(u64 start, u64 len, unsigned int key, u8 source)
{
	int want, got;
	unsigned int i;

	want = range_args(start, len, source);
	if (!want && (key < 1 || key > 15))
		want = -PKSV_EKEY;
	for (i = 0; !want && i < ks.n; i++)
		if (ks.r[i].start < start + len && ks.r[i].end > start &&
		    (ks.r[i].key != key || ks.r[i].source != source))
			want = -PKSV_EINVAL;
	if (!want) {
		memcpy(kt.r, ks.r, ks.n * sizeof(ks.r[0]));
		kt.n = ks.n;
		kt.r[kt.n].start = start;
		kt.r[kt.n].end = start + len;
		kt.r[kt.n].key = (u8)key;
		kt.r[kt.n].source = source;
		kt.n++;
		want = kshadow_commit();
	}
	got = keymap_add(&km, start, len, key, source);
	TRACE("keymap_add(%llx, %llx, %u, %u) = %d, n %u\n", start, len, key,
	      source, got, km.n);
	CHECK(got == want, "keymap_add(%llx, %llx, %u, %u) = %d, want %d",
	      start, len, key, source, got, want);
	check_keymap();
}

static void op_km_remove(u64 start, u64 len, u8 source)
{
	u64 end = start + len;
	unsigned int i, hits = 0;
	int want, got;

	want = range_args(start, len, source);
	if (!want) {
		kt.n = 0;
		for (i = 0; i < ks.n; i++) {
			struct keymap_range r = ks.r[i];

			if (r.source != source || r.end <= start || r.start >= end) {
				kt.r[kt.n++] = r;
				continue;
			}
			hits++;
			if (r.start < start) {
				kt.r[kt.n] = r;
				kt.r[kt.n++].end = start;
			}
			if (r.end > end) {
				kt.r[kt.n] = r;
				kt.r[kt.n++].start = end;
			}
		}
		want = hits ? kshadow_commit() : -PKSV_ENOENT;
	}
	got = keymap_remove(&km, start, len, source);
	TRACE("keymap_remove(%llx, %llx, %u) = %d, n %u\n", start, len, source,
	      got, km.n);
	CHECK(got == want, "keymap_remove(%llx, %llx, %u) = %d, want %d",
	      start, len, source, got, want);
	check_keymap();
}

static void op_km_clear(u8 source)
{
	unsigned int i;

	kt.n = 0;
	for (i = 0; i < ks.n; i++)
		if (ks.r[i].source != source)
			kt.r[kt.n++] = ks.r[i];
	CHECK(kshadow_commit() == 0, "clear cannot grow");
	keymap_clear_source(&km, source);
	check_keymap();
}

static void op_km_lookup(u64 gpa)
{
	unsigned int got = keymap_lookup(&km, gpa), want = kshadow_lookup(&ks, gpa);

	CHECK(got == want, "keymap_lookup(%llx) = %u, want %u", gpa, got, want);
}

/* ---- unprotect table and its shadow ---------------------------------- */

struct uent {
	u64 gfn;
	u32 refs;
	u32 writers;	/* references taken READ|WRITE */
	u8 access;
};

static struct unprotect_table ut;
static struct uent us[UNPROTECT_MAX];
static unsigned int us_n;
static u64 us_generation;

/* Index of gfn in the sorted shadow, or where it would go (*found). */
static unsigned int us_find(u64 gfn, bool *found)
{
	unsigned int lo = 0, hi = us_n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (us[mid].gfn < gfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < us_n && us[lo].gfn == gfn;
	return lo;
}

static unsigned int us_lookup(u64 gfn)
{
	bool found;
	unsigned int i = us_find(gfn, &found);

	return found ? us[i].access : 0;
}

static void check_unprotect_light(u64 gfn)
{
	CHECK(ut.count == us_n, "count %u, shadow %u", ut.count, us_n);
	CHECK(ut.generation == us_generation, "generation %llu, shadow %llu",
	      ut.generation, us_generation);
	CHECK(unprotect_lookup(&ut, gfn) == us_lookup(gfn),
	      "unprotect_lookup(%llx) = %u, shadow %u", gfn,
	      unprotect_lookup(&ut, gfn), us_lookup(gfn));
}

static void check_unprotect_full(void)
{
	unsigned int i, live = 0;

	CHECK(ut.count == us_n, "count %u, shadow %u", ut.count, us_n);
	CHECK(ut.count <= UNPROTECT_MAX, "count %u", ut.count);
	for (i = 0; i < us_n; i++)
		CHECK(unprotect_lookup(&ut, us[i].gfn) == us[i].access,
		      "lookup(%llx) = %u, shadow %u", us[i].gfn,
		      unprotect_lookup(&ut, us[i].gfn), us[i].access);
	for (i = 0; i < UNPROTECT_SLOTS; i++) {
		const struct unprotect_entry *e = &ut.e[i];
		unsigned int j, k;
		bool found;

		if (!e->refs)
			continue;
		live++;
		k = us_find(e->gfn, &found);
		CHECK(found, "slot %u: gfn %llx refs %u not in the shadow", i,
		      e->gfn, e->refs);
		CHECK(e->refs == us[k].refs && e->access == us[k].access &&
		      e->refs_write == us[k].writers,
		      "slot %u gfn %llx: refs %u (%u write) access %u, shadow %u (%u) %u",
		      i, e->gfn, e->refs, e->refs_write, e->access, us[k].refs,
		      us[k].writers, us[k].access);
		for (j = home_of(e->gfn); j != i; j = (j + 1) & (UNPROTECT_SLOTS - 1))
			CHECK(ut.e[j].refs, "slot %u (gfn %llx): hole at %u", i,
			      e->gfn, j);
	}
	CHECK(live == us_n, "%u live slots, shadow %u", live, us_n);
}

static int op_u_get(u64 gfn, unsigned int access)
{
	bool found, changed = true, wchanged = false;
	unsigned int k = us_find(gfn, &found);
	int want, got;

	if (access != R && access != RW) {
		want = -PKSV_EINVAL;
	} else if (found) {
		if (us[k].refs == 0xffffffffu) {
			want = -PKSV_ERANGE;
		} else {
			want = 0;
			us[k].refs++;
			us[k].writers += !!(access & PKSV_ACCESS_WRITE);
			wchanged = (us[k].access | access) != us[k].access;
			us[k].access |= access;
		}
	} else if (us_n >= UNPROTECT_MAX) {
		want = -PKSV_ENOSPC;
	} else {
		want = 0;
		memmove(&us[k + 1], &us[k], (us_n - k) * sizeof(us[0]));
		us[k].gfn = gfn;
		us[k].refs = 1;
		us[k].writers = !!(access & PKSV_ACCESS_WRITE);
		us[k].access = (u8)access;
		us_n++;
		wchanged = true;
	}
	us_generation += wchanged;
	got = unprotect_get(&ut, gfn, access, &changed);
	TRACE("unprotect_get(%llx, %u) = %d changed %d, count %u\n", gfn,
	      access, got, changed, ut.count);
	CHECK(got == want && changed == wchanged,
	      "unprotect_get(%llx, %u) = %d changed %d, want %d %d", gfn,
	      access, got, changed, want, wchanged);
	check_unprotect_light(gfn);
	return got;
}

static int op_u_put(u64 gfn)
{
	bool found, gone = true, wgone = false;
	unsigned int k = us_find(gfn, &found);
	int want, got;

	if (!found) {
		want = -PKSV_ENOENT;
	} else {
		want = 0;
		CHECK(us[k].refs, "shadow refs 0");
		if (--us[k].refs == 0) {
			memmove(&us[k], &us[k + 1], (us_n - k - 1) * sizeof(us[0]));
			us_n--;
			us_generation++;
			wgone = true;
		} else if (us[k].writers && --us[k].writers == 0) {
			us[k].access = PKSV_ACCESS_READ;	/* widest first */
			us_generation++;
		}
	}
	got = unprotect_put(&ut, gfn, &gone);
	TRACE("unprotect_put(%llx) = %d gone %d, count %u\n", gfn, got, gone,
	      ut.count);
	CHECK(got == want && gone == wgone,
	      "unprotect_put(%llx) = %d gone %d, want %d %d", gfn, got, gone,
	      want, wgone);
	check_unprotect_light(gfn);
	return got;
}

/* Test aid (like the unit tests): push a page's refcount near the limit. */
static void op_u_saturate(u64 gfn, unsigned int below)
{
	bool found;
	unsigned int k = us_find(gfn, &found), i;

	if (!found)
		return;
	for (i = 0; i < UNPROTECT_SLOTS; i++)
		if (ut.e[i].refs && ut.e[i].gfn == gfn)
			break;
	CHECK(i < UNPROTECT_SLOTS, "gfn %llx in the shadow, not in the table", gfn);
	ut.e[i].refs = us[k].refs = 0xffffffffu - below;
}

/* ---- hypercalls ------------------------------------------------------ */

static void op_guest_write(u64 gpa, u64 len, u64 need);


/*
 * A VMCALL: decode RAX at cpl, then the argument checks the dispatcher
 * makes before calling the pure code (pks_hc_range, pks_hc_unprotect,
 * pks_hc_protect), minus the ones that need a machine (EFAULT).
 */
static void op_vmcall(struct in *in)
{
	u8 s = byte(in);
	u64 rax = s < 0xf0 ? PKSV_HC_RAX(s % (PKSV_HC_MAX + 2)) : bytes(in, 8);
	u8 c = byte(in);
	unsigned int cpl = c < 0xf0 ? c & 3 : (unsigned int)bytes(in, 4);
	u32 nr = 0xdeadbeefu;
	int ret = hypercall_decode(rax, cpl, &nr);
	bool ok = cpl == 0 && (rax >> 32) == PKSV_HC_MAGIC;

	TRACE("hypercall_decode(%llx, %u) = %d nr %x\n", rax, cpl, ret, nr);
	CHECK(ret == (ok ? 0 : -1), "hypercall_decode(%llx, %u) = %d", rax, cpl, ret);
	CHECK(nr == (ok ? (u32)rax : 0xdeadbeefu),
	      "hypercall_decode(%llx, %u): nr %x", rax, cpl, nr);
	if (!ok)
		return;

	switch (nr) {
	case PKSV_HC_RANGE_REGISTER:
	case PKSV_HC_RANGE_UNREGISTER: {
		u64 gpa = arg_addr(in), len = arg_len(in), key = arg_key(in);

		if ((gpa | len) & (PG - 1) || !len || gpa + len < gpa)
			return;
		if (nr == PKSV_HC_RANGE_REGISTER) {
			if (key < 1 || key > 15)
				return;
			op_km_add(gpa, len, (unsigned int)key, KEYMAP_PV);
		} else {
			op_km_remove(gpa, len, KEYMAP_PV);
		}
		break;
	}
	case PKSV_HC_UNPROTECT_PAGE: {
		u64 gfn = arg_gfn(in), access = arg_access(in);

		if (gfn >> (52 - PAGE_SHIFT) || access >> 32)
			return;
		op_u_get(gfn, (unsigned int)access);
		break;
	}
	case PKSV_HC_PROTECT_PAGE: {
		u64 gfn = arg_gfn(in);

		if (gfn >> (52 - PAGE_SHIFT))
			return;
		op_u_put(gfn);
		break;
	}
	case PKSV_HC_GET_STATS: {
		u64 gpa = arg_addr(in), len = bytes(in, 2) % (PG + 2);

		/* need: the line length + 1 pksvisor computed (1..PG+100) */
		op_guest_write(gpa + (byte(in) == 0xff), len, 1 + bytes(in, 2) % (PG + 100));
		break;
	}
	default:
		break;
	}
}

/* ---- guest buffers (GET_STATS) ---------------------------------------- */

#define FAKE_RAM_PAGES	96
#define FAKE_POOL_PAGES	16
#define FAKE_LIMIT	(128 * PG)

static struct hv fhv;

struct fill_rec {
	bool called;
	u64 dst, len;
};

/* Records the write instead of doing it: the fake machine has no memory. */
static void fill_record(void *dst, u64 len, void *p)
{
	struct fill_rec *r = p;

	r->called = true;
	r->dst = (u64)(uintptr_t)dst;
	r->len = len;
}

static void op_guest_write(u64 gpa, u64 len, u64 need)
{
	struct fill_rec rec = { false, 0, 0 };
	bool found = false;
	s64 want = 0, got;

	fhv.phys_limit = FAKE_LIMIT;
	fhv.nr_ram = 1;
	fhv.ram[0].start = 0;
	fhv.ram[0].end = FAKE_RAM_PAGES * PG;
	fhv.pool.base = FAKE_RAM_PAGES * PG;
	fhv.pool.size = FAKE_POOL_PAGES * PG;
	fhv.pks.keymap = km;
	fhv.pks.unprotect = ut;
	if (!(gpa & (PG - 1)) && gpa < FAKE_LIMIT)
		us_find(gpa >> PAGE_SHIFT, &found);
	if (!len || len > PG)
		want = -PKSV_EINVAL;
	else if (gpa & (PG - 1))
		want = -PKSV_EALIGN;
	else if (gpa >= FAKE_LIMIT || gpa + len > FAKE_RAM_PAGES * PG)
		want = -PKSV_EFAULT;	/* the pool and the MMIO above RAM */
	else if (kshadow_lookup(&ks, gpa) || found)
		want = -PKSV_EPERM;
	else if (need > len)
		want = -PKSV_ENOSPC;
	got = pks_guest_buffer_write(&fhv, gpa, len, need, fill_record, &rec);
	TRACE("guest_buffer_write(%llx, %llx, need %llx) = %lld\n", gpa, len, need, got);
	CHECK(got == want, "guest_buffer_write(%llx, %llx, need %llx) = %lld, want %lld",
	      gpa, len, need, got, want);
	CHECK(rec.called == !want && (!rec.called || (rec.dst == gpa && rec.len == len)),
	      "guest_buffer_write(%llx, %llx) wrote %d at %llx+%llx", gpa, len,
	      rec.called, rec.dst, rec.len);
}

/* ---- driver ---------------------------------------------------------- */

enum {
	OP_VMCALL, OP_KM_ADD, OP_KM_REMOVE, OP_KM_CLEAR, OP_KM_LOOKUP,
	OP_U_GET, OP_U_PUT, OP_U_LOOKUP, OP_U_BULK_GET, OP_U_BULK_PUT,
	OP_U_SATURATE, OP_CHECK, OP_KM_FILL, NR_OPS
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	unsigned int ops = 0;

	init_colliding();
	keymap_init(&km);
	memset(&ks, 0, sizeof(ks));
	unprotect_init(&ut);
	us_n = 0;
	us_generation = 0;

	while (in.n) {
		u8 op = byte(&in) % NR_OPS;

		switch (op) {
		case OP_VMCALL:
			op_vmcall(&in);
			break;
		case OP_KM_ADD: {
			u64 start = arg_addr(&in), len = arg_len(&in);
			u64 key = arg_key(&in);

			op_km_add(start, len, (unsigned int)key, arg_source(&in));
			break;
		}
		case OP_KM_REMOVE: {
			u64 start = arg_addr(&in), len = arg_len(&in);

			op_km_remove(start, len, arg_source(&in));
			break;
		}
		case OP_KM_CLEAR:
			op_km_clear(arg_source(&in));
			break;
		case OP_KM_LOOKUP: {
			u64 gpa = arg_addr(&in);

			op_km_lookup(gpa + bytes(&in, 2) % (2 * PG));
			op_km_lookup(gpa - 1);
			break;
		}
		case OP_U_GET: {
			u64 gfn = arg_gfn(&in);

			op_u_get(gfn, (unsigned int)arg_access(&in));
			break;
		}
		case OP_U_PUT:
			op_u_put(arg_gfn(&in));
			break;
		case OP_U_LOOKUP:
			check_unprotect_light(arg_gfn(&in));
			break;
		case OP_U_BULK_GET:
		case OP_U_BULK_PUT: {
			/* n consecutive gfns: reaches a full table quickly. */
			u64 gfn = arg_gfn(&in);
			unsigned int n = 1 + bytes(&in, 2) % UNPROTECT_SLOTS;
			unsigned int access = byte(&in) & 1 ? RW : R, i;

			for (i = 0; i < n; i++) {
				if (op == OP_U_BULK_GET)
					op_u_get(gfn + i, access);
				else
					op_u_put(gfn + i);
			}
			check_unprotect_full();
			break;
		}
		case OP_U_SATURATE:
			op_u_saturate(arg_gfn(&in), byte(&in) % 4);
			break;
		case OP_CHECK:
			check_unprotect_full();
			check_keymap();
			break;
		case OP_KM_FILL: {
			/* n separate ranges with a stride: reaches KEYMAP_MAX. */
			u64 base = arg_addr(&in) & ~(PG - 1);
			unsigned int n = 1 + byte(&in), i;
			unsigned int stride = 2 + byte(&in) % 4;
			u8 key = 1 + byte(&in) % 15;

			if (key & 1)	/* up to 320 ranges: past KEYMAP_MAX */
				n += 64;

			km_light = true;
			for (i = 0; i < n; i++)
				op_km_add(base + (u64)i * stride * PG, PG, key,
					  KEYMAP_PV);
			km_light = false;
			check_keymap();
			break;
		}
		}
		if (++ops % 16 == 0)
			check_unprotect_full();
	}
	check_unprotect_full();
	check_keymap();
	return 0;
}
