/* SPDX-License-Identifier: MIT */
/* Freestanding formatted output: %d %i %u %x %X %lx %llx %p %s %c %%, widths, '0' and '-'. */
#ifndef PKSVISOR_FORMAT_H
#define PKSVISOR_FORMAT_H

#include <stdarg.h>
#include <pksvisor/types.h>

int pksv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int pksv_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Freestanding helpers (no libc in the hypervisor) */
void *pksv_memset(void *dst, int c, size_t n);
void *pksv_memcpy(void *dst, const void *src, size_t n);
int pksv_memcmp(const void *a, const void *b, size_t n);
size_t pksv_strlen(const char *s);
int pksv_strncmp(const char *a, const char *b, size_t n);

#endif
