// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-shoot.efi: the stale-TLB window test (issue 12, items 4 and 7).  A
 * page protected on one vCPU must be unwritable from every other vCPU the
 * moment the hypercall that protected it returns.  Run as pksvisor's
 * next= image on 2 or more CPUs (tests/harness/run-smp-bochs.sh shoot N),
 * pks=soft pks_mode=strict.
 *
 * Page P gets a supervisor alias with key 3 (as in pksv-pv.efi) and is
 * registered with pksvisor as key 3.  One AP (EFI MP services,
 * StartupThisAP without waiting) enters the PKS test state (pks-env.c:
 * own CR3, IDT with #PF handler, CR4.PKS) with PKRS = WD(3), then, for
 * each of ROUNDS rounds:
 *   BSP: UNPROTECT_PAGE(P)              AP: writes P through the alias
 *        -> "round r"                       until one write succeeds
 *                                           (its TLB now holds P writable)
 *        waits for "ready r"                -> "ready r", then hammers:
 *        PROTECT_PAGE(P)                    load the flag, write, repeat
 *        -> "protected r" (the flag)
 * The AP's loop takes no VM exit: only the shootdown can make it drop its
 * TLB entry.  Every write the AP starts after it saw the flag must fault
 * (#PF, PK | W | P, CR2 = the alias); a successful one is a stale write:
 * the protection had not reached this CPU when PROTECT returned.  After
 * STALE_LIMIT stale writes in a round the AP gives up on the round and
 * executes CPUID (an exit: pksvisor's generation check then invalidates),
 * so that one broken round does not hide the next.
 *
 * TAP, then "PKSV-SHOOT: rounds=.. faults_after_flag=.. faults_before_flag=..
 * writes_before_flag=.. stale_writes=.. stale_rounds=..", then power-off
 * (pksvisor prints every vCPU's statistics: shootdowns_sent/_taken).
 */
#include "pks-env.h"

#include <pksvisor/efi_mp.h>
#include <pksvisor/hypercall.h>

#define KEY		3
#define EC_WRITE	0x23		/* P | W | PK */
#define ROUNDS		200
#define STALE_LIMIT	2000		/* stale writes before a round is given up */
#define OPEN_TRIES	1000		/* writes to P while it is unprotected */
#define OFF_DATA	0x128

static EFI_SYSTEM_TABLE *g_st;

/* After pks_env_map_region's tables: the AP's IDT and P. */
enum { PG_IDT = PKS_PG_APP, PG_P, PG_COUNT };

static u64 g_pages, g_base, g_p, g_alias;

/*
 * Shared by the BSP and the AP.  The handshake words are written by one
 * side each; the counters by the AP only.
 */
static struct shared {
	volatile u32 round;		/* BSP: P unprotected for this round */
	volatile u32 protected_round;	/* BSP: PROTECT of this round returned */
	volatile u32 ready;		/* AP: wrote P in this round */
	volatile u32 done;		/* AP: this round is over */
	volatile u32 quit;		/* BSP: stop now (a wait timed out) */
	volatile u32 entered, left;	/* AP: in the PKS state / back out */
	volatile u64 faults_after_flag;	/* the wanted outcome, one per round */
	volatile u64 faults_before_flag;	/* protection arrived before the flag */
	volatile u64 writes_before_flag;
	volatile u64 stale_writes;	/* writes that succeeded after the flag */
	volatile u64 stale_rounds;
	volatile u64 open_failures;	/* rounds where P never became writable */
	volatile u64 bad_faults;	/* a fault other than #PF 0x23 at the alias */
	volatile u64 last_bad_vector, last_bad_ec, last_bad_cr2;
} g_sh;

static void ap_check_fault(void)
{
	if (pks_fault.vector == X86_PF && pks_fault.ec == EC_WRITE &&
	    pks_fault.cr2 == g_alias && pks_fault.count == 1)
		return;
	g_sh.bad_faults++;
	g_sh.last_bad_vector = pks_fault.vector;
	g_sh.last_bad_ec = pks_fault.ec;
	g_sh.last_bad_cr2 = pks_fault.cr2;
}

/* Write P until one write succeeds (P is unprotected, the TLB may lag). */
static void ap_open_phase(u32 r)
{
	for (unsigned int i = 0; i < OPEN_TRIES; i++) {
		pks_fault_clear();
		pks_probe_write((void *)g_alias, r);
		if (!pks_fault.hit)
			return;
		ap_check_fault();
	}
	g_sh.open_failures++;
}

static void ap_hammer(u32 r)
{
	u64 stale = 0;

	for (;;) {
		/* The flag is loaded before the write starts (x86: in order). */
		u32 seen = __atomic_load_n(&g_sh.protected_round, __ATOMIC_ACQUIRE) == r;

		pks_fault_clear();
		pks_probe_write((void *)g_alias, ((u64)r << 32) | (u32)stale);
		if (pks_fault.hit) {
			ap_check_fault();
			if (seen)
				g_sh.faults_after_flag++;
			else
				g_sh.faults_before_flag++;
			return;
		}
		if (!seen) {
			g_sh.writes_before_flag++;
			continue;
		}
		g_sh.stale_writes++;
		if (++stale == STALE_LIMIT) {
			g_sh.stale_rounds++;
			/* An exit: pksvisor's entry check invalidates the TLB. */
			(void)cpuid(0, 0);
			return;
		}
	}
}

static void EFIAPI ap_main(void *arg)
{
	(void)arg;
	pks_env_enter(g_pages + PKS_PG_PML4 * 4096ull, (void *)(g_pages + PG_IDT * 4096ull), 0);
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_WD(KEY));
	__atomic_store_n(&g_sh.entered, 1, __ATOMIC_RELEASE);
	for (u32 r = 1; r <= ROUNDS; r++) {
		while (__atomic_load_n(&g_sh.round, __ATOMIC_ACQUIRE) != r)
			if (g_sh.quit)
				goto out;
		ap_open_phase(r);
		__atomic_store_n(&g_sh.ready, r, __ATOMIC_RELEASE);
		ap_hammer(r);
		__atomic_store_n(&g_sh.done, r, __ATOMIC_RELEASE);
	}
out:
	pks_env_leave();
	__atomic_store_n(&g_sh.left, 1, __ATOMIC_RELEASE);
}

/* Spin until *word == want; 0, or -1 after the bound (then quit). */
static int bsp_wait(volatile u32 *word, u32 want, const char *what)
{
	for (u64 i = 0; i < 200000000ull; i++) {
		if (__atomic_load_n(word, __ATOMIC_ACQUIRE) == want)
			return 0;
		__asm__ volatile("pause");
	}
	say("# timed out waiting for the AP: %s %u (at %u)", what, want, *word);
	g_sh.quit = 1;
	return -1;
}

static int setup_tables(void)
{
	u64 *pt;

	if (!pks_env_map_region(PG_COUNT, &g_pages, &g_base))
		return -1;
	pt = (u64 *)(g_pages + PKS_PG_PT * 4096ull);
	g_p = g_pages + PG_P * 4096ull;
	pt[0] = g_p | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(KEY);
	g_alias = g_base + OFF_DATA;
	say("# P at 0x%llx, keyed alias at 0x%llx", g_p, g_alias);
	return 0;
}

/* The first AP MP services knows; -1 when there is none. */
static long long pick_ap(struct efi_mp_services *mp)
{
	UINTN count = 0, enabled = 0, self = 0;

	if (EFI_ERROR(uefi_call_wrapper(mp->get_number_of_processors, 3, mp, &count, &enabled)) ||
	    EFI_ERROR(uefi_call_wrapper(mp->who_am_i, 2, mp, &self)))
		return -1;
	for (UINTN cpu = 0; cpu < count; cpu++)
		if (cpu != self)
			return (long long)cpu;
	return -1;
}

static void run_rounds(void)
{
	const u64 gfn = g_p >> 12;
	long long rc_un = 0, rc_pr = 0;
	u32 r;

	for (r = 1; r <= ROUNDS; r++) {
		rc_un = pksv_hc(PKSV_HC_UNPROTECT_PAGE, gfn, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE,
				0, NULL);
		if (rc_un)
			break;
		__atomic_store_n(&g_sh.round, r, __ATOMIC_RELEASE);
		if (bsp_wait(&g_sh.ready, r, "ready"))
			break;
		rc_pr = pksv_hc(PKSV_HC_PROTECT_PAGE, gfn, 0, 0, NULL);
		/* The flag: from here on no write of the AP may succeed. */
		__atomic_store_n(&g_sh.protected_round, r, __ATOMIC_RELEASE);
		if (rc_pr || bsp_wait(&g_sh.done, r, "done"))
			break;
	}
	if (r <= ROUNDS)
		g_sh.quit = 1;
	tap_ok(r > ROUNDS, "%u rounds of UNPROTECT / PROTECT with the AP writing (stopped at %u: unprotect %lld, protect %lld)",
	       ROUNDS, r > ROUNDS ? ROUNDS : r, rc_un, rc_pr);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	EFI_GUID mp_guid = EFI_MP_SERVICES_PROTOCOL_GUID;
	struct efi_mp_services *mp = NULL;
	EFI_EVENT ev = NULL;
	const char *missing;
	long long ap = -1;
	EFI_STATUS s;

	g_st = st;
	InitializeLib(image, st);
	pks_env_init(st, "PKSV-SHOOT: done", NULL);
	say("PKSV-SHOOT: start");
	missing = pks_env_missing();
	if (missing) {
		say("Bail out! %s", missing);
		say("PKSV-SHOOT: done");
		power_off(st);
	}
	if (EFI_ERROR(uefi_call_wrapper(st->BootServices->LocateProtocol, 3, &mp_guid, NULL,
					(void **)&mp)) || !mp || (ap = pick_ap(mp)) < 0) {
		say("Bail out! no AP to run on (EFI_MP_SERVICES_PROTOCOL)");
		say("PKSV-SHOOT: done");
		power_off(st);
	}
	if (setup_tables()) {
		say("Bail out! page tables");
		say("PKSV-SHOOT: done");
		power_off(st);
	}
	tap_ok(pksv_hc(PKSV_HC_RANGE_REGISTER, g_p, 4096, KEY, NULL) == 0,
	       "range_register(P, 4096, key %u)", KEY);
	s = uefi_call_wrapper(st->BootServices->CreateEvent, 5, 0, 0, NULL, NULL, &ev);
	if (!EFI_ERROR(s))
		s = uefi_call_wrapper(mp->startup_this_ap, 7, mp, ap_main, (UINTN)ap, ev, 0,
				      NULL, NULL);
	tap_ok(!EFI_ERROR(s), "StartupThisAP(cpu %lld) without waiting (EFI status 0x%llx)", ap,
	       (u64)s);
	if (!EFI_ERROR(s) && !bsp_wait(&g_sh.entered, 1, "entered"))
		run_rounds();
	else
		g_sh.quit = 1;
	if (!EFI_ERROR(s))
		bsp_wait(&g_sh.left, 1, "left");
	say("PKSV-SHOOT: rounds=%u faults_after_flag=%llu faults_before_flag=%llu writes_before_flag=%llu stale_writes=%llu stale_rounds=%llu open_failures=%llu bad_faults=%llu",
	    g_sh.done, g_sh.faults_after_flag, g_sh.faults_before_flag, g_sh.writes_before_flag,
	    g_sh.stale_writes, g_sh.stale_rounds, g_sh.open_failures, g_sh.bad_faults);
	tap_ok(g_sh.stale_writes == 0 && g_sh.stale_rounds == 0,
	       "no AP write succeeded after PROTECT returned (stale writes %llu in %llu rounds)",
	       g_sh.stale_writes, g_sh.stale_rounds);
	tap_ok(g_sh.done == ROUNDS && g_sh.faults_after_flag + g_sh.faults_before_flag == ROUNDS,
	       "every round ended in a PK fault on the AP (%llu after the flag, %llu before it)",
	       g_sh.faults_after_flag, g_sh.faults_before_flag);
	tap_ok(g_sh.open_failures == 0, "the AP could write P in every unprotected phase (%llu rounds could not)",
	       g_sh.open_failures);
	tap_ok(g_sh.bad_faults == 0,
	       "every AP fault was #PF ec 0x%x at the alias (%llu others; last vector %llu ec 0x%llx cr2 0x%llx)",
	       EC_WRITE, g_sh.bad_faults, g_sh.last_bad_vector, g_sh.last_bad_ec, g_sh.last_bad_cr2);
	(void)pksv_hc(PKSV_HC_UNPROTECT_PAGE, g_p >> 12, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE, 0, NULL);
	say("1..%u", tap_num);
	say("PKSV-SHOOT: done, %u of %u failed", tap_failed, tap_num);
	power_off(st);
}
