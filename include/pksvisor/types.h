/* SPDX-License-Identifier: MIT */
/* Basic types for pksvisor code that also builds on the host for unit tests. */
#ifndef PKSVISOR_TYPES_H
#define PKSVISOR_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef unsigned long long u64;	/* so that %llx fits everywhere */
typedef long long s64;
typedef int32_t s32;

#define PAGE_SHIFT	12
#define PAGE_SIZE	4096ull
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define SZ_2M		(1ull << 21)
#define SZ_1G		(1ull << 30)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define BIT(n)		(1ull << (n))
#define ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((u64)(a) - 1))

#endif
