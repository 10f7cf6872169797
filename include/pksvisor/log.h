/* SPDX-License-Identifier: MIT */
/* Serial console (polled 16550) and the pksvisor log. */
#ifndef PKSVISOR_LOG_H
#define PKSVISOR_LOG_H

#include <pksvisor/types.h>

/* Program the UART at port (115200 8N1).  Safe to call again. */
void serial_init(u16 port);
void serial_write(const char *s, size_t len);
/* Wait until everything written has left the UART (before power-off). */
void serial_drain(void);

/*
 * One log line, prefixed "pksvisor: " and terminated by a newline.  Lines
 * from different CPUs never interleave (log lock).  Works in VMX root and
 * after ExitBootServices: it touches only the UART.
 */
void pksv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A line already formatted (prefix included), written under the same lock:
 * for the statistics table, whose lines a raw serial_write from two CPUs
 * printing at once interleaved character by character.
 */
void pksv_log_line(const char *line);

/* Stop this CPU for good after a fatal error (interrupts off, hlt loop). */
void __attribute__((noreturn)) pksv_halt(void);

#endif
