// SPDX-License-Identifier: MIT
/*
 * memmove/memcmp for the freestanding hypervisor image (gnu-efi's libefi
 * already provides memset and memcpy).
 *
 * Even with -ffreestanding -fno-builtin, gcc may emit calls to these four
 * for structure copies and initialisers (the C standard lets a freestanding
 * compiler rely on them), and nothing else provides them in the EFI image.
 * The host unit tests link against the real libc instead, so this file is
 * deliberately absent from tests/unit/Makefile.
 *
 * The loops must not be recognised as memset/memcpy idioms and turned back
 * into calls to themselves, hence the optimize attribute.
 */
#include <pksvisor/types.h>

#define NO_IDIOM __attribute__((optimize("no-tree-loop-distribute-patterns")))

void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

NO_IDIOM void *memmove(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	/* Copy backwards when dst overlaps the tail of src. */
	if (d > s && d < s + n) {
		d += n;
		s += n;
		while (n--)
			*--d = *--s;
	} else {
		while (n--)
			*d++ = *s++;
	}
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;

	for (; n; n--, x++, y++) {
		if (*x != *y)
			return *x < *y ? -1 : 1;
	}
	return 0;
}
