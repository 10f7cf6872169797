// SPDX-License-Identifier: MIT
/* Pure hypercall decoding, shared by the dispatcher and the unit tests. */
#include "hypercall.h"

int hypercall_decode(u64 rax, unsigned int cpl, u32 *nr)
{
	if (cpl != 0)
		return -1;
	if ((rax >> 32) != PKSV_HC_MAGIC)
		return -1;
	*nr = (u32)rax;
	return 0;
}
