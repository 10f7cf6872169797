/* SPDX-License-Identifier: MIT */
/*
 * The one lock pksvisor has: a test-and-test-and-set spinlock.  Exits
 * never sleep and critical sections are short (a keymap update, a page
 * from the pool, one log line), so spinning is cheaper than anything
 * else.  The acquire/release orderings make the protected writes visible
 * to the next holder on another CPU (SDM Vol. 3A 9.2.3: x86 stores are
 * not reordered with other stores, the compiler must not reorder either).
 *
 * Rule of the tree: every structure shared between CPUs names the lock
 * that guards it next to its definition; per-vCPU state (struct vcpu,
 * struct pks_vcpu) is touched only by its own CPU and takes none.
 */
#ifndef PKSVISOR_SPINLOCK_H
#define PKSVISOR_SPINLOCK_H

#include <pksvisor/types.h>

struct spinlock {
	volatile u32 locked;
};

static inline void spin_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (l->locked)
			asm volatile("pause");
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif
