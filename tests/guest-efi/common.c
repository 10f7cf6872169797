// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * common.c: COM1 output, formatting, TAP lines, CPUID and power-off shared
 * by the EFI guest test programs (see common.h).
 */
#include "common.h"

#include <pksvisor/hypercall.h>

/* ---- COM1 ---------------------------------------------------------- */

#define COM1		0x3f8
#define UART_THR	0
#define UART_IER	1
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_DLL	0
#define UART_DLM	1
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

/*
 * OVMF and pksvisor have normally set COM1 up already (115200 8N1); only
 * program it when it looks unconfigured, so a line pksvisor is sending is
 * not garbled by a divisor change.
 */
void com1_init(void)
{
	if ((inb(COM1 + UART_LCR) & 0x3f) == 0x03)
		return;
	outb(COM1 + UART_IER, 0x00);
	outb(COM1 + UART_LCR, 0x80);		/* DLAB */
	outb(COM1 + UART_DLL, 0x01);		/* 115200 baud */
	outb(COM1 + UART_DLM, 0x00);
	outb(COM1 + UART_LCR, 0x03);		/* 8N1 */
	outb(COM1 + UART_FCR, 0x07);		/* FIFO on, cleared */
	outb(COM1 + UART_MCR, 0x03);		/* DTR, RTS */
}

void com1_putc(char c)
{
	unsigned int spin;

	/* Bounded: a missing UART must not hang the test forever. */
	for (spin = 0; spin < 1000000; spin++)
		if (inb(COM1 + UART_LSR) & LSR_THRE)
			break;
	outb(COM1 + UART_THR, (u8)c);
}

void com1_drain(void)
{
	unsigned int spin;

	for (spin = 0; spin < 1000000; spin++)
		if (inb(COM1 + UART_LSR) & LSR_TEMT)
			break;
}

/* ---- one-line formatting ------------------------------------------- */

/* Room is kept for "\r\n" (say) or a '\0' (buf_fmt). */
void buf_putc(struct buf *b, char c)
{
	if (b->n < sizeof(b->s) - 3)
		b->s[b->n++] = c;
}

static void buf_num(struct buf *b, u64 v, unsigned int base, int neg,
		    unsigned int width)
{
	char tmp[24];
	unsigned int i = 0;

	if (neg)
		buf_putc(b, '-');
	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (i < width && i < sizeof(tmp))
		tmp[i++] = '0';
	while (i)
		buf_putc(b, tmp[--i]);
}

void buf_vfmt(struct buf *b, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		unsigned int longs = 0, width = 0;
		const char *str;
		u64 v;

		if (*fmt != '%') {
			buf_putc(b, *fmt);
			continue;
		}
		fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned int)(*fmt++ - '0');
		while (*fmt == 'l') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 's':
			for (str = va_arg(ap, const char *); str && *str; str++)
				buf_putc(b, *str);
			break;
		case 'c':
			buf_putc(b, (char)va_arg(ap, int));
			break;
		case 'd':
			if (longs) {
				long long sv = va_arg(ap, long long);

				buf_num(b, sv < 0 ? -(u64)sv : (u64)sv, 10, sv < 0, width);
			} else {
				int sv = va_arg(ap, int);

				buf_num(b, sv < 0 ? -(u64)(long long)sv : (u64)sv, 10,
					sv < 0, width);
			}
			break;
		case 'u':
		case 'x':
			v = longs ? va_arg(ap, u64) : va_arg(ap, unsigned int);
			buf_num(b, v, *fmt == 'x' ? 16 : 10, 0, width);
			break;
		case '%':
			buf_putc(b, '%');
			break;
		case '\0':
			return;
		default:
			buf_putc(b, '?');
			break;
		}
	}
}

void buf_fmt(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vfmt(b, fmt, ap);
	va_end(ap);
	b->s[b->n] = '\0';
}

void say(const char *fmt, ...)
{
	struct buf b = { .n = 0 };
	va_list ap;
	unsigned int i;

	va_start(ap, fmt);
	buf_vfmt(&b, fmt, ap);
	va_end(ap);
	b.s[b.n++] = '\r';
	b.s[b.n++] = '\n';
	for (i = 0; i < b.n; i++)
		com1_putc(b.s[i]);
}

/* ---- TAP / KTAP result lines --------------------------------------- */

unsigned int tap_num;
unsigned int tap_failed;

void tap_ok(int ok, const char *fmt, ...)
{
	struct buf b = { .n = 0 };
	va_list ap;

	tap_num++;
	if (!ok)
		tap_failed++;
	va_start(ap, fmt);
	buf_vfmt(&b, fmt, ap);
	va_end(ap);
	b.s[b.n] = '\0';
	say("%sok %u - %s", ok ? "" : "not ", tap_num, b.s);
}

void tap_skip(const char *name, const char *reason)
{
	tap_num++;
	say("ok %u - %s # SKIP %s", tap_num, name, reason);
}

/* ---- CPUID, pksvisor ----------------------------------------------- */

struct cpuid_regs cpuid(u32 leaf, u32 subleaf)
{
	struct cpuid_regs r;

	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

int pksv_present(void)
{
	struct cpuid_regs r = cpuid(PKSV_CPUID_LEAF_BASE, 0);

	return r.ebx == PKSV_CPUID_SIG_EBX && r.ecx == PKSV_CPUID_SIG_ECX;
}

/* ---- power-off ----------------------------------------------------- */

void power_off(EFI_SYSTEM_TABLE *st)
{
	const char *s = "Shutdown";

	com1_drain();
	/* Bochs: its shutdown port.  Elsewhere the port is unused. */
	for (; *s; s++)
		outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
	/* QEMU and real machines. */
	uefi_call_wrapper(st->RuntimeServices->ResetSystem, 4, EfiResetShutdown,
			  EFI_SUCCESS, 0, NULL);
	for (;;)
		__asm__ volatile("cli; hlt");
}
