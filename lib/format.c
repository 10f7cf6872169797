// SPDX-License-Identifier: MIT
/*
 * Freestanding formatted output and memory/string helpers.
 *
 * pksvisor has no libc: the serial console, the statistics lines and the
 * error messages of the config parser all go through pksv_vsnprintf().
 * The subset is deliberately small (see format.h) but behaves like C99
 * snprintf for everything it accepts: the output is always NUL terminated
 * when size > 0, and the return value is the length the full output would
 * have had, so callers can detect truncation.
 *
 * The same file is built for the host unit tests, so it must not depend
 * on anything but the pksvisor headers.
 */
#include <stdarg.h>
#include <pksvisor/types.h>
#include <pksvisor/format.h>

struct out {
	char *buf;
	size_t size;
	size_t pos;		/* would-be length so far */
};

static void out_char(struct out *o, char c)
{
	/* Keep the last byte for the terminator; count everything. */
	if (o->size && o->pos < o->size - 1)
		o->buf[o->pos] = c;
	o->pos++;
}

static void out_repeat(struct out *o, char c, int n)
{
	while (n-- > 0)
		out_char(o, c);
}

/*
 * Emit a converted field: an optional sign/prefix, then the digits or
 * string body, padded to width.  With '0' the padding goes between prefix
 * and body (as C does for numbers), with '-' it goes after the body.
 */
static void out_field(struct out *o, const char *prefix, const char *body,
		      size_t len, int width, bool left, bool zero)
{
	size_t plen = pksv_strlen(prefix);
	int pad = width - (int)(plen + len);
	size_t i;

	if (!left && !zero)
		out_repeat(o, ' ', pad);
	for (i = 0; i < plen; i++)
		out_char(o, prefix[i]);
	if (!left && zero)
		out_repeat(o, '0', pad);
	for (i = 0; i < len; i++)
		out_char(o, body[i]);
	if (left)
		out_repeat(o, ' ', pad);
}

/* Digits of v in base (10 or 16), most significant first, into tmp. */
static size_t utoa(char *tmp, u64 v, unsigned int base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char rev[24];
	size_t n = 0, i;

	do {
		rev[n++] = digits[v % base];
		v /= base;
	} while (v);
	for (i = 0; i < n; i++)
		tmp[i] = rev[n - 1 - i];
	return n;
}

enum length { LEN_INT, LEN_LONG, LEN_LLONG, LEN_SIZE };

int pksv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .size = size, .pos = 0 };
	char tmp[24];

	while (*fmt) {
		bool left = false, zero = false;
		enum length len = LEN_INT;
		int width = 0;
		const char *s;
		size_t n;
		u64 uv;
		s64 sv;
		char c;

		if (*fmt != '%') {
			out_char(&o, *fmt++);
			continue;
		}
		fmt++;

		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				zero = true;
			else
				break;
		}
		/* C ignores '0' when '-' is also given. */
		if (left)
			zero = false;
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				left = true;
				zero = false;
				width = -width;
			}
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');

		if (*fmt == 'l') {
			fmt++;
			len = LEN_LONG;
			if (*fmt == 'l') {
				fmt++;
				len = LEN_LLONG;
			}
		} else if (*fmt == 'z') {
			fmt++;
			len = LEN_SIZE;
		}

		switch ((c = *fmt)) {
		case 'd':
		case 'i':
			if (len == LEN_LLONG)
				sv = va_arg(ap, long long);
			else if (len == LEN_LONG)
				sv = va_arg(ap, long);
			else if (len == LEN_SIZE)
				sv = (s64)va_arg(ap, size_t);
			else
				sv = va_arg(ap, int);
			/* Negate in unsigned arithmetic: INT64_MIN has no positive. */
			uv = sv < 0 ? -(u64)sv : (u64)sv;
			n = utoa(tmp, uv, 10, false);
			out_field(&o, sv < 0 ? "-" : "", tmp, n, width, left,
				  zero);
			break;
		case 'u':
		case 'x':
		case 'X':
			if (len == LEN_LLONG)
				uv = va_arg(ap, unsigned long long);
			else if (len == LEN_LONG)
				uv = va_arg(ap, unsigned long);
			else if (len == LEN_SIZE)
				uv = va_arg(ap, size_t);
			else
				uv = va_arg(ap, unsigned int);
			n = utoa(tmp, uv, c == 'u' ? 10 : 16, c == 'X');
			out_field(&o, "", tmp, n, width, left, zero);
			break;
		case 'p':
			uv = (u64)(uintptr_t)va_arg(ap, void *);
			n = utoa(tmp, uv, 16, false);
			out_field(&o, "0x", tmp, n, width, left, zero);
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			out_field(&o, "", s, pksv_strlen(s), width, left,
				  false);
			break;
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			out_field(&o, "", tmp, 1, width, left, false);
			break;
		case '%':
			out_char(&o, '%');
			break;
		case '\0':
			/* Trailing lone '%': stop, do not read past the end. */
			continue;
		default:
			/* Unknown conversion: print it verbatim, visibly. */
			out_char(&o, '%');
			out_char(&o, c);
			break;
		}
		fmt++;
	}

	if (size)
		buf[o.pos < size ? o.pos : size - 1] = '\0';
	return (int)o.pos;
}

int pksv_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = pksv_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return r;
}

void *pksv_memset(void *dst, int c, size_t n)
{
	u8 *d = dst;

	while (n--)
		*d++ = (u8)c;
	return dst;
}

void *pksv_memcpy(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

int pksv_memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;

	for (; n; n--, x++, y++) {
		if (*x != *y)
			return *x < *y ? -1 : 1;
	}
	return 0;
}

size_t pksv_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int pksv_strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (u8)*a < (u8)*b ? -1 : 1;
		if (!*a)
			break;
	}
	return 0;
}
