/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * common.h: what the EFI guest test programs (pksvisor-test.efi,
 * pks-conformance.efi, pksv-bench.efi) share: polled COM1 output, one-line
 * formatting, TAP/KTAP result lines, MSRs, CPUID, pksvisor detection and
 * power-off.  Linked into each app from common.c.
 *
 * Output goes straight to COM1 (polled 16550 at 0x3f8; port I/O, safe at
 * any time, even with the firmware's IDT or page tables replaced), not to
 * ConOut, which OVMF also mirrors to the serial port.
 */
#ifndef PKSV_GUEST_EFI_COMMON_H
#define PKSV_GUEST_EFI_COMMON_H

#include <efi.h>
#include <efilib.h>
#include <stdarg.h>
#include <pksvisor/hypercall.h>

/* All of this is linked into the app itself: no GOT or PLT indirection. */
#pragma GCC visibility push(hidden)

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

/* ---- port I/O ------------------------------------------------------ */

#define BOCHS_SHUTDOWN_PORT 0x8900

static inline void outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* ---- MSRs ---------------------------------------------------------- */

/*
 * The apps cannot include <pksvisor/x86.h> (its CR accessors clash with
 * pks-env.h's), so the MSR accessors they share live here, with the same
 * names and meaning as pksvisor's.  RDMSR/WRMSR of an MSR the CPU lacks
 * raises #GP: callers use only architectural ones.
 */
static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

/* ---- COM1 ---------------------------------------------------------- */

void com1_init(void);			/* only if it looks unconfigured */
void com1_putc(char c);
void com1_puts(const char *s);
void com1_drain(void);			/* wait for the transmitter to empty */

/* ---- one-line formatting ------------------------------------------- */

/* A line being built; s is '\0'-terminated only after buf_fmt(). */
struct buf {
	char s[256];
	unsigned int n;
};

/*
 * %s %c %d %u %x with optional l/ll and a zero-padded width (%08x), and
 * %%; anything else prints '?'.  Output past sizeof(s) - 3 is dropped.
 */
void buf_putc(struct buf *b, char c);
void buf_vfmt(struct buf *b, const char *fmt, va_list ap);
/* Append to b and keep it '\0'-terminated. */
void buf_fmt(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print one whole line on COM1 (the "\r\n" is added here). */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- TAP / KTAP result lines --------------------------------------- */

extern unsigned int tap_num;		/* number of the last result line */
extern unsigned int tap_failed;

/* "ok N - <fmt>" or "not ok N - <fmt>"; counts the failure. */
void tap_ok(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "ok N - <name> # SKIP <reason>". */
void tap_skip(const char *name, const char *reason);

/* ---- CPUID, pksvisor ----------------------------------------------- */

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

struct cpuid_regs cpuid(u32 leaf, u32 subleaf);

/* pksvisor's signature at CPUID 0x40000000 (EBX, ECX): VMCALL is safe. */
int pksv_present(void);

/* ---- power-off ----------------------------------------------------- */

/*
 * Drain COM1, write "Shutdown" to the Bochs shutdown port (OVMF there has
 * no ACPI, so ResetSystem would only halt; elsewhere the port is unused),
 * then ResetSystem(EfiResetShutdown) for QEMU and real machines.
 */
void power_off(EFI_SYSTEM_TABLE *st) __attribute__((noreturn));

#pragma GCC visibility pop

/*
 * VMCALL into pksvisor with up to three arguments in RBX, RCX, RDX
 * (include/pksvisor/hypercall.h); returns RAX (0 or -PKSV_E*) and RBX in
 * *out when out is not NULL.
 */
static inline long long pksv_hc(u32 nr, u64 a0, u64 a1, u64 a2, u64 *out)
{
	u64 rax = PKSV_HC_RAX(nr), rbx = a0, rcx = a1, rdx = a2;

	__asm__ volatile("vmcall" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx)
			 : : "memory");
	if (out)
		*out = rbx;
	return (long long)rax;
}

#endif
