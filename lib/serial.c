// SPDX-License-Identifier: MIT
/*
 * Polled 16550 UART.  Polling (no interrupts) is what lets pksvisor print
 * from VMX root at any time, including after the firmware is gone.
 */
#include <stdarg.h>
#include <pksvisor/format.h>
#include <pksvisor/log.h>
#include <pksvisor/spinlock.h>
#include <pksvisor/x86.h>

#define UART_THR	0	/* transmit holding */
#define UART_IER	1
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_DLL	0
#define UART_DLM	1
#define LSR_THRE	0x20
#define LCR_DLAB	0x80

/* Written once at boot before anything else runs; read-only afterwards. */
static u16 uart_base = 0x3f8;
/* Serializes whole lines between CPUs. */
static struct spinlock log_lock;

void serial_init(u16 port)
{
	uart_base = port;
	outb(port + UART_IER, 0);		/* polled: no interrupts */
	outb(port + UART_LCR, LCR_DLAB);
	outb(port + UART_DLL, 1);		/* 115200 baud */
	outb(port + UART_DLM, 0);
	outb(port + UART_LCR, 0x03);		/* 8N1 */
	outb(port + UART_FCR, 0x07);		/* FIFO on, cleared */
	outb(port + UART_MCR, 0x03);		/* DTR, RTS */
}

static void serial_putc(char c)
{
	unsigned int spins = 0;

	/*
	 * Bounded wait: a missing UART must not hang the hypervisor (absent
	 * ports read 0xff, THRE set, so this only bounds a stuck one).  The
	 * bound is generous: under emulation a short one dropped the tails
	 * of long statistics lines while the FIFO drained.
	 */
	while (!(inb(uart_base + UART_LSR) & LSR_THRE) && ++spins < 20000000)
		cpu_relax();
	outb(uart_base + UART_THR, (u8)c);
}

#define LSR_TEMT	0x40	/* transmitter and FIFO empty */

void serial_drain(void)
{
	unsigned int spins = 0;

	while (!(inb(uart_base + UART_LSR) & LSR_TEMT) && ++spins < 20000000)
		cpu_relax();
}

void serial_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		serial_putc(s[i]);
}

void pksv_log(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	n = pksv_snprintf(line, sizeof(line), "pksvisor: ");
	va_start(ap, fmt);
	n += pksv_vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	line[n] = 0;

	spin_lock(&log_lock);
	serial_write(line, n);
	spin_unlock(&log_lock);
}

void pksv_log_line(const char *line)
{
	spin_lock(&log_lock);
	serial_write(line, pksv_strlen(line));
	serial_write("\n", 1);
	spin_unlock(&log_lock);
}

void pksv_halt(void)
{
	for (;;)
		asm volatile("cli; hlt");
}
