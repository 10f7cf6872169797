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
 * The hw twin (pks=hw, upstream Bochs sapphire_rapids: real PKS, PKRS
 * passed through or held in the VMCS): after the PROTECT rounds, one round
 * per key k = 1..15: P has an alias with key k, the AP sets PKRS = 0 (k
 * open) and writes it, the boot CPU calls LOCK_KEY(k) and raises the
 * flag; the AP's next write must take the PK #PF, because the lock clamps
 * the PKRS every vCPU runs with (docs/hypercalls.md).  Without the
 * shootdown the AP keeps the PKRS value its VMCS held.  Locks cannot be
 * undone, hence 15 rounds, one key each.
 *
 * The pinned twin (pks=soft with VMFUNC; review2 finding 1): key 3 is
 * locked, the boot CPU pins the view for PKRS = WD(3) (VIEW_INDEX) and the
 * AP switches to it with VMFUNC (no exit) before every write to P; the
 * boot CPU meanwhile calls LOCK_KEY(3) PINNED_LOCKS times, and each call
 * rebuilds every pinned view.  Every AP write must fault: one that lands
 * walked a view under construction (a rebuild in place clones the base
 * EPT, RWX, before it narrows it).
 *
 * TAP, then "PKSV-SHOOT: protect rounds=.. faults_after_flag=..
 * faults_before_flag=.. writes_before_flag=.. stale_writes=..
 * stale_rounds=.." (and "PKSV-SHOOT: lock rounds=..." under hw,
 * "PKSV-SHOOT: pinned lock_calls=.. writes=.. stale_writes=.." under
 * soft), then
 * power-off (pksvisor prints every vCPU's statistics:
 * shootdowns_sent/_taken).
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

#define LOCK_KEYS	15		/* hw phase: keys 1..15, one round each */

/* After pks_env_map_region's tables: the AP's IDT and P. */
enum { PG_IDT = PKS_PG_APP, PG_P, PG_COUNT };

static u64 g_pages, g_base, g_p;

/* PT entry 0 maps P with key 3; entry k (1..15) maps P with key k. */
static u64 alias_of_key(unsigned int k)
{
	return g_base + (k == KEY ? 0 : (u64)k * 4096) + OFF_DATA;
}

/*
 * One phase of rounds (PROTECT under soft, LOCK_KEY under hw), shared by
 * the BSP and the AP.  The handshake words are written by one side each;
 * the counters by the AP only.
 */
struct phase {
	const char *name;
	volatile u32 round;		/* BSP: P writable for this round */
	volatile u32 flag;		/* BSP: the closing hypercall of this round returned */
	volatile u32 ready;		/* AP: wrote P in this round */
	volatile u32 done;		/* AP: this round is over */
	volatile u64 faults_after_flag;	/* the wanted outcome, one per round */
	volatile u64 faults_before_flag;	/* protection arrived before the flag */
	volatile u64 writes_before_flag;
	volatile u64 stale_writes;	/* writes that succeeded after the flag */
	volatile u64 stale_rounds;
	volatile u64 open_failures;	/* rounds where P never became writable */
	volatile u64 bad_faults;	/* a fault other than #PF 0x23 at the alias */
	volatile u64 last_bad_vector, last_bad_ec, last_bad_cr2;
};

static struct phase g_protect = { .name = "protect" }, g_lock = { .name = "lock" };

#define PINNED_LOCKS	60		/* LOCK_KEY calls while the AP writes */
/* The pinned phase (soft): BSP writes go/stop/index, the AP the rest. */
static struct {
	volatile u32 go, stop;		/* BSP: start / end the AP's writes */
	volatile u64 index;		/* AP: VIEW_INDEX(WD(KEY)) */
	volatile long long index_rc;
	volatile u32 ready, done;	/* AP: first write faulted / loop over */
	volatile u64 lock_calls;	/* BSP: LOCK_KEY calls made meanwhile */
	volatile u64 writes, faults;	/* AP */
	volatile u64 stale_writes;	/* AP: writes that landed (must be 0) */
	volatile u64 bad_faults;
} g_pin;
static volatile u32 g_pinned_phase;	/* BSP: soft backend, run it */
static volatile u32 g_quit;		/* BSP: stop now (a wait timed out) */
static volatile u32 g_entered, g_left;	/* AP: in the PKS state / back out */
static volatile u32 g_lock_rounds;	/* BSP: hw backend, run the lock phase */

static void ap_check_fault(struct phase *ph, u64 alias)
{
	if (pks_fault.vector == X86_PF && pks_fault.ec == EC_WRITE &&
	    pks_fault.cr2 == alias && pks_fault.count == 1)
		return;
	ph->bad_faults++;
	ph->last_bad_vector = pks_fault.vector;
	ph->last_bad_ec = pks_fault.ec;
	ph->last_bad_cr2 = pks_fault.cr2;
}

/* Write until one write succeeds (P is open again, the TLB may lag). */
static void ap_open_phase(struct phase *ph, u64 alias, u32 r)
{
	for (unsigned int i = 0; i < OPEN_TRIES; i++) {
		pks_fault_clear();
		pks_probe_write((void *)alias, r);
		if (!pks_fault.hit)
			return;
		ap_check_fault(ph, alias);
	}
	ph->open_failures++;
}

static void ap_hammer(struct phase *ph, u64 alias, u32 r)
{
	u64 stale = 0;

	for (;;) {
		/* The flag is loaded before the write starts (x86: in order). */
		u32 seen = __atomic_load_n(&ph->flag, __ATOMIC_ACQUIRE) == r;

		pks_fault_clear();
		pks_probe_write((void *)alias, ((u64)r << 32) | (u32)stale);
		if (pks_fault.hit) {
			ap_check_fault(ph, alias);
			if (seen)
				ph->faults_after_flag++;
			else
				ph->faults_before_flag++;
			return;
		}
		if (!seen) {
			ph->writes_before_flag++;
			continue;
		}
		ph->stale_writes++;
		if (++stale == STALE_LIMIT) {
			ph->stale_rounds++;
			/* An exit: pksvisor's entry checks re-sync this vCPU. */
			(void)cpuid(0, 0);
			return;
		}
	}
}

/* 0, or -1 when the BSP gave up. */
static int ap_rounds(struct phase *ph, u32 rounds, int by_key)
{
	for (u32 r = 1; r <= rounds; r++) {
		u64 alias = alias_of_key(by_key ? r : KEY);

		while (__atomic_load_n(&ph->round, __ATOMIC_ACQUIRE) != r)
			if (g_quit)
				return -1;
		ap_open_phase(ph, alias, r);
		__atomic_store_n(&ph->ready, r, __ATOMIC_RELEASE);
		ap_hammer(ph, alias, r);
		__atomic_store_n(&ph->done, r, __ATOMIC_RELEASE);
	}
	return 0;
}

/* VMFUNC leaf 0 (EPTP switching, SDM Vol. 3C 26.5.6.3): no VM exit. */
static void vmfunc_switch(u32 index)
{
	__asm__ volatile(".byte 0x0f, 0x01, 0xd4" : : "a"(0), "c"(index) : "memory");
}

/*
 * Write P through its key-3 alias on the pinned view until told to stop;
 * key 3 is locked, so every write must take the PK #PF.
 */
static void ap_pinned(void)
{
	u64 alias = alias_of_key(KEY);

	u64 index = 0;
	long long rc;

	while (!__atomic_load_n(&g_pin.go, __ATOMIC_ACQUIRE))
		if (g_quit)
			return;
	/*
	 * Pinned from this CPU: the VM entry after the call rewrites its
	 * EPTP list (lists are refreshed at entry only), so the index is
	 * reachable by VMFUNC from here on.
	 */
	rc = pksv_hc(PKSV_HC_VIEW_INDEX, PKRS_WD(KEY), 0, 0, &index);
	g_pin.index_rc = rc;
	g_pin.index = index;
	if (rc || !index || index >= 8) {
		__atomic_store_n(&g_pin.ready, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&g_pin.done, 1, __ATOMIC_RELEASE);
		return;
	}
	while (!__atomic_load_n(&g_pin.stop, __ATOMIC_ACQUIRE) && !g_quit) {
		vmfunc_switch((u32)index);
		pks_fault_clear();
		pks_probe_write((void *)alias, g_pin.writes);
		g_pin.writes++;
		if (!pks_fault.hit) {
			g_pin.stale_writes++;
			continue;
		}
		if (pks_fault.vector == X86_PF && pks_fault.ec == EC_WRITE &&
		    pks_fault.cr2 == alias)
			g_pin.faults++;
		else
			g_pin.bad_faults++;
		__atomic_store_n(&g_pin.ready, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&g_pin.done, 1, __ATOMIC_RELEASE);
}

static void EFIAPI ap_main(void *arg)
{
	(void)arg;
	pks_env_enter(g_pages + PKS_PG_PML4 * 4096ull, (void *)(g_pages + PG_IDT * 4096ull), 0);
	pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_WD(KEY));
	__atomic_store_n(&g_entered, 1, __ATOMIC_RELEASE);
	if (!ap_rounds(&g_protect, ROUNDS, 0)) {
		if (g_lock_rounds) {
			/* Every key open: only LOCK_KEY can close one. */
			pks_probe_wrmsr(MSR_IA32_PKRS, 0);
			ap_rounds(&g_lock, LOCK_KEYS, 1);
		} else if (g_pinned_phase) {
			ap_pinned();
		}
	}
	pks_env_leave();
	__atomic_store_n(&g_left, 1, __ATOMIC_RELEASE);
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
	g_quit = 1;
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
	for (unsigned int k = 1; k <= LOCK_KEYS; k++)
		if (k != KEY)
			pt[k] = g_p | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(k);
	say("# P at 0x%llx, keyed alias at 0x%llx", g_p, alias_of_key(KEY));
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

/* 0 when every round ran. */
static int run_protect_rounds(void)
{
	struct phase *ph = &g_protect;
	const u64 gfn = g_p >> 12;
	long long rc_un = 0, rc_pr = 0;
	u32 r;

	for (r = 1; r <= ROUNDS; r++) {
		rc_un = pksv_hc(PKSV_HC_UNPROTECT_PAGE, gfn, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE,
				0, NULL);
		if (rc_un)
			break;
		__atomic_store_n(&ph->round, r, __ATOMIC_RELEASE);
		if (bsp_wait(&ph->ready, r, "ready"))
			break;
		rc_pr = pksv_hc(PKSV_HC_PROTECT_PAGE, gfn, 0, 0, NULL);
		/* The flag: from here on no write of the AP may succeed. */
		__atomic_store_n(&ph->flag, r, __ATOMIC_RELEASE);
		if (rc_pr || bsp_wait(&ph->done, r, "done"))
			break;
	}
	if (r <= ROUNDS)
		g_quit = 1;
	tap_ok(r > ROUNDS, "%u rounds of UNPROTECT / PROTECT with the AP writing (stopped at %u: unprotect %lld, protect %lld)",
	       ROUNDS, r > ROUNDS ? ROUNDS : r, rc_un, rc_pr);
	return r <= ROUNDS;
}

static void run_lock_rounds(void)
{
	struct phase *ph = &g_lock;
	long long rc = 0;
	u32 k;

	for (k = 1; k <= LOCK_KEYS; k++) {
		__atomic_store_n(&ph->round, k, __ATOMIC_RELEASE);
		if (bsp_wait(&ph->ready, k, "ready"))
			break;
		rc = pksv_hc(PKSV_HC_LOCK_KEY, k, 0, 0, NULL);
		__atomic_store_n(&ph->flag, k, __ATOMIC_RELEASE);
		if (rc || bsp_wait(&ph->done, k, "done"))
			break;
	}
	if (k <= LOCK_KEYS)
		g_quit = 1;
	tap_ok(k > LOCK_KEYS, "%u rounds of LOCK_KEY (keys 1..%u) with the AP writing (stopped at %u: lock %lld)",
	       LOCK_KEYS, LOCK_KEYS, k > LOCK_KEYS ? LOCK_KEYS : k, rc);
}

/* Soft backend: LOCK_KEY rebuilds the view the AP VMFUNCs to. */
static void run_pinned_phase(void)
{
	long long rc_lock, rc = 0;

	rc_lock = pksv_hc(PKSV_HC_LOCK_KEY, KEY, 0, 0, NULL);
	tap_ok(!rc_lock, "pinned: LOCK_KEY(%u) %lld", KEY, rc_lock);
	if (rc_lock) {
		g_quit = 1;
		return;
	}
	__atomic_store_n(&g_pin.go, 1, __ATOMIC_RELEASE);
	if (bsp_wait(&g_pin.ready, 1, "pinned ready"))
		return;
	tap_ok(!g_pin.index_rc && g_pin.index > 0 && g_pin.index < 8,
	       "pinned: the AP's VIEW_INDEX(WD(%u)) %lld index %llu", KEY,
	       (long long)g_pin.index_rc, g_pin.index);
	if (g_pin.index_rc || !g_pin.index || g_pin.index >= 8)
		return;
	for (u32 i = 0; i < PINNED_LOCKS && !rc; i++) {
		rc = pksv_hc(PKSV_HC_LOCK_KEY, KEY, 0, 0, NULL);
		g_pin.lock_calls++;
	}
	__atomic_store_n(&g_pin.stop, 1, __ATOMIC_RELEASE);
	tap_ok(!rc && g_pin.lock_calls == PINNED_LOCKS, "pinned: %llu LOCK_KEY calls while the AP wrote (last %lld)",
	       g_pin.lock_calls, rc);
	bsp_wait(&g_pin.done, 1, "pinned done");
}

static void report_pinned(void)
{
	say("PKSV-SHOOT: pinned lock_calls=%llu writes=%llu faults=%llu stale_writes=%llu bad_faults=%llu",
	    g_pin.lock_calls, g_pin.writes, g_pin.faults, g_pin.stale_writes, g_pin.bad_faults);
	tap_ok(g_pin.stale_writes == 0,
	       "pinned: no AP write to the locked key landed while its view was rebuilt (%llu of %llu)",
	       g_pin.stale_writes, g_pin.writes);
	tap_ok(g_pin.faults > 0 && g_pin.bad_faults == 0,
	       "pinned: every AP write took #PF ec 0x%x at the alias (%llu; %llu others)",
	       EC_WRITE, g_pin.faults, g_pin.bad_faults);
}

static void report(struct phase *ph, u32 rounds)
{
	say("PKSV-SHOOT: %s rounds=%u faults_after_flag=%llu faults_before_flag=%llu writes_before_flag=%llu stale_writes=%llu stale_rounds=%llu open_failures=%llu bad_faults=%llu",
	    ph->name, ph->done, ph->faults_after_flag, ph->faults_before_flag,
	    ph->writes_before_flag, ph->stale_writes, ph->stale_rounds, ph->open_failures,
	    ph->bad_faults);
	tap_ok(ph->stale_writes == 0 && ph->stale_rounds == 0,
	       "%s: no AP write succeeded after the hypercall returned (stale writes %llu in %llu rounds)",
	       ph->name, ph->stale_writes, ph->stale_rounds);
	tap_ok(ph->done == rounds && ph->faults_after_flag + ph->faults_before_flag == rounds,
	       "%s: every round ended in a PK fault on the AP (%llu after the flag, %llu before it)",
	       ph->name, ph->faults_after_flag, ph->faults_before_flag);
	tap_ok(ph->open_failures == 0, "%s: the AP could write P in every open phase (%llu rounds could not)",
	       ph->name, ph->open_failures);
	tap_ok(ph->bad_faults == 0,
	       "%s: every AP fault was #PF ec 0x%x at the alias (%llu others; last vector %llu ec 0x%llx cr2 0x%llx)",
	       ph->name, EC_WRITE, ph->bad_faults, ph->last_bad_vector, ph->last_bad_ec,
	       ph->last_bad_cr2);
}

/* PKSV_HC_VERSION answers in RBX, RCX and RDX: pksv_hc() returns RBX only. */
static u64 pksv_backend(void)
{
	u64 rax = PKSV_HC_RAX(PKSV_HC_VERSION), rbx = 0, rcx = 0, rdx = 0;

	__asm__ volatile("vmcall" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx) : : "memory");
	return rax ? PKSV_BACKEND_OFF : rdx;
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
	g_lock_rounds = pksv_backend() == PKSV_BACKEND_HW;
	g_pinned_phase = !g_lock_rounds;
	say("# backend %s: %s", g_lock_rounds ? "hw" : "soft",
	    g_lock_rounds ? "PROTECT rounds, then LOCK_KEY rounds" :
			    "PROTECT rounds, then LOCK_KEY under a VMFUNC-pinned writer");
	s = uefi_call_wrapper(st->BootServices->CreateEvent, 5, 0, 0, NULL, NULL, &ev);
	if (!EFI_ERROR(s))
		s = uefi_call_wrapper(mp->startup_this_ap, 7, mp, ap_main, (UINTN)ap, ev, 0,
				      NULL, NULL);
	tap_ok(!EFI_ERROR(s), "StartupThisAP(cpu %lld) without waiting (EFI status 0x%llx)", ap,
	       (u64)s);
	if (!EFI_ERROR(s) && !bsp_wait(&g_entered, 1, "entered")) {
		if (!run_protect_rounds()) {
			if (g_lock_rounds)
				run_lock_rounds();
			else
				run_pinned_phase();
		}
	} else {
		g_quit = 1;
	}
	if (!EFI_ERROR(s))
		bsp_wait(&g_left, 1, "left");
	report(&g_protect, ROUNDS);
	if (g_lock_rounds)
		report(&g_lock, LOCK_KEYS);
	else
		report_pinned();
	(void)pksv_hc(PKSV_HC_UNPROTECT_PAGE, g_p >> 12, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE, 0, NULL);
	say("1..%u", tap_num);
	say("PKSV-SHOOT: done, %u of %u failed", tap_failed, tap_num);
	power_off(st);
}
