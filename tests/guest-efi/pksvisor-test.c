// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksvisor-test.efi: checks pksvisor from inside its guest.
 *
 * pksvisor chainloads this app (next=\pksvisor-test.efi).  It writes TAP
 * lines straight to COM1 (polled 16550 at 0x3f8; not ConOut, which OVMF
 * also mirrors to the serial port) and then powers the machine off: the
 * bytes of "Shutdown" to port 0x8900 end Bochs, ResetSystem(Shutdown)
 * ends QEMU.  tests/harness/check-serial.sh turns the output into
 * pass/fail.
 *
 * Without pksvisor (no signature at CPUID 0x40000000, e.g. QEMU TCG with
 * fallback=boot) VMCALL would raise #UD, so the hypervisor checks are
 * reported as skipped and the app says "PKSV-EFI-TEST: native".
 */
#include <pksvisor/hypercall.h>

#include "common.h"

/* ---- VMCALL -------------------------------------------------------- */

/* Field order is fixed by vmcall.S. */
struct hc_regs {
	u64 rax, rbx, rcx, rdx, rsi, rdi, rbp;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

void pksv_vmcall_regs(struct hc_regs *r);

/* A hypercall with up to one argument: returns RAX, *rbx = RBX out. */
static u64 hypercall(u32 nr, u64 arg0, u64 *rbx)
{
	struct hc_regs r = { .rax = PKSV_HC_RAX(nr), .rbx = arg0 };

	pksv_vmcall_regs(&r);
	if (rbx)
		*rbx = r.rbx;
	return r.rax;
}

static u64 neg_err(u64 e)
{
	return (u64)-(long long)e;
}

/* ---- the checks ---------------------------------------------------- */

#define CPUID1_ECX_VMX		(1u << 5)
#define CPUID1_ECX_HYPERVISOR	(1u << 31)

/* Every check, in order: the plan is the same with and without pksvisor. */
enum {
	T_CPUID_BASIC,
	T_VMX_HIDDEN,
	T_HV_BIT,
	T_SIGNATURE,
	T_INFO_LEAF,
	T_VERSION,
	T_NOP_VALUE,
	T_NOP_PRESERVE,
	T_ENOSYS,
	T_SELFTEST_INFO,
	T_HIDDEN_READ,
	T_HIDDEN_WRITE,
	T_HIDDEN_COUNTER,
	T_PRINT_STATS,
	T_COUNTER_EINVAL,
	/* PKS hypercall validation (docs/hypercalls.md), after the above */
	T_PKS_BACKEND,
	T_RR_EALIGN_GPA,
	T_RR_EALIGN_LEN,
	T_RR_EINVAL_LEN0,
	T_RR_EKEY0,
	T_RR_EKEY16,
	T_RR_EFAULT_HV,
	T_RR_EFAULT_BIG,
	T_RR_OK,
	T_RR_OVERLAP,
	T_RR_UNREG_OK,
	T_RR_UNREG_ENOENT,
	T_UP_ACC0,
	T_UP_ACC_WONLY,
	T_UP_ACC4,
	T_UP_EFAULT_HV,
	T_UP_EFAULT_HUGE,
	T_PR_EFAULT,
	T_UP_TWICE,
	T_UP_STATS,
	T_PR_TWICE,
	T_PR_ENOENT,
	T_GRANT_EKEY0,
	T_GRANT_EKEY16,
	T_GRANT_EINVAL,
	T_REVOKE_ENOENT,
	T_GRANT_REVOKE,
	T_MODE_EINVAL,
	T_MODE_ROUNDTRIP,
	T_LOCK_EKEY,
	T_VIEW_EINVAL,
	T_VIEW_INDEX0,
	T_FAIL_REGS,
	T_FINAL_STATS,
	T_COUNT
};

static const char *const test_name[T_COUNT] = {
	[T_CPUID_BASIC]    = "cpuid basic leaves present",
	[T_VMX_HIDDEN]     = "cpuid.1:ecx.vmx[5] hidden",
	[T_HV_BIT]         = "cpuid.1:ecx.hypervisor[31] set",
	[T_SIGNATURE]      = "cpuid 0x40000000 signature pksvisor, max leaf >= 0x40000001",
	[T_INFO_LEAF]      = "cpuid 0x40000001 eax = PKSV_ABI_VERSION",
	[T_VERSION]        = "hypercall VERSION returns 0 and PKSV_ABI_VERSION",
	[T_NOP_VALUE]      = "hypercall NOP returns 0 and rbx ^ ~0",
	[T_NOP_PRESERVE]   = "hypercall NOP preserves the other registers",
	[T_ENOSYS]         = "unknown hypercall 0x7f returns -PKSV_ENOSYS",
	[T_SELFTEST_INFO]  = "hypercall SELFTEST_INFO gives an address in pksvisor memory",
	[T_HIDDEN_READ]    = "read of pksvisor memory returns all-ones",
	[T_HIDDEN_WRITE]   = "write to pksvisor memory is dropped",
	[T_HIDDEN_COUNTER] = "hidden-access counter grew by at least 2",
	[T_PRINT_STATS]    = "hypercall PRINT_STATS returns 0",
	[T_COUNTER_EINVAL] = "GET_COUNTER with a bad id returns -PKSV_EINVAL",
	[T_PKS_BACKEND]    = "VERSION reports a PKS backend and PKSV_FEAT_PKS|UNPROTECT",
	[T_RR_EALIGN_GPA]  = "RANGE_REGISTER misaligned gpa returns -PKSV_EALIGN",
	[T_RR_EALIGN_LEN]  = "RANGE_REGISTER misaligned length returns -PKSV_EALIGN",
	[T_RR_EINVAL_LEN0] = "RANGE_REGISTER length 0 returns -PKSV_EINVAL",
	[T_RR_EKEY0]       = "RANGE_REGISTER key 0 returns -PKSV_EKEY",
	[T_RR_EKEY16]      = "RANGE_REGISTER key 16 returns -PKSV_EKEY",
	[T_RR_EFAULT_HV]   = "RANGE_REGISTER over pksvisor memory returns -PKSV_EFAULT",
	[T_RR_EFAULT_BIG]  = "RANGE_REGISTER at 2^52 returns -PKSV_EFAULT",
	[T_RR_OK]          = "RANGE_REGISTER of 2 own pages with key 1 returns 0",
	[T_RR_OVERLAP]     = "RANGE_REGISTER overlapping with key 2 returns -PKSV_EINVAL",
	[T_RR_UNREG_OK]    = "RANGE_UNREGISTER of the range returns 0",
	[T_RR_UNREG_ENOENT] = "RANGE_UNREGISTER of it again returns -PKSV_ENOENT",
	[T_UP_ACC0]        = "UNPROTECT_PAGE access 0 returns -PKSV_EINVAL",
	[T_UP_ACC_WONLY]   = "UNPROTECT_PAGE access WRITE only returns -PKSV_EINVAL",
	[T_UP_ACC4]        = "UNPROTECT_PAGE access 4 returns -PKSV_EINVAL",
	[T_UP_EFAULT_HV]   = "UNPROTECT_PAGE of a pksvisor gfn returns -PKSV_EFAULT",
	[T_UP_EFAULT_HUGE] = "UNPROTECT_PAGE of gfn 2^40 and ~0 returns -PKSV_EFAULT",
	[T_PR_EFAULT]      = "PROTECT_PAGE of a pksvisor gfn and gfn 2^40 returns -PKSV_EFAULT",
	[T_UP_TWICE]       = "UNPROTECT_PAGE twice (READ, READ|WRITE) returns 0",
	[T_UP_STATS]       = "PRINT_STATS with one page unprotected returns 0",
	[T_PR_TWICE]       = "PROTECT_PAGE twice returns 0",
	[T_PR_ENOENT]      = "a third PROTECT_PAGE returns -PKSV_ENOENT (no wrap)",
	[T_GRANT_EKEY0]    = "GRANT key 0 returns -PKSV_EKEY",
	[T_GRANT_EKEY16]   = "GRANT key 16 returns -PKSV_EKEY",
	[T_GRANT_EINVAL]   = "GRANT access 0 and 4 returns -PKSV_EINVAL",
	[T_REVOKE_ENOENT]  = "REVOKE without a grant returns -PKSV_ENOENT",
	[T_GRANT_REVOKE]   = "GRANT key 3 READ then REVOKE returns 0, REVOKE again -PKSV_ENOENT",
	[T_MODE_EINVAL]    = "SET_MODE 4 returns -PKSV_EINVAL",
	[T_MODE_ROUNDTRIP] = "SET_MODE/GET_MODE round trip, mode restored",
	[T_LOCK_EKEY]      = "LOCK_KEY key 0 and 16 returns -PKSV_EKEY",
	[T_VIEW_EINVAL]    = "VIEW_INDEX with bit 32 set returns -PKSV_EINVAL",
	[T_VIEW_INDEX0]    = "VIEW_INDEX(0) returns 0 or -PKSV_ENOTSUP",
	[T_FAIL_REGS]      = "every failed PKS call left RBX/RCX/RDX unchanged",
	[T_FINAL_STATS]    = "PRINT_STATS at the end returns 0",
};

static void test_cpuid_basic(void)
{
	struct cpuid_regs r = cpuid(0, 0);

	tap_ok(r.eax >= 1, "%s (max basic leaf 0x%x)", test_name[T_CPUID_BASIC], r.eax);
}

static void test_cpuid_hv(void)
{
	struct cpuid_regs l1 = cpuid(1, 0);
	struct cpuid_regs base = cpuid(PKSV_CPUID_LEAF_BASE, 0);
	struct cpuid_regs info = cpuid(PKSV_CPUID_LEAF_INFO, 0);

	tap_ok(!(l1.ecx & CPUID1_ECX_VMX), "%s (ecx 0x%x)", test_name[T_VMX_HIDDEN], l1.ecx);
	tap_ok(!!(l1.ecx & CPUID1_ECX_HYPERVISOR), "%s (ecx 0x%x)", test_name[T_HV_BIT], l1.ecx);
	tap_ok(base.ebx == PKSV_CPUID_SIG_EBX && base.ecx == PKSV_CPUID_SIG_ECX &&
	       base.edx == PKSV_CPUID_SIG_EDX && base.eax >= PKSV_CPUID_LEAF_INFO,
	       "%s (eax 0x%x ebx 0x%x ecx 0x%x edx 0x%x)", test_name[T_SIGNATURE],
	       base.eax, base.ebx, base.ecx, base.edx);
	tap_ok(info.eax == PKSV_ABI_VERSION, "%s (eax 0x%x features 0x%x)",
	       test_name[T_INFO_LEAF], info.eax, info.ebx);
}

static void test_version(void)
{
	struct hc_regs r = { .rax = PKSV_HC_RAX(PKSV_HC_VERSION) };

	pksv_vmcall_regs(&r);
	tap_ok(r.rax == 0 && r.rbx == PKSV_ABI_VERSION,
	       "%s (rax 0x%llx rbx 0x%llx features 0x%llx backend %llu)",
	       test_name[T_VERSION], r.rax, r.rbx, r.rcx, r.rdx);
}

static void test_nop(void)
{
	/* Distinct patterns so a swapped or clobbered register shows. */
	const struct hc_regs in = {
		.rax = PKSV_HC_RAX(PKSV_HC_NOP), .rbx = 0x0123456789abcdefull,
		.rcx = 0x1111111111111111ull, .rdx = 0x2222222222222222ull,
		.rsi = 0x3333333333333333ull, .rdi = 0x4444444444444444ull,
		.rbp = 0x5555555555555555ull, .r8 = 0x8888888888888888ull,
		.r9 = 0x9999999999999999ull, .r10 = 0xa0a0a0a0a0a0a0a0ull,
		.r11 = 0xb1b1b1b1b1b1b1b1ull, .r12 = 0xc2c2c2c2c2c2c2c2ull,
		.r13 = 0xd3d3d3d3d3d3d3d3ull, .r14 = 0xe4e4e4e4e4e4e4e4ull,
		.r15 = 0xf5f5f5f5f5f5f5f5ull,
	};
	struct hc_regs r = in;
	const u64 *a = &in.rcx, *b = &r.rcx;
	static const char *const names[] = {
		"rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11",
		"r12", "r13", "r14", "r15",
	};
	unsigned int i, bad = ~0u;

	pksv_vmcall_regs(&r);
	tap_ok(r.rax == 0 && r.rbx == (in.rbx ^ ~0ull), "%s (rax 0x%llx rbx 0x%llx)",
	       test_name[T_NOP_VALUE], r.rax, r.rbx);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (a[i] != b[i]) {
			bad = i;
			break;
		}
	if (bad == ~0u)
		tap_ok(1, "%s", test_name[T_NOP_PRESERVE]);
	else
		tap_ok(0, "%s (%s 0x%llx -> 0x%llx)", test_name[T_NOP_PRESERVE],
		       names[bad], a[bad], b[bad]);
}

static void test_enosys(void)
{
	u64 rax = hypercall(0x7f, 0, NULL);

	tap_ok(rax == neg_err(PKSV_ENOSYS), "%s (rax 0x%llx)", test_name[T_ENOSYS], rax);
}

static void test_hidden(void)
{
	u64 addr = 0, before = 0, after = 0, v_read, v_after_write;
	u64 rax, rax_before, rax_after;
	volatile u64 *p;

	rax = hypercall(PKSV_HC_SELFTEST_INFO, 0, &addr);
	tap_ok(rax == 0 && addr != 0 && !(addr & 7), "%s (rax 0x%llx addr 0x%llx)",
	       test_name[T_SELFTEST_INFO], rax, addr);
	if (rax != 0 || addr == 0 || (addr & 7)) {
		say("# no usable address: hidden-memory checks fail");
		tap_ok(0, "%s", test_name[T_HIDDEN_READ]);
		tap_ok(0, "%s", test_name[T_HIDDEN_WRITE]);
		tap_ok(0, "%s", test_name[T_HIDDEN_COUNTER]);
		return;
	}

	/* UEFI identity-maps physical memory, so the address is usable as is. */
	p = (volatile u64 *)(UINTN)addr;
	rax_before = hypercall(PKSV_HC_GET_COUNTER, PKSV_CTR_HIDDEN_ACCESS, &before);
	v_read = *p;
	*p = 0x5a5a5a5a5a5a5a5aull;
	v_after_write = *p;
	rax_after = hypercall(PKSV_HC_GET_COUNTER, PKSV_CTR_HIDDEN_ACCESS, &after);

	tap_ok(v_read == ~0ull, "%s (read 0x%llx)", test_name[T_HIDDEN_READ], v_read);
	tap_ok(v_after_write == ~0ull, "%s (read after write 0x%llx)",
	       test_name[T_HIDDEN_WRITE], v_after_write);
	tap_ok(rax_before == 0 && rax_after == 0 && after >= before + 2,
	       "%s (before %llu after %llu, rax 0x%llx/0x%llx)", test_name[T_HIDDEN_COUNTER],
	       before, after, rax_before, rax_after);
}

static void test_print_stats(void)
{
	u64 rax = hypercall(PKSV_HC_PRINT_STATS, 0, NULL);

	tap_ok(rax == 0, "%s (rax 0x%llx)", test_name[T_PRINT_STATS], rax);
}

static void test_counter_einval(void)
{
	u64 v = 0x77;
	u64 rax = hypercall(PKSV_HC_GET_COUNTER, PKSV_CTR_MAX, &v);

	tap_ok(rax == neg_err(PKSV_EINVAL), "%s (id %u, rax 0x%llx)",
	       test_name[T_COUNTER_EINVAL], PKSV_CTR_MAX, rax);
}

/* ---- PKS hypercall validation -------------------------------------- */

/* Failed calls seen by hc3() and how many changed RBX/RCX/RDX. */
static unsigned int fail_calls, fail_clobbered, fail_first_nr;

/*
 * A hypercall with three arguments and sentinels everywhere else.  A
 * failed call (RAX != 0) must leave RBX/RCX/RDX as they were: counted
 * here, reported by T_FAIL_REGS.
 */
static struct hc_regs hc3(u32 nr, u64 a0, u64 a1, u64 a2)
{
	struct hc_regs in = {
		.rax = PKSV_HC_RAX(nr), .rbx = a0, .rcx = a1, .rdx = a2,
		.rsi = 0x3333333333333333ull, .rdi = 0x4444444444444444ull,
	};
	struct hc_regs r = in;

	pksv_vmcall_regs(&r);
	if (r.rax != 0) {
		fail_calls++;
		if (r.rbx != in.rbx || r.rcx != in.rcx || r.rdx != in.rdx) {
			if (!fail_clobbered)
				fail_first_nr = nr;
			fail_clobbered++;
		}
	}
	return r;
}

static u64 hc3_rax(u32 nr, u64 a0, u64 a1, u64 a2)
{
	return hc3(nr, a0, a1, a2).rax;
}

static const char *err_name(u64 rax)
{
	static const char *const names[] = {
		"0", "-ENOSYS", "-EINVAL", "-EALIGN", "-EFAULT", "-EKEY",
		"-ENOSPC", "-ENOENT", "-ERANGE", "-ENOTSUP", "-EPERM",
	};
	long long v = -(long long)rax;

	if (rax == 0)
		return "0";
	if (v > 0 && v < (long long)(sizeof(names) / sizeof(names[0])))
		return names[v];
	return "?";
}

/* One check: the call returned want (0 or a negative PKSV_E*). */
static void expect_rax(unsigned int t, u64 rax, u64 want)
{
	if (rax == 0)
		tap_ok(rax == want, "%s (rax 0)", test_name[t]);
	else
		tap_ok(rax == want, "%s (rax 0x%llx %s)", test_name[t], rax, err_name(rax));
}

/* One check over several calls that must all return want. */
static void expect_all(unsigned int t, const u64 *rax, unsigned int n, u64 want)
{
	unsigned int i, bad = n;

	for (i = 0; i < n; i++)
		if (rax[i] != want) {
			bad = i;
			break;
		}
	if (bad == n)
		tap_ok(1, "%s (%u calls)", test_name[t], n);
	else
		tap_ok(0, "%s (call %u: rax 0x%llx %s)", test_name[t], bad + 1,
		       rax[bad], err_name(rax[bad]));
}

static void test_pks_calls(EFI_SYSTEM_TABLE *st)
{
	const u64 EINVAL = neg_err(PKSV_EINVAL), EALIGN = neg_err(PKSV_EALIGN);
	const u64 EFAULT = neg_err(PKSV_EFAULT), EKEY = neg_err(PKSV_EKEY);
	const u64 ENOENT = neg_err(PKSV_ENOENT), ENOTSUP = neg_err(PKSV_ENOTSUP);
	EFI_PHYSICAL_ADDRESS mem = 0;
	EFI_STATUS s;
	struct hc_regs v;
	u64 hvpa = 0, page, gfn, r[4], m0 = 0, m1 = 0, m2 = 0, other;

	v = hc3(PKSV_HC_VERSION, 0, 0, 0);
	tap_ok(v.rax == 0 && v.rdx != PKSV_BACKEND_OFF &&
	       (v.rcx & (PKSV_FEAT_PKS | PKSV_FEAT_UNPROTECT)) ==
	       (PKSV_FEAT_PKS | PKSV_FEAT_UNPROTECT),
	       "%s (backend %llu%s, features 0x%llx)", test_name[T_PKS_BACKEND], v.rdx,
	       v.rdx == PKSV_BACKEND_SOFT ? " soft" : v.rdx == PKSV_BACKEND_HW ? " hw" : "",
	       v.rcx);

	(void)hypercall(PKSV_HC_SELFTEST_INFO, 0, &hvpa);
	hvpa &= ~0xfffull;

	/* Four pages of our own: two keyed, one to unprotect, one spare. */
	s = uefi_call_wrapper(st->BootServices->AllocatePages, 4, AllocateAnyPages,
			      EfiLoaderData, 4, &mem);
	if (EFI_ERROR(s) || !mem) {
		say("# AllocatePages(4) failed: 0x%llx", (u64)s);
		mem = 0x100000;	/* still a valid, aligned guest-physical page */
	}
	page = mem;
	gfn = (mem + 2 * 4096) >> 12;

	/* RANGE_REGISTER / RANGE_UNREGISTER */
	expect_rax(T_RR_EALIGN_GPA, hc3_rax(PKSV_HC_RANGE_REGISTER, page + 0x800, 4096, 1), EALIGN);
	expect_rax(T_RR_EALIGN_LEN, hc3_rax(PKSV_HC_RANGE_REGISTER, page, 0x800, 1), EALIGN);
	expect_rax(T_RR_EINVAL_LEN0, hc3_rax(PKSV_HC_RANGE_REGISTER, page, 0, 1), EINVAL);
	expect_rax(T_RR_EKEY0, hc3_rax(PKSV_HC_RANGE_REGISTER, page, 4096, 0), EKEY);
	expect_rax(T_RR_EKEY16, hc3_rax(PKSV_HC_RANGE_REGISTER, page, 4096, 16), EKEY);
	expect_rax(T_RR_EFAULT_HV, hc3_rax(PKSV_HC_RANGE_REGISTER, hvpa, 4096, 1), EFAULT);
	expect_rax(T_RR_EFAULT_BIG, hc3_rax(PKSV_HC_RANGE_REGISTER, 1ull << 52, 4096, 1), EFAULT);
	expect_rax(T_RR_OK, hc3_rax(PKSV_HC_RANGE_REGISTER, page, 2 * 4096, 1), 0);
	expect_rax(T_RR_OVERLAP, hc3_rax(PKSV_HC_RANGE_REGISTER, page + 4096, 2 * 4096, 2), EINVAL);
	expect_rax(T_RR_UNREG_OK, hc3_rax(PKSV_HC_RANGE_UNREGISTER, page, 2 * 4096, 0), 0);
	expect_rax(T_RR_UNREG_ENOENT, hc3_rax(PKSV_HC_RANGE_UNREGISTER, page, 2 * 4096, 0), ENOENT);

	/* UNPROTECT_PAGE / PROTECT_PAGE (access checked on a valid gfn) */
	expect_rax(T_UP_ACC0, hc3_rax(PKSV_HC_UNPROTECT_PAGE, gfn, 0, 0), EINVAL);
	expect_rax(T_UP_ACC_WONLY, hc3_rax(PKSV_HC_UNPROTECT_PAGE, gfn, PKSV_ACCESS_WRITE, 0), EINVAL);
	expect_rax(T_UP_ACC4, hc3_rax(PKSV_HC_UNPROTECT_PAGE, gfn, 4, 0), EINVAL);
	expect_rax(T_UP_EFAULT_HV, hc3_rax(PKSV_HC_UNPROTECT_PAGE, hvpa >> 12, PKSV_ACCESS_READ, 0), EFAULT);
	r[0] = hc3_rax(PKSV_HC_UNPROTECT_PAGE, 1ull << 40, PKSV_ACCESS_READ, 0);
	r[1] = hc3_rax(PKSV_HC_UNPROTECT_PAGE, ~0ull, PKSV_ACCESS_READ, 0);
	expect_all(T_UP_EFAULT_HUGE, r, 2, EFAULT);
	r[0] = hc3_rax(PKSV_HC_PROTECT_PAGE, hvpa >> 12, 0, 0);
	r[1] = hc3_rax(PKSV_HC_PROTECT_PAGE, 1ull << 40, 0, 0);
	expect_all(T_PR_EFAULT, r, 2, EFAULT);
	r[0] = hc3_rax(PKSV_HC_UNPROTECT_PAGE, gfn, PKSV_ACCESS_READ, 0);
	r[1] = hc3_rax(PKSV_HC_UNPROTECT_PAGE, gfn, PKSV_ACCESS_READ | PKSV_ACCESS_WRITE, 0);
	expect_all(T_UP_TWICE, r, 2, 0);
	/* The harness expects unprotected_pages=1 here and 0 at the end. */
	say("# stats with one unprotected page follow");
	expect_rax(T_UP_STATS, hc3_rax(PKSV_HC_PRINT_STATS, 0, 0, 0), 0);
	r[0] = hc3_rax(PKSV_HC_PROTECT_PAGE, gfn, 0, 0);
	r[1] = hc3_rax(PKSV_HC_PROTECT_PAGE, gfn, 0, 0);
	expect_all(T_PR_TWICE, r, 2, 0);
	expect_rax(T_PR_ENOENT, hc3_rax(PKSV_HC_PROTECT_PAGE, gfn, 0, 0), ENOENT);

	/* GRANT / REVOKE */
	expect_rax(T_GRANT_EKEY0, hc3_rax(PKSV_HC_GRANT, 0, PKSV_ACCESS_READ, 0), EKEY);
	expect_rax(T_GRANT_EKEY16, hc3_rax(PKSV_HC_GRANT, 16, PKSV_ACCESS_READ, 0), EKEY);
	r[0] = hc3_rax(PKSV_HC_GRANT, 3, 0, 0);
	r[1] = hc3_rax(PKSV_HC_GRANT, 3, 4, 0);
	expect_all(T_GRANT_EINVAL, r, 2, EINVAL);
	expect_rax(T_REVOKE_ENOENT, hc3_rax(PKSV_HC_REVOKE, 3, 0, 0), ENOENT);
	r[0] = hc3_rax(PKSV_HC_GRANT, 3, PKSV_ACCESS_READ, 0);
	r[1] = hc3_rax(PKSV_HC_REVOKE, 3, 0, 0);
	r[2] = hc3_rax(PKSV_HC_REVOKE, 3, 0, 0);
	tap_ok(r[0] == 0 && r[1] == 0 && r[2] == ENOENT, "%s (rax %s %s %s)",
	       test_name[T_GRANT_REVOKE], err_name(r[0]), err_name(r[1]), err_name(r[2]));

	/* SET_MODE / GET_MODE / LOCK_KEY */
	expect_rax(T_MODE_EINVAL, hc3_rax(PKSV_HC_SET_MODE, 4, 0, 0), EINVAL);
	v = hc3(PKSV_HC_GET_MODE, 0, 0, 0);
	r[0] = v.rax;
	m0 = v.rbx;
	other = m0 == PKSV_MODE_SILENT ? PKSV_MODE_RELAXED : PKSV_MODE_SILENT;
	r[1] = hc3_rax(PKSV_HC_SET_MODE, other, 0, 0);
	v = hc3(PKSV_HC_GET_MODE, 0, 0, 0);
	r[2] = v.rax;
	m1 = v.rbx;
	r[3] = hc3_rax(PKSV_HC_SET_MODE, m0, 0, 0);
	v = hc3(PKSV_HC_GET_MODE, 0, 0, 0);
	m2 = v.rbx;
	tap_ok(r[0] == 0 && r[1] == 0 && r[2] == 0 && r[3] == 0 && v.rax == 0 &&
	       m1 == other && m2 == m0,
	       "%s (mode %llu -> set %llu -> got %llu -> restored %llu; rax %s %s %s %s %s)",
	       test_name[T_MODE_ROUNDTRIP], m0, other, m1, m2, err_name(r[0]),
	       err_name(r[1]), err_name(r[2]), err_name(r[3]), err_name(v.rax));
	r[0] = hc3_rax(PKSV_HC_LOCK_KEY, 0, 0, 0);
	r[1] = hc3_rax(PKSV_HC_LOCK_KEY, 16, 0, 0);
	expect_all(T_LOCK_EKEY, r, 2, EKEY);

	/* VIEW_INDEX */
	expect_rax(T_VIEW_EINVAL, hc3_rax(PKSV_HC_VIEW_INDEX, 1ull << 32, 0, 0), EINVAL);
	v = hc3(PKSV_HC_VIEW_INDEX, 0, 0, 0);
	if (v.rax == 0)
		tap_ok(1, "%s (returned 0: VMFUNC views, index %llu)", test_name[T_VIEW_INDEX0], v.rbx);
	else
		tap_ok(v.rax == ENOTSUP, "%s (returned %s%s)", test_name[T_VIEW_INDEX0],
		       err_name(v.rax), v.rax == ENOTSUP ? ": no VMFUNC views" : "");

	if (!fail_clobbered)
		tap_ok(fail_calls > 0, "%s (%u failed calls)", test_name[T_FAIL_REGS], fail_calls);
	else
		tap_ok(0, "%s (%u of %u failed calls changed them, first call 0x%x)",
		       test_name[T_FAIL_REGS], fail_clobbered, fail_calls, fail_first_nr);

	expect_rax(T_FINAL_STATS, hc3_rax(PKSV_HC_PRINT_STATS, 0, 0, 0), 0);

	if (mem && !EFI_ERROR(s))
		uefi_call_wrapper(st->BootServices->FreePages, 2, mem, 4);
}

/* gnu-efi: efi_main is called through its own wrapper, so no EFIAPI. */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	unsigned int i;

	InitializeLib(image, st);
	/* Keep the firmware watchdog from resetting a slow emulator run. */
	uefi_call_wrapper(st->BootServices->SetWatchdogTimer, 4, 0, 0, 0, NULL);
	com1_init();

	say("PKSV-EFI-TEST: start");
	say("1..%u", (unsigned int)T_COUNT);
	test_cpuid_basic();
	if (pksv_present()) {
		test_cpuid_hv();
		test_version();
		test_nop();
		test_enosys();
		test_hidden();
		test_print_stats();
		test_counter_einval();
		test_pks_calls(st);
	} else {
		say("# no pksvisor");
		say("PKSV-EFI-TEST: native");
		for (i = T_CPUID_BASIC + 1; i < T_COUNT; i++)
			tap_skip(test_name[i], "no hypervisor");
	}
	say("# %u checks, %u failed", tap_num, tap_failed);
	say("PKSV-EFI-TEST: done");
	power_off(st);
	return EFI_SUCCESS;
}
