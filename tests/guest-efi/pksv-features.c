// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-features.efi: drives the pksvisor features no other run exercises
 * (tests/harness/run-features.sh).  Its load options (pksvisor's args=)
 * are a list of actions, performed in order:
 *
 *   pks-off       CPUID.(7,0):ECX[31] must be clear (pksvisor pks=off)
 *   pk-fault      a stray write through a key-3 supervisor alias with
 *                 PKRS.AD|WD(3), the page registered with RANGE_REGISTER:
 *                 under pks=soft and pks_mode relaxed or silent it must
 *                 complete (no #PF, memory written), twice
 *   s3            write SLP_TYP=1|SLP_EN to PM1a_CNT at port 0xb004 (Bochs
 *                 PIIX4 PM base 0xb000; pksvisor gets pm1a_cnt=0xb004
 *                 slp_typ_s3=1): pksvisor must refuse it, the app goes on
 *   spin=N        PAUSE loops with a CPUID (a VM exit) every 10000, for N
 *                 seconds of TSC time
 *   stats         PKSV_HC_PRINT_STATS
 *   fatal-hook    the test build's fatal-dump hook (vmm/test_hooks.c)
 *   vmread-hook   the test build's failing-VMREAD hook (VMfailValid)
 *   vmclear-hook  the test build's VMCLEAR-then-VMREAD hook (VMfailInvalid)
 *   triple-fault  IDT limit 0, INT3: a triple fault
 *   reset         write 0x06 to port 0xcf9 (hard reset)
 *   bsp-init      an INIT IPI from the boot processor to itself (local APIC
 *                 ICR, xAPIC or x2APIC): pksvisor must reset the machine,
 *                 not park the BSP in wait-for-SIPI nor halt
 *   poweroff      power off (port 0x8900 / ResetSystem)
 *   return        return EFI_SUCCESS to whoever started the app
 * Without an ending action the app powers off.  Lines start with
 * "PKSV-FEATURES: "; checks are TAP lines "ok N - ...", with a trailing
 * plan printed before an action that ends the run.
 */
#include "pks-env.h"

#include <pksvisor/hypercall.h>

#define KEY		3
#define PM1A_CNT	0xb004
#define PM1_SLP_EN	(1u << 13)
#define PM1_SLP_TYP(t)	((u32)(t) << 10)

static EFI_SYSTEM_TABLE *g_st;

static inline void outw(u16 port, u16 v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (u64)hi << 32;
}

/* ---- the stray write (pksv-pv.c's page layout) ---------------------- */

enum { PG_IDT = PKS_PG_APP, PG_P, PG_COUNT };

static u64 g_pages;

static u64 page_pa(unsigned int pg)
{
	return g_pages + (u64)pg * 4096;
}

static void do_pk_fault(void)
{
	u64 *pt, base, alias, ident, m;
	unsigned int i;
	long long rax;

	if (pks_env_missing()) {
		tap_ok(0, "pk-fault: needs pksvisor with PKS and 4-level paging");
		return;
	}
	if (!pks_env_map_region(PG_COUNT, &g_pages, &base)) {
		tap_ok(0, "pk-fault: page tables");
		return;
	}
	pt = (u64 *)page_pa(PKS_PG_PT);
	pt[0] = page_pa(PG_P) | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(KEY);
	alias = base + 0x100;
	ident = page_pa(PG_P) + 0x100;
	*(volatile u64 *)ident = 0x1111;

	rax = pksv_hc(PKSV_HC_RANGE_REGISTER, page_pa(PG_P), 4096, KEY, NULL);
	tap_ok(rax == 0, "pk-fault: range_register(P, key %u) returns 0 (got %lld)", KEY, rax);
	pks_env_enter(page_pa(PKS_PG_PML4), (void *)page_pa(PG_IDT), CR0_WP);
	for (i = 1; i <= 2; i++) {
		/* The kernel's default for a keyed range: no access. */
		pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_AD(KEY) | PKRS_WD(KEY));
		pks_fault_clear();
		pks_probe_write((void *)alias, 0x2222 + i);
		m = *(volatile u64 *)ident;
		tap_ok(!pks_fault.hit && m == 0x2222 + i,
		       "pk-fault: stray write %u with pkrs=ad|wd(3) completed (%s vec %llu, memory 0x%llx)",
		       i, pks_fault.hit ? "fault" : "no fault", pks_fault.vector, m);
	}
	pks_probe_wrmsr(MSR_IA32_PKRS, 0);
	pks_env_leave();
	rax = pksv_hc(PKSV_HC_RANGE_UNREGISTER, page_pa(PG_P), 4096, 0, NULL);
	tap_ok(rax == 0, "pk-fault: range_unregister returns 0 (got %lld)", rax);
}

/* ---- the other actions ---------------------------------------------- */

static void do_pks_off(void)
{
	u32 ecx = cpuid(0, 0).eax >= 7 ? cpuid(7, 0).ecx : 0;

	tap_ok(pksv_present(), "pks-off: pksvisor present (CPUID 0x40000000)");
	tap_ok(!(ecx & (1u << 31)), "pks-off: CPUID.(7,0):ECX[31] (PKS) clear (ecx 0x%x)", ecx);
}

static void do_s3(void)
{
	say("PKSV-FEATURES: s3: writing SLP_TYP=1|SLP_EN to port 0x%x", PM1A_CNT);
	com1_drain();
	outw(PM1A_CNT, PM1_SLP_TYP(1) | PM1_SLP_EN);
	tap_ok(1, "s3: the guest continues after its S3 request");
}

static void do_spin(unsigned int secs)
{
	u64 t0 = rdtsc(), per_sec, n = 0;

	uefi_call_wrapper(g_st->BootServices->Stall, 1, 100000);	/* 100 ms */
	per_sec = (rdtsc() - t0) * 10;
	say("PKSV-FEATURES: spin: %u s, CPUID every 10000 PAUSEs (TSC %llu/s)", secs, per_sec);
	t0 = rdtsc();
	/* One exit per 10000 PAUSEs: pksvisor checks its interval at exits. */
	while (rdtsc() - t0 < per_sec * secs) {
		for (unsigned int i = 0; i < 10000; i++)
			__asm__ volatile("pause");
		(void)cpuid(0, 0);
		n++;
	}
	say("PKSV-FEATURES: spin: %llu CPUIDs", n);
}

static void do_triple_fault(void)
{
	struct dtr none = { 0, 0 };

	say("PKSV-FEATURES: triple-fault: IDT limit 0, INT3");
	com1_drain();
	__asm__ volatile("cli; lidt %0; int3" : : "m"(none) : "memory");
	say("PKSV-FEATURES: triple-fault: still running (wrong)");
}

#define MSR_APIC_BASE		0x1b
#define APIC_BASE_X2APIC	(1ull << 10)
#define MSR_X2APIC_ID		0x802
#define MSR_X2APIC_ICR		0x830
#define XAPIC_MMIO		0xfee00000ull
#define ICR_INIT_ASSERT		0x4500u	/* delivery mode INIT, level assert */


/* INIT to this CPU, by its APIC ID (the "self" shorthand cannot carry INIT). */
static void do_bsp_init(void)
{
	volatile u32 *apic = (volatile u32 *)XAPIC_MMIO;

	if (rdmsr(MSR_APIC_BASE) & APIC_BASE_X2APIC) {
		u64 id = rdmsr(MSR_X2APIC_ID);

		say("PKSV-FEATURES: bsp-init: x2APIC, INIT to APIC ID %llu", id);
		com1_drain();
		wrmsr(MSR_X2APIC_ICR, (id << 32) | ICR_INIT_ASSERT);
	} else {
		u32 id = apic[0x20 / 4] >> 24;

		say("PKSV-FEATURES: bsp-init: xAPIC, INIT to APIC ID %u", id);
		com1_drain();
		apic[0x310 / 4] = id << 24;
		apic[0x300 / 4] = ICR_INIT_ASSERT;
	}
	for (int i = 0; i < 1000; i++)
		__asm__ volatile("pause");
	say("PKSV-FEATURES: bsp-init: still running (wrong)");
}

/* The trailing TAP plan, once, before the run may end. */
static void plan(void)
{
	static int done;

	if (!done)
		say("1..%u", tap_num);
	done = 1;
}

/* ---- load options ---------------------------------------------------- */

static char g_args[512];

static void load_args(EFI_HANDLE image)
{
	EFI_GUID lip = LOADED_IMAGE_PROTOCOL;
	EFI_LOADED_IMAGE *li;
	unsigned int n = 0;

	if (EFI_ERROR(uefi_call_wrapper(g_st->BootServices->HandleProtocol, 3, image, &lip,
					(void **)&li)) || !li->LoadOptions)
		return;
	for (UINTN i = 0; i < li->LoadOptionsSize / 2 && n + 1 < sizeof(g_args); i++) {
		CHAR16 c = ((CHAR16 *)li->LoadOptions)[i];

		if (!c)
			break;
		g_args[n++] = c < 0x7f ? (char)c : '?';
	}
	g_args[n] = 0;
}

static int word_is(const char *w, unsigned int n, const char *s)
{
	unsigned int i;

	for (i = 0; i < n && s[i]; i++)
		if (w[i] != s[i])
			return 0;
	return i == n && !s[i];
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	const char *p;

	InitializeLib(image, st);
	g_st = st;
	pks_env_init(st, "PKSV-FEATURES: done", NULL);
	load_args(image);
	say("PKSV-FEATURES: start args=%s", g_args);

	for (p = g_args; *p;) {
		const char *w;
		unsigned int n;

		while (*p == ' ')
			p++;
		for (w = p; *p && *p != ' '; p++)
			;
		n = p - w;
		if (!n)
			break;
		if (word_is(w, n, "pks-off")) {
			do_pks_off();
		} else if (word_is(w, n, "pk-fault")) {
			do_pk_fault();
		} else if (word_is(w, n, "s3")) {
			do_s3();
		} else if (n > 5 && word_is(w, 5, "spin=")) {
			do_spin(w[5] - '0');
		} else if (word_is(w, n, "stats")) {
			pksv_hc(PKSV_HC_PRINT_STATS, 0, 0, 0, NULL);
		} else if (word_is(w, n, "fatal-hook")) {
			plan();
			say("PKSV-FEATURES: fatal-hook: CPUID 0x400000fe, ECX \"FATA\"");
			com1_drain();
			(void)cpuid(0x400000fe, 0x46415441);
			say("PKSV-FEATURES: fatal-hook: returned (not a test build?)");
		} else if (word_is(w, n, "vmread-hook")) {
			plan();
			say("PKSV-FEATURES: vmread-hook: CPUID 0x400000fe, ECX \"VMRD\"");
			com1_drain();
			(void)cpuid(0x400000fe, 0x564d5244);
			say("PKSV-FEATURES: vmread-hook: returned (not a test build?)");
		} else if (word_is(w, n, "vmclear-hook")) {
			plan();
			say("PKSV-FEATURES: vmclear-hook: CPUID 0x400000fe, ECX \"VMCL\"");
			com1_drain();
			(void)cpuid(0x400000fe, 0x564d434c);
			say("PKSV-FEATURES: vmclear-hook: returned (not a test build?)");
		} else if (word_is(w, n, "triple-fault")) {
			plan();
			do_triple_fault();
		} else if (word_is(w, n, "bsp-init")) {
			plan();
			do_bsp_init();
		} else if (word_is(w, n, "reset")) {
			plan();
			say("PKSV-FEATURES: reset: port 0xcf9 <- 0x06");
			com1_drain();
			outb(0xcf9, 0x06);
			say("PKSV-FEATURES: reset: still running (wrong)");
		} else if (word_is(w, n, "return")) {
			plan();
			say("PKSV-FEATURES: done (returning)");
			return EFI_SUCCESS;
		} else if (!word_is(w, n, "poweroff")) {
			tap_ok(0, "unknown action in load options");
		}
	}
	plan();
	say("PKSV-FEATURES: %u checks, %u failed", tap_num, tap_failed);
	say("PKSV-FEATURES: done");
	power_off(st);
	return EFI_SUCCESS;
}
