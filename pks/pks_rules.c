// SPDX-License-Identifier: MIT
/*
 * PKS access rules: what hardware PKS decides for one access, the #PF error
 * code it delivers, the EPT permissions that emulate a PKRS value, and the
 * choice of backend.  Pure code, shared by the hypervisor and the host unit
 * tests; the soft backend relies on it to give the guest exactly what a CPU
 * with PKS would.
 */
#include <pksvisor/pks.h>
#include <pksvisor/ept.h>

/*
 * SDM Vol. 3A 4.6.2 "Protection Keys": with CR4.PKS = 1 and 4- or 5-level
 * paging, every supervisor-mode data access to a supervisor-mode linear
 * address is checked against IA32_PKRS for the key in bits 62:59 of the
 * leaf entry.  User-mode addresses are PKU's business (PKRU), instruction
 * fetches are never subject to protection keys.
 *
 * Hardware checks key 0 like any other key.  pksvisor deliberately treats
 * key 0 as unrestricted: it is the key of every page nobody tagged, the
 * soft backend could only honour AD/WD(0) by write- or read-protecting all
 * of guest memory, and Linux never restricts key 0 (its default PKRS
 * leaves bits 1:0 clear).  A guest that sets AD/WD for key 0 is the one
 * place where this emulation differs from the architecture.
 */
bool pks_denies(const struct pks_access *a)
{
	u32 bits;

	if (!a->cr4_pks || !a->long_paging)
		return false;
	if (a->fetch || a->user_mode || !a->supervisor_page)
		return false;
	if (a->key == 0 || a->key >= PKS_NR_KEYS)
		return false;

	bits = a->pkrs;
	/* AD: no data access at all. */
	if (bits & PKRS_AD(a->key))
		return true;
	/*
	 * WD: supervisor writes are refused only when CR0.WP = 1, exactly
	 * like the R/W bit for supervisor accesses (SDM Vol. 3A 4.6.1).
	 */
	if (a->write && a->cr0_wp && (bits & PKRS_WD(a->key)))
		return true;
	return false;
}

/*
 * SDM Vol. 3A 4.7 "Page-Fault Exceptions": a protection-key violation is a
 * fault on a present translation (P = 1), W/R reflects the access, U/S = 0
 * because PKS only ever checks supervisor-mode accesses, I = 0 because
 * fetches are never checked, and PK (bit 5) is set.
 */
u32 pks_pf_error_code(const struct pks_access *a)
{
	u32 ec = PFEC_P | PFEC_PK;

	if (a->write)
		ec |= PFEC_W;
	return ec;
}

/*
 * SDM Vol. 3A 4.6.2: PKRU governs user-mode addresses (U/S = 1 in every
 * paging-structure entry), PKRS supervisor-mode addresses, and PKRS only
 * for supervisor-mode accesses; both set PFEC.PK (4.7).  pksvisor
 * virtualizes PKRS alone, so a PKRU fault must reach the guest as the CPU
 * raised it: "opening" a PKRS key for it would retry the access forever.
 * PFEC.U = 1 with PK on a supervisor page is a user-mode access that an
 * emulator checking keys before U/S reports as PK (Bochs); it is a U/S
 * fault, never a reason to open a PKRS key for CPL 3.
 */
bool pks_hw_fault_is_pkrs(u32 pfec, bool walk_ok, bool supervisor_page)
{
	if (!(pfec & PFEC_PK) || (pfec & PFEC_U))
		return false;
	return walk_ok && supervisor_page;
}

/*
 * The soft backend runs the guest on an EPT view per PKRS value.  A page
 * whose supervisor mappings carry key k gets, in the view of pkrs:
 *  - AD(k): execute only -- every data access must exit so that it can be
 *    turned into a #PF(PK); fetches are never key-checked so X stays;
 *  - WD(k) with CR0.WP: read + execute, writes exit;
 *  - otherwise everything.
 * Key 0 pages are never restricted (see pks_denies()).
 */
u64 pks_view_perms(u32 pkrs, bool cr0_wp, unsigned int key)
{
	if (key == 0 || key >= PKS_NR_KEYS)
		return EPT_RWX;
	if (pkrs & PKRS_AD(key))
		return EPT_EXEC;
	if (cr0_wp && (pkrs & PKRS_WD(key)))
		return EPT_READ | EPT_EXEC;
	return EPT_RWX;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
	size_t i;

	if (!err || !errlen)
		return;
	for (i = 0; i + 1 < errlen && msg[i]; i++)
		err[i] = msg[i];
	err[i] = '\0';
}

/*
 * The hardware backend needs both the CPU feature (CPUID.(7,0):ECX[31]) and
 * the VMX controls that load IA32_PKRS on VM entry and exit (SDM Vol. 3C
 * 25.7.1/25.8.1 "load IA32_PKRS"); without the latter the guest's PKRS
 * would leak into the host.  The soft backend only needs EPT.
 */
int pks_select_backend(enum pks_request request, bool cpu_pks,
		       bool vmx_pks_controls, bool ept, char *err, size_t errlen)
{
	set_err(err, errlen, "");

	switch (request) {
	case PKS_REQ_AUTO:
		if (cpu_pks && vmx_pks_controls)
			return PKS_BACKEND_HW;
		if (ept)
			return PKS_BACKEND_SOFT;
		return PKS_BACKEND_NONE;
	case PKS_REQ_HW:
		if (!cpu_pks) {
			set_err(err, errlen,
				"pks=hw: CPU lacks PKS (CPUID.(7,0):ECX[31])");
			return -1;
		}
		if (!vmx_pks_controls) {
			set_err(err, errlen,
				"pks=hw: VMX lacks the load-IA32_PKRS entry/exit controls");
			return -1;
		}
		return PKS_BACKEND_HW;
	case PKS_REQ_SOFT:
		if (!ept) {
			set_err(err, errlen, "pks=soft: EPT not available");
			return -1;
		}
		return PKS_BACKEND_SOFT;
	case PKS_REQ_OFF:
		return PKS_BACKEND_NONE;
	}
	set_err(err, errlen, "pks: unknown request");
	return -1;
}

const char *pks_backend_name(int backend)
{
	switch (backend) {
	case PKS_BACKEND_NONE:
		return "off";
	case PKS_BACKEND_HW:
		return "hw";
	case PKS_BACKEND_SOFT:
		return "soft";
	}
	return "?";
}
