// SPDX-License-Identifier: MIT
/* Snapshot of the boot CPU's MTRRs (SDM Vol. 3A 12.11.1-12.11.3). */
#include <pksvisor/format.h>
#include <pksvisor/mtrr.h>
#include <pksvisor/x86.h>

void mtrr_read(struct mtrr_state *m)
{
	static const u32 fixed_msrs[11] = {
		MSR_IA32_MTRR_FIX64K_00000, MSR_IA32_MTRR_FIX16K_80000,
		MSR_IA32_MTRR_FIX16K_A0000, 0x268, 0x269, 0x26a, 0x26b,
		0x26c, 0x26d, 0x26e, 0x26f,
	};
	u32 a, b, c, d;
	unsigned int nvar;

	pksv_memset(m, 0, sizeof(*m));
	cpuid_count(1, 0, &a, &b, &c, &d);
	if (!(d & BIT(12)))		/* no MTRRs: everything UC */
		return;
	cpuid_count(0x80000008, 0, &a, &b, &c, &d);
	m->phys_bits = a & 0xff;
	m->cap = rdmsr(MSR_IA32_MTRRCAP);
	m->def_type = rdmsr(MSR_IA32_MTRR_DEF_TYPE);
	if (m->cap & BIT(8))
		for (unsigned int i = 0; i < 11; i++)
			m->fixed[i] = rdmsr(fixed_msrs[i]);
	nvar = m->cap & 0xff;
	if (nvar > MTRR_MAX_VAR)
		nvar = MTRR_MAX_VAR;
	for (unsigned int i = 0; i < nvar; i++) {
		m->var_base[i] = rdmsr(MSR_IA32_MTRR_PHYSBASE0 + 2 * i);
		m->var_mask[i] = rdmsr(MSR_IA32_MTRR_PHYSBASE0 + 2 * i + 1);
	}
}
