// SPDX-License-Identifier: MIT
/*
 * Keyed guest-physical ranges: which pages the soft PKS backend must
 * protect with which key.  Ranges come from two sources -- the guest's
 * PKSV_HC_RANGE_REGISTER hypercalls and the page-table scan on CR3 loads
 * (guest_scan_keys()) -- and are kept per source so that a rescan can
 * replace what it discovered without touching what the guest registered.
 *
 * The map is a bounded array of disjoint [start, end) ranges sorted by
 * start.  Because they are disjoint, the ends are sorted too, which lets
 * keymap_lookup() -- called on every EPT violation -- binary search.
 * Mutations are rare (hypercalls, rescans) and may shift the array.
 *
 * Every operation validates first and changes nothing on error, because
 * the hypercall ABI promises that a failed call changes nothing.
 */
#include <pksvisor/pks.h>
#include <pksvisor/hypercall.h>

#define PAGE_OFFSET_MASK	(PAGE_SIZE - 1)

void keymap_init(struct keymap *km)
{
	km->n = 0;
	km->generation = 0;
}

/* Overlapping moves within km->r (the array is small and freestanding). */
static void move_ranges(struct keymap *km, unsigned int dst, unsigned int src,
			unsigned int count)
{
	unsigned int i;

	if (dst < src) {
		for (i = 0; i < count; i++)
			km->r[dst + i] = km->r[src + i];
	} else if (dst > src) {
		for (i = count; i > 0; i--)
			km->r[dst + i - 1] = km->r[src + i - 1];
	}
}

/* First index whose range ends after x (n if none): binary search. */
static unsigned int first_end_after(const struct keymap *km, u64 x)
{
	unsigned int lo = 0, hi = km->n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (km->r[mid].end > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Common argument checks: alignment, then emptiness and wrap-around. */
static int check_range(u64 start, u64 len, u8 source)
{
	if ((start | len) & PAGE_OFFSET_MASK)
		return -PKSV_EALIGN;
	if (!len || start + len < start)
		return -PKSV_EINVAL;
	if (source != KEYMAP_PV && source != KEYMAP_DISCOVERED)
		return -PKSV_EINVAL;
	return 0;
}

static bool same_owner(const struct keymap_range *r, unsigned int key,
		       u8 source)
{
	return r->key == key && r->source == source;
}

/*
 * Add [start, start + len) with key for source.  Ranges of the same key
 * and source that overlap or touch it are merged with it, so that one
 * region registered piecewise (or a scan reporting neighbouring 4 KiB
 * pages) takes one slot.  Overlap with any other owner is refused: a page
 * has one key, and a registration must not silently change a discovered
 * key or the other way round.
 */
int keymap_add(struct keymap *km, u64 start, u64 len, unsigned int key,
	       u8 source)
{
	unsigned int lo, hi, mlo, mhi, i, newn;
	u64 end, mstart, mend;
	int ret;

	ret = check_range(start, len, source);
	if (ret)
		return ret;
	if (key < 1 || key >= PKS_NR_KEYS)
		return -PKSV_EKEY;
	end = start + len;

	/*
	 * Candidates: every range that overlaps or touches [start, end),
	 * i.e. with r.end >= start and r.start <= end.
	 */
	lo = start ? first_end_after(km, start - 1) : 0;
	for (hi = lo; hi < km->n && km->r[hi].start <= end; hi++) {
		const struct keymap_range *r = &km->r[hi];
		bool overlaps = r->start < end && r->end > start;

		if (overlaps && !same_owner(r, key, source))
			return -PKSV_EINVAL;
	}

	/*
	 * Only the touching neighbours can belong to someone else (they
	 * would have overlapped otherwise); they stay as they are.
	 */
	mlo = lo;
	mhi = hi;
	if (mlo < mhi && km->r[mlo].end == start &&
	    !same_owner(&km->r[mlo], key, source))
		mlo++;
	if (mlo < mhi && km->r[mhi - 1].start == end &&
	    !same_owner(&km->r[mhi - 1], key, source))
		mhi--;

	mstart = start;
	mend = end;
	if (mlo < mhi) {
		if (km->r[mlo].start < mstart)
			mstart = km->r[mlo].start;
		if (km->r[mhi - 1].end > mend)
			mend = km->r[mhi - 1].end;
		/* Already covered by one range: nothing changes. */
		if (mhi - mlo == 1 && mstart == km->r[mlo].start &&
		    mend == km->r[mlo].end)
			return 0;
	}

	newn = km->n - (mhi - mlo) + 1;
	if (newn > KEYMAP_MAX)
		return -PKSV_ENOSPC;

	/* Replace r[mlo, mhi) by the one merged range. */
	i = mlo;
	move_ranges(km, i + 1, mhi, km->n - mhi);
	km->r[i].start = mstart;
	km->r[i].end = mend;
	km->r[i].key = (u8)key;
	km->r[i].source = source;
	km->n = newn;
	km->generation++;
	return 0;
}

/*
 * Remove [start, start + len) from the ranges of source, trimming ranges
 * that stick out and splitting one that contains the hole in its middle.
 * Ranges of the other source are left alone: an unregister hypercall must
 * not drop what the scan found, nor a rescan what the guest registered.
 */
int keymap_remove(struct keymap *km, u64 start, u64 len, u8 source)
{
	unsigned int lo, hi, i, out, hits = 0;
	bool split = false;
	u64 end;
	int ret;

	ret = check_range(start, len, source);
	if (ret)
		return ret;
	end = start + len;

	lo = first_end_after(km, start);
	for (hi = lo; hi < km->n && km->r[hi].start < end; hi++) {
		const struct keymap_range *r = &km->r[hi];

		if (r->source != source)
			continue;
		hits++;
		if (r->start < start && r->end > end)
			split = true;
	}
	if (!hits)
		return -PKSV_ENOENT;

	if (split) {
		/*
		 * The hole is strictly inside one range, which is then the
		 * only range of this source it touches: make two of it.
		 */
		if (km->n >= KEYMAP_MAX)
			return -PKSV_ENOSPC;
		for (i = lo; i < hi; i++)
			if (km->r[i].source == source)
				break;
		move_ranges(km, i + 1, i, km->n - i);
		km->r[i].end = start;
		km->r[i + 1].start = end;
		km->n++;
		km->generation++;
		return 0;
	}

	/* Trim or drop each hit, compacting r[lo, hi) in place. */
	for (i = lo, out = lo; i < hi; i++) {
		struct keymap_range r = km->r[i];

		if (r.source == source) {
			if (r.start < start)
				r.end = start;
			else if (r.end > end)
				r.start = end;
			else
				continue;	/* wholly inside the hole */
		}
		km->r[out++] = r;
	}
	move_ranges(km, out, hi, km->n - hi);
	km->n -= hi - out;
	km->generation++;
	return 0;
}

void keymap_clear_source(struct keymap *km, u8 source)
{
	unsigned int i, out;

	for (i = 0, out = 0; i < km->n; i++)
		if (km->r[i].source != source)
			km->r[out++] = km->r[i];
	if (out != km->n) {
		km->n = out;
		km->generation++;
	}
}

unsigned int keymap_lookup(const struct keymap *km, u64 gpa)
{
	unsigned int i = first_end_after(km, gpa);

	if (i < km->n && km->r[i].start <= gpa)
		return km->r[i].key;
	return 0;
}
