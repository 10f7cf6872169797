// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-bench.efi: how many VM exits the guest's PKS operations cost under
 * pksvisor (pks=soft in Bochs), plus TSC cycles per operation
 * (informational: Bochs's TSC is virtual time, not real cost).  No pass or
 * fail on numbers: it prints
 *
 *     PKSV-BENCH: <op> exits_per_op=X.XX n=N tsc_per_op=T
 *
 * per operation and "PKSV-BENCH: done" at the end, then powers off like
 * pksvisor-test.efi.  tests/harness/run-bench.sh runs it.
 *
 * Exits are counted with PKSV_HC_GET_COUNTER(PKSV_CTR_EXITS) before and
 * after a loop of N operations with interrupts disabled; the exits of the
 * GET_COUNTER calls themselves are measured with an empty loop and
 * subtracted.  Guest instructions per exit are not measurable from here
 * (no instruction counter is exposed).
 *
 * Operations: WRMSR IA32_PKRS alternating two values (with CR4.PKS set),
 * the same switch by VMFUNC leaf 0 with the EPTP-list indexes from
 * PKSV_HC_VIEW_INDEX, an UNPROTECT_PAGE + PROTECT_PAGE pair (the kmap /
 * kunmap cost) on a page of the app's own memory, CPUID, RDMSR IA32_PKRS
 * and a NOP hypercall.  A keyed range (key 1) is registered first, as the
 * Linux series does, so the views restrict something and pksvisor is in
 * its paravirtual (not discovery) mode.
 */
#include <pksvisor/hypercall.h>

#include "common.h"
#include "pks-env.h"

/* ---- CPU helpers --------------------------------------------------- */

#define N_OPS		1000u

/* PKRS values: key 1 closed (AD|WD), as a kernel's default; and all open. */
#define PKRS_CLOSED	0xcull
#define PKRS_OPEN	0x0ull

#define RANGE_PAGES	16u

/* Inline, unlike common.c's cpuid(): the measured CPUID loop below. */
static inline void cpuid_raw(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
			 : "a"(leaf), "c"(0) : "memory");
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((u64)hi << 32) | lo;
}

/* VMFUNC leaf 0 (EPTP switching), ECX = EPTP-list index. */
static inline void vmfunc0(u64 index)
{
	__asm__ volatile(".byte 0x0f, 0x01, 0xd4" : : "a"(0), "c"(index) : "memory");
}

static inline u64 irq_save(void)
{
	u64 flags;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
	return flags;
}

static inline void irq_restore(u64 flags)
{
	if (flags & (1ull << 9))
		__asm__ volatile("sti" : : : "memory");
}

/*
 * The native baseline (no pksvisor): the same register set-up as pksv_hc() and
 * wrmsr() with a NOP where the instruction that exits would be, so that
 * (TSC under pksvisor - TSC native) per operation counts pksvisor's work
 * plus the exiting instruction itself.
 */
static inline u64 hc_stub(u32 nr, u64 a0, u64 a1, u64 a2, u64 *out)
{
	u64 rax = PKSV_HC_RAX(nr), rbx = a0, rcx = a1, rdx = a2;

	__asm__ volatile("nop" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx)
			 : : "memory");
	if (out)
		*out = rbx;
	return rax;
}

static inline void wrmsr_stub(u32 msr, u64 v)
{
	__asm__ volatile("nop" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32))
			 : "memory");
}

static inline u64 rdmsr_stub(u32 msr)
{
	u32 lo = 0, hi = 0;

	__asm__ volatile("nop" : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	return ((u64)hi << 32) | lo;
}

/*
 * TSC calibration: N iterations of exactly CAL_INSNS instructions (8 NOPs,
 * DEC, JNZ).  Bochs's TSC with clock: sync=none advances with emulated
 * instructions; this says by how much per instruction.
 */
#define CAL_INSNS	10u

static u64 calibrate(unsigned int n)
{
	u64 t0, t1, f = 0;
	unsigned int cnt = n;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(f) : : "memory");
	t0 = rdtsc();
	__asm__ volatile("1: nop; nop; nop; nop; nop; nop; nop; nop\n\t"
			 "dec %0\n\tjnz 1b" : "+r"(cnt) : : "cc", "memory");
	t1 = rdtsc();
	if (f & (1ull << 9))
		__asm__ volatile("sti" : : : "memory");
	return t1 - t0;
}

static inline u64 exits_now(void)
{
	u64 v = 0;

	pksv_hc(PKSV_HC_GET_COUNTER, PKSV_CTR_EXITS, 0, 0, &v);
	return v;
}

static const char *err_name(u64 rax)
{
	static const char *const names[] = {
		"0", "-PKSV_ENOSYS", "-PKSV_EINVAL", "-PKSV_EALIGN", "-PKSV_EFAULT",
		"-PKSV_EKEY", "-PKSV_ENOSPC", "-PKSV_ENOENT", "-PKSV_ERANGE",
		"-PKSV_ENOTSUP", "-PKSV_EPERM",
	};
	long long v = -(long long)rax;

	if (v >= 0 && v < (long long)(sizeof(names) / sizeof(names[0])))
		return names[v];
	return "?";
}

/* ---- measurement --------------------------------------------------- */

/* Exits of one GET_COUNTER pair around an empty loop. */
static u64 overhead;

static void report(const char *name, u64 exits, u64 tsc, unsigned int n)
{
	long long net = (long long)exits - (long long)overhead;
	u64 mag = net < 0 ? (u64)-net : (u64)net;
	u64 hundredths = (mag * 100 + n / 2) / n;

	say("PKSV-BENCH: %s exits_per_op=%s%llu.%s%llu n=%u tsc_per_op=%llu", name,
	    net < 0 ? "-" : "", hundredths / 100, hundredths % 100 < 10 ? "0" : "",
	    hundredths % 100, n, tsc / n);
}

/*
 * Run the body (the variadic arguments) n times with interrupts off between two exit-counter reads and
 * two RDTSCs; e = counter delta, t = TSC delta.
 */
#define MEASURE(n, e, t, ...)						\
	do {								\
		u64 _f = irq_save(), _e0, _e1, _t0, _t1;		\
		unsigned int i;						\
									\
		_e0 = exits_now();					\
		_t0 = rdtsc();						\
		for (i = 0; i < (n); i++) {				\
			__VA_ARGS__;					\
		}							\
		_t1 = rdtsc();						\
		_e1 = exits_now();					\
		irq_restore(_f);					\
		(e) = _e1 - _e0;					\
		(t) = _t1 - _t0;					\
	} while (0)

/*
 * PK faults (pksvisor instructions per PK-fault exit): the app's own page
 * tables (pks-env.c) map page 5 of the bench's key-1 range through a
 * supervisor alias with key 1 at g_fault_base, and nothing at
 * g_fault_base + 4 KiB.  Under pksvisor, with PKRS = AD(1) in strict
 * mode, every read of the alias is a PK fault: one exit, the #PF injected,
 * the handler resumes after the probe.  The native baseline reads the
 * not-present page instead: the same #PF delivery and handler, natively.
 */
enum { PG_IDT = PKS_PG_APP, PG_COUNT };

static u64 g_fault_pages, g_fault_base;

static u64 fault_page(unsigned int pg)
{
	return g_fault_pages + (u64)pg * 4096;
}

static int fault_env_setup(u64 data_pa)
{
	u64 *pt;

	if (!pks_env_map_region(PG_COUNT, &g_fault_pages, &g_fault_base))
		return -1;
	pt = (u64 *)fault_page(PKS_PG_PT);
	pt[0] = data_pa | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_KEY(1);
	pt[1] = 0;
	return 0;
}

/* N reads of addr; TSC in *tsc; how many gave #PF with error code ec. */
static unsigned int fault_loop(u64 addr, u64 ec, u64 *tsc)
{
	unsigned int faults = 0, i;
	u64 t0, t1;

	t0 = rdtsc();
	for (i = 0; i < N_OPS; i++) {
		pks_fault_clear();
		(void)pks_probe_read((const void *)addr);
		faults += pks_fault.hit && pks_fault.vector == X86_PF && pks_fault.ec == ec;
	}
	t1 = rdtsc();
	*tsc = t1 - t0;
	return faults;
}

/* MEASURE without pksvisor: the TSC delta only. */
#define MEASURE_TSC(n, t, ...)						\
	do {								\
		u64 _f = irq_save(), _t0, _t1;				\
		unsigned int i;						\
									\
		_t0 = rdtsc();						\
		for (i = 0; i < (n); i++) {				\
			__VA_ARGS__;					\
		}							\
		_t1 = rdtsc();						\
		irq_restore(_f);					\
		(t) = _t1 - _t0;					\
	} while (0)

static void say_native(const char *name, u64 tsc, unsigned int n)
{
	say("PKSV-BENCH: native %s n=%u tsc_per_op=%llu", name, n, tsc / n);
}

static EFI_SYSTEM_TABLE *g_st;

/* The native #PF baseline: the not-present page, same handler. */
static void native_fault(void)
{
	EFI_PHYSICAL_ADDRESS data = 0;
	unsigned int faults;
	u64 t;

	if (EFI_ERROR(uefi_call_wrapper(g_st->BootServices->AllocatePages, 4,
					AllocateAnyPages, EfiLoaderData, 1, &data)) ||
	    fault_env_setup(data) < 0) {
		say("PKSV-BENCH: native pk_fault failed (no page tables)");
		return;
	}
	pks_env_enter(fault_page(PKS_PG_PML4), (void *)fault_page(PG_IDT), 0);
	faults = fault_loop(g_fault_base + 4096, 0, &t);	/* not present, read */
	pks_env_leave();
	if (faults != N_OPS)
		say("PKSV-BENCH: native pk_fault failed (%u of %u reads faulted)", faults, N_OPS);
	else
		say_native("pk_fault", t, N_OPS);
}

/*
 * Without pksvisor (tests/harness/run-bench.sh native): the same loops,
 * with a NOP standing for each instruction that would exit, and the TSC
 * calibration.  bench-report.py subtracts these from the pksvisor run.
 */
static void bench_native(void)
{
	u64 t, su = 0, sp = 0;
	u32 a, b, c, d;

	t = calibrate(N_OPS);
	say("PKSV-BENCH: native calibrate instructions=%u tsc=%llu",
	    N_OPS * CAL_INSNS, t);
	MEASURE_TSC(N_OPS, t, __asm__ volatile("" : : : "memory"));
	say_native("empty_loop", t, N_OPS);
	MEASURE_TSC(N_OPS, t, cpuid_raw(0, &a, &b, &c, &d));
	say_native("cpuid", t, N_OPS);
	MEASURE_TSC(N_OPS, t, hc_stub(PKSV_HC_NOP, i, 0, 0, NULL));
	say_native("hypercall_nop", t, N_OPS);
	MEASURE_TSC(N_OPS, t, wrmsr_stub(MSR_IA32_PKRS, (i & 1) ? PKRS_CLOSED : PKRS_OPEN));
	say_native("pkrs_wrmsr", t, N_OPS);
	MEASURE_TSC(N_OPS, t, (void)rdmsr_stub(MSR_IA32_PKRS));
	say_native("pkrs_rdmsr", t, N_OPS);
	MEASURE_TSC(N_OPS, t, {
		u64 t0 = rdtsc(), t1, t2;

		hc_stub(PKSV_HC_UNPROTECT_PAGE, 0x1234, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE, 0, NULL);
		t1 = rdtsc();
		hc_stub(PKSV_HC_PROTECT_PAGE, 0x1234, 0, 0, NULL);
		t2 = rdtsc();
		su += t1 - t0;
		sp += t2 - t1;
	});
	say_native("unprotect_page", su, N_OPS);
	say_native("protect_page", sp, N_OPS);
	native_fault();
}

/*
 * EPT memory per view at guest scale (docs/benchmarks.md): the largest
 * free RAM region of the UEFI memory map - most of the guest's RAM - is
 * registered as one keyed range of key 2, as a PMEM namespace would be,
 * and a view restricting key 2 is built (WRMSR PKRS with CR4.PKS set).
 * The statistics report that follows carries pksvisor's memory line
 * (view_ept_kib); the range is unregistered afterwards.  Returns the
 * registered range's base (0: none) in *base and its pages in *pages.
 */
static void keyed_ram(u64 *base, u64 *pages)
{
	EFI_MEMORY_DESCRIPTOR *map, *d, *best = NULL;
	UINTN entries = 0, key = 0, desc_size = 0;
	UINT32 desc_version = 0;
	u64 rax, cr4;

	*base = 0;
	*pages = 0;
	map = LibMemoryMap(&entries, &key, &desc_size, &desc_version);
	if (!map) {
		say("PKSV-BENCH: keyed_ram failed (no memory map)");
		return;
	}
	d = map;
	for (UINTN i = 0; i < entries; i++) {
		if (d->Type == EfiConventionalMemory &&
		    (!best || d->NumberOfPages > best->NumberOfPages))
			best = d;
		d = (EFI_MEMORY_DESCRIPTOR *)((u8 *)d + desc_size);
	}
	if (best) {
		*base = best->PhysicalStart;
		*pages = best->NumberOfPages;
	}
	FreePool(map);
	if (!*pages) {
		say("PKSV-BENCH: keyed_ram failed (no free RAM region)");
		return;
	}
	rax = pksv_hc(PKSV_HC_RANGE_REGISTER, *base, *pages << 12, 2, NULL);
	say("PKSV-BENCH: keyed_ram key=2 base=0x%llx mib=%llu: %s", *base, *pages >> 8,
	    err_name(rax));
	if (rax != 0) {
		say("PKSV-BENCH: keyed_ram failed");
		*pages = 0;
		return;
	}
	cr4 = read_cr4();
	write_cr4(cr4 | CR4_PKS);
	wrmsr(MSR_IA32_PKRS, 1ull << 4);	/* AD(2): the view restricts it */
	wrmsr(MSR_IA32_PKRS, 0);
	write_cr4(cr4);
}

static void bench(EFI_SYSTEM_TABLE *st)
{
	static const u64 pkrs_vals[2] = { PKRS_OPEN, PKRS_CLOSED };
	EFI_PHYSICAL_ADDRESS mem = 0;
	EFI_STATUS s;
	u64 ver = 0, features = 0, backend = 0, rax, e, t, idx[2] = { 0, 0 };
	u64 cr4_saved, pkrs_saved, gfn, v;
	u32 a, b, c, d;
	int pks, registered = 0, have_mem;

	/*
	 * Not pksv_hc(): VERSION answers in RBX, RCX and RDX (ABI, features,
	 * backend) and pksv_hc() hands back RBX only.
	 */
	{
		u64 rbx = 0, rcx = 0, rdx = 0;

		rax = PKSV_HC_RAX(PKSV_HC_VERSION);
		__asm__ volatile("vmcall" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx)
				 : : "memory");
		ver = rbx;
		features = rcx;
		backend = rdx;
	}
	say("PKSV-BENCH: pksvisor abi=0x%llx features=0x%llx backend=%s", ver, features,
	    backend == PKSV_BACKEND_SOFT ? "soft" : backend == PKSV_BACKEND_HW ? "hw" : "off");
	pks = !!(cpuid(7, 0).ecx & (1u << 31));

	/* The GET_COUNTER pair itself. */
	MEASURE(N_OPS, e, t, __asm__ volatile("" : : : "memory"));
	overhead = e;
	say("PKSV-BENCH: get_counter_overhead exits=%llu (subtracted below) empty_loop_tsc=%llu n=%u",
	    e, t, N_OPS);
	MEASURE(N_OPS, e, t, __asm__ volatile("" : : : "memory"));
	report("empty_loop", e, t, N_OPS);	/* sanity: 0.00 */

	MEASURE(N_OPS, e, t, cpuid_raw(0, &a, &b, &c, &d));
	report("cpuid", e, t, N_OPS);
	MEASURE(N_OPS, e, t, pksv_hc(PKSV_HC_NOP, i, 0, 0, NULL));
	report("hypercall_nop", e, t, N_OPS);

	s = uefi_call_wrapper(st->BootServices->AllocatePages, 4, AllocateAnyPages,
			      EfiLoaderData, RANGE_PAGES, &mem);
	have_mem = !EFI_ERROR(s) && mem;
	if (!have_mem)
		say("PKSV-BENCH: # AllocatePages(%u) failed: 0x%llx", RANGE_PAGES, (u64)s);

	if (!pks) {
		say("PKSV-BENCH: pkrs_wrmsr unsupported (no PKS in CPUID.(7,0):ECX[31])");
		say("PKSV-BENCH: pkrs_vmfunc unsupported (no PKS)");
	} else {
		/* Paravirtual mode, like the Linux series: one keyed range. */
		if (have_mem) {
			rax = pksv_hc(PKSV_HC_RANGE_REGISTER, mem, RANGE_PAGES * 4096ull, 1, NULL);
			registered = rax == 0;
			say("PKSV-BENCH: range_register key=1 pages=%u: %s", RANGE_PAGES,
			    err_name(rax));
		}
		cr4_saved = read_cr4();
		write_cr4(cr4_saved | CR4_PKS);
		pkrs_saved = rdmsr(MSR_IA32_PKRS);
		/* Warm-up: build (and cache) both views. */
		wrmsr(MSR_IA32_PKRS, PKRS_CLOSED);
		wrmsr(MSR_IA32_PKRS, PKRS_OPEN);
		wrmsr(MSR_IA32_PKRS, PKRS_CLOSED);

		/* Ends with PKRS_CLOSED (i = N-1 is odd). */
		MEASURE(N_OPS, e, t, wrmsr(MSR_IA32_PKRS, pkrs_vals[i & 1]));
		report("pkrs_wrmsr", e, t, N_OPS);
		MEASURE(N_OPS, e, t, (void)rdmsr(MSR_IA32_PKRS));
		report("pkrs_rdmsr", e, t, N_OPS);

		rax = pksv_hc(PKSV_HC_VIEW_INDEX, PKRS_OPEN, 0, 0, &idx[0]);
		if (rax == 0)
			rax = pksv_hc(PKSV_HC_VIEW_INDEX, PKRS_CLOSED, 0, 0, &idx[1]);
		if (rax != 0) {
			say("PKSV-BENCH: pkrs_vmfunc unsupported (VIEW_INDEX returned %s)",
			    err_name(rax));
		} else {
			say("PKSV-BENCH: view_index open=%llu closed=%llu", idx[0], idx[1]);
			/* Start from the view PKRS_CLOSED selects (WRMSR above). */
			MEASURE(N_OPS, e, t, vmfunc0(idx[i & 1]));
			report("pkrs_vmfunc", e, t, N_OPS);
			/*
			 * The loop ended in the view it started from; switch
			 * to the other one: pksvisor must follow at its next
			 * exit (the RDMSR) and report the new PKRS.
			 */
			vmfunc0(idx[0]);
			v = rdmsr(MSR_IA32_PKRS);
			say("PKSV-BENCH: vmfunc_follow rdmsr_pkrs=0x%llx want=0x%llx %s", v,
			    PKRS_OPEN, v == PKRS_OPEN ? "ok" : "MISMATCH");
			wrmsr(MSR_IA32_PKRS, PKRS_CLOSED);
		}

		wrmsr(MSR_IA32_PKRS, pkrs_saved);
		write_cr4(cr4_saved);
	}

	if (have_mem && (features & PKSV_FEAT_UNPROTECT)) {
		gfn = (mem >> 12) + 3;
		rax = pksv_hc(PKSV_HC_UNPROTECT_PAGE, gfn, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE, 0, NULL);
		if (rax == 0)
			rax = pksv_hc(PKSV_HC_PROTECT_PAGE, gfn, 0, 0, NULL);
		if (rax != 0) {
			say("PKSV-BENCH: unprotect_protect unsupported (%s)", err_name(rax));
		} else {
			u64 errs = 0, su = 0, sp = 0;

			MEASURE(N_OPS, e, t,
				errs |= pksv_hc(PKSV_HC_UNPROTECT_PAGE, gfn,
						PKSV_ACCESS_READ | PKSV_ACCESS_WRITE, 0, NULL) |
					pksv_hc(PKSV_HC_PROTECT_PAGE, gfn, 0, 0, NULL));
			report("unprotect_protect_pair", e, t, N_OPS);
			/*
			 * Each call of the pair on its own (RDTSC around each;
			 * the native run times its stubs the same way): one
			 * exit each by construction, so exits = pair / 2.
			 */
			MEASURE(N_OPS, e, t, {
				u64 t0 = rdtsc(), t1, t2;

				errs |= pksv_hc(PKSV_HC_UNPROTECT_PAGE, gfn,
						PKSV_ACCESS_READ | PKSV_ACCESS_WRITE, 0, NULL);
				t1 = rdtsc();
				errs |= pksv_hc(PKSV_HC_PROTECT_PAGE, gfn, 0, 0, NULL);
				t2 = rdtsc();
				su += t1 - t0;
				sp += t2 - t1;
			});
			report("unprotect_page", (e - overhead) / 2 + overhead, su, N_OPS);
			report("protect_page", (e - overhead) / 2 + overhead, sp, N_OPS);
			if (errs)
				say("PKSV-BENCH: # some UNPROTECT/PROTECT calls failed");
		}
	} else {
		say("PKSV-BENCH: unprotect_protect unsupported (%s)",
		    have_mem ? "no PKSV_FEAT_UNPROTECT" : "no memory");
	}

	if (registered) {
		u64 mode = PKSV_MODE_RELAXED;

		if (fault_env_setup(mem + 5 * 4096ull) < 0) {
			say("PKSV-BENCH: pk_fault failed (no page tables)");
		} else {
			unsigned int faults;

			/* Strict: every PK fault is injected, none opens the key. */
			pksv_hc(PKSV_HC_GET_MODE, 0, 0, 0, &mode);
			pksv_hc(PKSV_HC_SET_MODE, PKSV_MODE_STRICT, 0, 0, NULL);
			pks_env_enter(fault_page(PKS_PG_PML4), (void *)fault_page(PG_IDT), 0);
			pks_probe_wrmsr(MSR_IA32_PKRS, PKRS_AD(1));
			/* Warm-up (views built), then measured; P | PK: 0x21. */
			faults = fault_loop(g_fault_base, 0x21, &t);
			e = exits_now();
			faults = fault_loop(g_fault_base, 0x21, &t);
			e = exits_now() - e;
			pks_probe_wrmsr(MSR_IA32_PKRS, 0);
			pks_env_leave();
			pksv_hc(PKSV_HC_SET_MODE, mode, 0, 0, NULL);
			if (faults != N_OPS)
				say("PKSV-BENCH: pk_fault failed (%u of %u reads faulted)", faults, N_OPS);
			else
				report("pk_fault", e, t, N_OPS);
		}
		pksv_hc(PKSV_HC_RANGE_UNREGISTER, mem, RANGE_PAGES * 4096ull, 0, NULL);
	}
	if (have_mem)
		uefi_call_wrapper(st->BootServices->FreePages, 2, mem, RANGE_PAGES);
	say("PKSV-BENCH: # guest instructions per exit: not measurable (no instruction counter)");
	if (pks) {
		u64 kbase, kpages;

		keyed_ram(&kbase, &kpages);
		pksv_hc(PKSV_HC_PRINT_STATS, 0, 0, 0, NULL);
		if (kpages)
			pksv_hc(PKSV_HC_RANGE_UNREGISTER, kbase, kpages << 12, 0, NULL);
	} else {
		pksv_hc(PKSV_HC_PRINT_STATS, 0, 0, 0, NULL);
	}
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	InitializeLib(image, st);
	g_st = st;
	pks_env_init(st, "PKSV-BENCH: done", NULL);

	say("PKSV-BENCH: start");
	if (pksv_present()) {
		bench(st);
	} else {
		say("PKSV-BENCH: no pksvisor (native baseline only)");
		bench_native();
	}
	say("PKSV-BENCH: done");
	power_off(st);
	return EFI_SUCCESS;
}
