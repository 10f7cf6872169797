// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-pv.efi: the paravirtual PKS hypercalls (docs/hypercalls.md) seen
 * from a guest, under pksvisor pks=soft pks_mode=strict
 * (tests/harness/run-pksv-app.sh pv).
 *
 * A page P (allocated from the firmware, identity mapped with key 0) gets
 * a second, supervisor mapping with key 3 in a linear region of our own.
 * With P registered (RANGE_REGISTER), the cases check that PKRS.AD(3)
 * denies reads through that alias (#PF ec 0x21, CR2 = the alias), that
 * UNPROTECT_PAGE / PROTECT_PAGE open and close P alone, that GRANT / REVOKE
 * open and close key 3 for this vCPU, and that after LOCK_KEY(3) a WRMSR
 * of PKRS = 0 no longer opens key 3 (RDMSR still returns 0) while GRANT
 * still does, and that no fault mode (SET_MODE OFF, RELAXED, SILENT)
 * opens the locked key.
 * Last, protection-key faults on *user* pages (PKRU, CR4.PKE) belong to
 * the guest alone: a user alias of P with key 5, PKRU.AD(5), and a
 * supervisor read of it must fault with the CPU's #PF (ec 0x21, CR2 = the
 * user alias) exactly once in every pksvisor mode, STRICT, RELAXED, SILENT
 * and OFF (SDM Vol. 3A 4.6.2: PKRU governs user-mode addresses, PKRS
 * supervisor-mode ones; pksvisor virtualizes only PKRS).
 *
 * The machinery is pks-conformance.efi's (pks-env.c, pks-asm.S): a copy of
 * the firmware's PML4 with one extra entry, our own IDT whose #PF / #GP
 * handlers record the fault and resume after the probe instruction,
 * CR4.PKS set, interrupts off; the firmware's PKRS, CR0, CR3, CR4, IDT and
 * RFLAGS.IF are restored before the last lines are printed.
 * P is not freed: key 3 stays locked for the rest of the boot.
 */
#include "pks-env.h"

#include <pksvisor/hypercall.h>

#define EC_READ		0x21		/* P | PK */
#define EC_WRITE	0x23		/* P | W | PK */

#define KEY		3
#define UKEY		5		/* the user alias's key (PKRU) */

static EFI_SYSTEM_TABLE *g_st;

/* ---- page tables ---------------------------------------------------- */

/* After pks_env_map_region's tables (PKS_PG_*). */
enum { PG_IDT = PKS_PG_APP, PG_P, PG_COUNT };

#define OFF_DATA	0x128		/* not page aligned: CR2 is exact */

static u64 g_pages;			/* physical = linear base of PG_COUNT pages */
static u64 g_base;			/* linear base of our region */
static u64 g_p;				/* physical address of P */
static u64 g_alias;			/* keyed (key 3) supervisor alias of P + OFF_DATA */
static u64 g_ident;			/* P + OFF_DATA through the identity map (key 0) */
static u64 g_user;			/* user alias (U/S = 1 at every level, key 5) of P + OFF_DATA */

static u64 page_pa(unsigned int pg)
{
	return g_pages + (u64)pg * 4096;
}

static int setup_tables(void)
{
	u64 *pt;
	unsigned int idx;

	idx = pks_env_map_region(PG_COUNT, &g_pages, &g_base);
	if (!idx)
		return -1;
	pt = (u64 *)page_pa(PKS_PG_PT);

	g_p = page_pa(PG_P);
	/* The keyed alias: a supervisor leaf (U/S = 0) with key 3. */
	pt[0] = g_p | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(KEY);
	g_alias = g_base + OFF_DATA;
	/* The user alias: U/S = 1 in every entry (pks_env_add_region's too). */
	pt[1] = g_p | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D | PTE_KEY(UKEY);
	g_user = g_base + 4096 + OFF_DATA;
	g_ident = g_p + OFF_DATA;
	say("# P at 0x%llx, keyed alias at 0x%llx (PML4 slot %u)", g_p, g_base, idx);
	return 0;
}

/* ---- checks -------------------------------------------------------- */

#define PLAN	51

static void check_hc(const char *what, long long rax)
{
	tap_ok(rax == 0, "%s returns 0 (got %lld)", what, rax);
}

/* A read of the keyed alias that must fault with #PF 0x21, CR2 = alias. */
static void check_read_faults(const char *what)
{
	pks_fault_clear();
	(void)pks_probe_read((const void *)g_alias);
	tap_ok(pks_fault.hit && pks_fault.count == 1 && pks_fault.vector == X86_PF &&
	       pks_fault.ec == EC_READ && pks_fault.cr2 == g_alias,
	       "%s: keyed read faults (%s vec %llu ec 0x%llx cr2 %s)", what,
	       pks_fault.hit ? "fault" : "no fault", pks_fault.vector, pks_fault.ec,
	       pks_fault.cr2 == g_alias ? "=alias" : "!=alias");
}

/* A read of the keyed alias that must succeed and return want. */
static void check_read_ok(const char *what, u64 want)
{
	u64 v;

	pks_fault_clear();
	v = pks_probe_read((const void *)g_alias);
	tap_ok(!pks_fault.hit && v == want,
	       "%s: keyed read ok (%s vec %llu ec 0x%llx, read 0x%llx want 0x%llx)", what,
	       pks_fault.hit ? "fault" : "no fault", pks_fault.vector, pks_fault.ec, v, want);
}

/* A write through the keyed alias that must succeed (checked via identity). */
static void check_write_ok(const char *what, u64 val)
{
	u64 m;

	pks_fault_clear();
	pks_probe_write((void *)g_alias, val);
	m = *(volatile u64 *)g_ident;
	tap_ok(!pks_fault.hit && m == val,
	       "%s: keyed write ok (%s vec %llu ec 0x%llx, memory 0x%llx want 0x%llx)", what,
	       pks_fault.hit ? "fault" : "no fault", pks_fault.vector, pks_fault.ec, m, val);
}

/* A write through the keyed alias that must fault with #PF 0x23. */
static void check_write_faults(const char *what, u64 val)
{
	u64 before = *(volatile u64 *)g_ident, m;

	pks_fault_clear();
	pks_probe_write((void *)g_alias, val);
	m = *(volatile u64 *)g_ident;
	tap_ok(pks_fault.hit && pks_fault.count == 1 && pks_fault.vector == X86_PF &&
	       pks_fault.ec == EC_WRITE && pks_fault.cr2 == g_alias && m == before,
	       "%s: keyed write faults (%s vec %llu ec 0x%llx cr2 %s, memory %s)", what,
	       pks_fault.hit ? "fault" : "no fault", pks_fault.vector, pks_fault.ec,
	       pks_fault.cr2 == g_alias ? "=alias" : "!=alias",
	       m == before ? "unchanged" : "changed");
}

static void run_cases(void)
{
	const u64 gfn = g_p >> 12;
	u64 r;

	*(volatile u64 *)g_ident = 0x1111;

	/* 1. register P as key 3 */
	check_hc("range_register(P, 4096, key 3)",
		 pksv_hc(PKSV_HC_RANGE_REGISTER, g_p, 4096, KEY, NULL));

	/* 2. AD(3): the keyed alias faults */
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_AD(KEY));
	check_read_faults("pkrs=ad(3)");

	/* 3. UNPROTECT_PAGE / PROTECT_PAGE with AD(3) */
	check_hc("unprotect_page(P, read|write)",
		 pksv_hc(PKSV_HC_UNPROTECT_PAGE, gfn, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE, 0, NULL));
	check_read_ok("unprotected, pkrs=ad(3)", 0x1111);
	check_write_ok("unprotected, pkrs=ad(3)", 0x2222);
	check_hc("protect_page(P)", pksv_hc(PKSV_HC_PROTECT_PAGE, gfn, 0, 0, NULL));
	check_read_faults("protected again, pkrs=ad(3)");

	/* 4. GRANT(3, READ) with AD(3)|WD(3), then REVOKE */
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_AD(KEY) | PKRS_WD(KEY));
	check_hc("grant(3, read) with pkrs=ad|wd(3)",
		 pksv_hc(PKSV_HC_GRANT, KEY, PKSV_ACCESS_READ, 0, NULL));
	check_read_ok("granted read", 0x2222);
	check_write_faults("granted read", 0x3333);
	check_hc("revoke(3)", pksv_hc(PKSV_HC_REVOKE, KEY, 0, 0, NULL));
	check_read_faults("revoked");

	/*
	 * 4c. hw pass-through (docs/pks.md): in STRICT with nothing locked,
	 * granted or opened, PKRS writes need not exit, so pksvisor must take
	 * the guest's value from the VMCS before it re-applies PKRS (here for
	 * a GRANT of another key): key 3 stays as open as the guest left it,
	 * and RDMSR, intercepted while the grant holds, returns that value.
	 */
	pks_probe_wrmsr(MSR_IA32_PKRS, 0);
	check_hc("grant(5, read) with pkrs=0",
		 pksv_hc(PKSV_HC_GRANT, 5, PKSV_ACCESS_READ, 0, NULL));
	check_read_ok("pkrs=0, key 5 granted", 0x2222);
	pks_fault_clear();
	r = pks_probe_rdmsr(MSR_IA32_PKRS);
	tap_ok(!pks_fault.hit && r == 0, "key 5 granted: rdmsr pkrs returns the guest's 0 (got 0x%llx, %s)",
	       r, pks_fault.hit ? "fault" : "no fault");
	check_hc("revoke(5)", pksv_hc(PKSV_HC_REVOKE, 5, 0, 0, NULL));
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_AD(KEY));
	check_read_faults("revoked 5, pkrs=ad(3)");

	/*
	 * 4b. The fault modes on a real PK fault (docs/pks.md): RELAXED and
	 * SILENT open the key for this vCPU until its next PKRS write, OFF
	 * enforces nothing, STRICT delivers the #PF.  A mode change keeps an
	 * opening, so STRICT is checked after a fresh PKRS write.
	 */
	check_hc("set_mode(relaxed)", pksv_hc(PKSV_HC_SET_MODE, PKSV_MODE_RELAXED, 0, 0, NULL));
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_AD(KEY));
	check_read_ok("relaxed, pkrs=ad(3)", 0x2222);
	check_hc("set_mode(silent)", pksv_hc(PKSV_HC_SET_MODE, PKSV_MODE_SILENT, 0, 0, NULL));
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_AD(KEY));
	check_read_ok("silent, pkrs=ad(3)", 0x2222);
	check_hc("set_mode(off)", pksv_hc(PKSV_HC_SET_MODE, PKSV_MODE_OFF, 0, 0, NULL));
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_AD(KEY) | PKRS_WD(KEY));
	check_write_ok("off, pkrs=ad|wd(3)", 0x2222);
	check_hc("set_mode(strict)", pksv_hc(PKSV_HC_SET_MODE, PKSV_MODE_STRICT, 0, 0, NULL));
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_AD(KEY));
	check_read_faults("strict again, pkrs=ad(3)");

	/* 5. LOCK_KEY(3): PKRS = 0 no longer opens key 3, GRANT still does */
	check_hc("lock_key(3)", pksv_hc(PKSV_HC_LOCK_KEY, KEY, 0, 0, NULL));
	pks_fault_clear();
	pks_probe_wrmsr(MSR_IA32_PKRS, 0);
	tap_ok(!pks_fault.hit, "locked: wrmsr pkrs=0 (%s vec %llu)",
	       pks_fault.hit ? "fault" : "no fault", pks_fault.vector);
	check_read_faults("locked, pkrs=0");
	pks_fault_clear();
	r = pks_probe_rdmsr(MSR_IA32_PKRS);
	tap_ok(!pks_fault.hit && r == 0, "locked: rdmsr pkrs returns the guest's 0 (got 0x%llx, %s)",
	       r, pks_fault.hit ? "fault" : "no fault");
	check_hc("locked: grant(3, read|write)",
		 pksv_hc(PKSV_HC_GRANT, KEY, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE, 0, NULL));
	check_read_ok("locked, granted read|write", 0x2222);
	check_write_ok("locked, granted read|write", 0x4444);
	check_hc("locked: revoke(3)", pksv_hc(PKSV_HC_REVOKE, KEY, 0, 0, NULL));
	check_read_faults("locked, revoked");

	/*
	 * 6. No fault mode opens a locked key (docs/hypercalls.md SET_MODE):
	 * OFF enforces the locked keys only, RELAXED/SILENT never open them;
	 * GRANT still does, as in STRICT.
	 */
	check_hc("locked: set_mode(off)", pksv_hc(PKSV_HC_SET_MODE, PKSV_MODE_OFF, 0, 0, NULL));
	check_read_faults("locked, mode off");
	check_write_faults("locked, mode off", 0x5555);
	check_hc("locked, mode off: grant(3, read|write)",
		 pksv_hc(PKSV_HC_GRANT, KEY, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE, 0, NULL));
	check_read_ok("locked, mode off, granted", 0x4444);
	check_hc("locked, mode off: revoke(3)", pksv_hc(PKSV_HC_REVOKE, KEY, 0, 0, NULL));
	check_read_faults("locked, mode off, revoked");
	check_hc("locked: set_mode(relaxed)", pksv_hc(PKSV_HC_SET_MODE, PKSV_MODE_RELAXED, 0, 0, NULL));
	check_read_faults("locked, mode relaxed");
	check_hc("locked: set_mode(silent)", pksv_hc(PKSV_HC_SET_MODE, PKSV_MODE_SILENT, 0, 0, NULL));
	check_read_faults("locked, mode silent");
	check_hc("set_mode(strict)", pksv_hc(PKSV_HC_SET_MODE, PKSV_MODE_STRICT, 0, 0, NULL));
}

/* WRPKRU (0f 01 ef): PKRU = EAX; ECX and EDX must be 0. */
static inline void wrpkru(u32 v)
{
	__asm__ volatile(".byte 0x0f, 0x01, 0xef" : : "a"(v), "c"(0), "d"(0) : "memory");
}

/*
 * 6. A PKRU fault in every mode: pksvisor must hand it back unchanged.
 * With the hardware backend every #PF with PFEC.PK exits to pksvisor,
 * PKRU's included; treating one as a PKS fault would "open" PKRS for it in
 * RELAXED/SILENT/OFF and retry the access forever.
 */
static void check_pkru_modes(void)
{
	static const struct { u64 mode; const char *name, *skip; } modes[] = {
		{ PKSV_MODE_STRICT, "strict", "mode strict: pkru=ad(5) read of a user page" },
		{ PKSV_MODE_RELAXED, "relaxed", "mode relaxed: pkru=ad(5) read of a user page" },
		{ PKSV_MODE_SILENT, "silent", "mode silent: pkru=ad(5) read of a user page" },
		{ PKSV_MODE_OFF, "off", "mode off: pkru=ad(5) read of a user page" },
	};
	u64 cr4 = read_cr4();
	unsigned int i;

	write_cr4(cr4 | CR4_PKE);
	wrpkru(PKRS_AD(UKEY));		/* PKRU has PKRS's layout */
	/*
	 * Bochs 2.7 does not apply PKRU to supervisor-mode accesses (upstream
	 * Bochs and QEMU do, as the SDM says).  pksvisor never sees a PKRU
	 * fault that the CPU does not raise, so on such a CPU the cases test
	 * nothing: skip them, said so.  A STRICT probe decides (STRICT hands
	 * every PK fault to the guest, with or without the fix these cases
	 * check).
	 */
	(void)pksv_hc(PKSV_HC_SET_MODE, PKSV_MODE_STRICT, 0, 0, NULL);
	pks_fault_clear();
	(void)pks_probe_read((const void *)g_user);
	if (!pks_fault.hit) {
		for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			tap_skip(modes[i].skip, "CPU applies no PKRU to supervisor accesses (Bochs 2.7)");
		goto out;
	}
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		long long rax = pksv_hc(PKSV_HC_SET_MODE, modes[i].mode, 0, 0, NULL);

		pks_fault_clear();
		(void)pks_probe_read((const void *)g_user);
		tap_ok(rax == 0 && pks_fault.hit && pks_fault.count == 1 &&
		       pks_fault.vector == X86_PF && pks_fault.ec == EC_READ &&
		       pks_fault.cr2 == g_user,
		       "mode %s: pkru=ad(5) read of a user page faults as on the CPU (set_mode %lld, %s vec %llu ec 0x%llx cr2 %s, %u faults)",
		       modes[i].name, rax, pks_fault.hit ? "fault" : "no fault",
		       pks_fault.vector, pks_fault.ec,
		       pks_fault.cr2 == g_user ? "=user alias" : "!=user alias",
		       pks_fault.count);
	}
out:
	wrpkru(0);
	write_cr4(cr4);
	(void)pksv_hc(PKSV_HC_SET_MODE, PKSV_MODE_STRICT, 0, 0, NULL);
}

/* gnu-efi: efi_main is called through its own wrapper, so no EFIAPI. */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	const char *missing;
	u64 ver = 0;

	InitializeLib(image, st);
	g_st = st;
	pks_env_init(st, "PKSV-PV: done", NULL);

	say("PKSV-PV: start");
	say("1..%u", PLAN);
	if ((missing = pks_env_missing())) {
		say("Bail out! %s", missing);
	} else if (setup_tables() < 0) {
		say("Bail out! could not set up page tables");
	} else {
		u64 rbx = 0;
		long long rax = pksv_hc(PKSV_HC_VERSION, 0, 0, 0, &rbx);

		(void)rax;
		ver = rbx;
		say("# pksvisor ABI 0x%llx; SMEP, SMAP and PKE are kept off during the cases", ver);
		/* CR0.WP once, for all cases (pks-conformance sets it per case). */
		pks_env_enter(page_pa(PKS_PG_PML4), (void *)page_pa(PG_IDT), CR0_WP);
		run_cases();
		check_pkru_modes();
		pks_probe_wrmsr(MSR_IA32_PKRS, 0);
		check_hc("range_unregister(P, 4096)",
			 pksv_hc(PKSV_HC_RANGE_UNREGISTER, g_p, 4096, 0, NULL));
		pks_env_leave();
	}
	say("# %u checks, %u failed", tap_num, tap_failed);
	say("PKSV-PV: done");
	power_off(g_st);
	return EFI_SUCCESS;
}
