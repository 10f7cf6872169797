#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# Every pksvisor test, in order of cost.  Each stage prints its own
# results; the last line is the machine-readable "N passed, N failed"
# over stages.  Exits non-zero if any stage failed.
#
#   judges       the judges themselves: stub emulators replay bad logs
#                through the harness scripts, which must fail (no emulator)
#   layering     the include rules of the layers (check-layering.sh): no
#                vmm/ or pks/ header in include/, lib/, ept/; pks/ only
#                through vmm/seam.h, boot/ only through vmm/build.h
#   unit         host unit tests (cmocka, ASan + UBSan), PKSV_UNIT_TIMEOUT
#                seconds at most (default 300)
#   efi-bochs    EFI test app under pksvisor in Bochs (VMX)
#   efi-qemu     pksvisor in QEMU TCG (no VMX): fallback=boot path
#   features-qemu   run-features.sh qemu: bad load options, over-long
#                pksvisor.cfg, fallback=stop, missing next= (about 10 s)
#   features-bochs  run-features.sh bochs: pks=off by load options,
#                relaxed/silent PK faults, S3 refused, periodic stats,
#                reset via 0xcf9, guest triple fault, fatal dump of the test
#                build (four Bochs runs, about 2 minutes)
#   linux-bochs  Linux guest under pksvisor in Bochs, stats at power-off
#   linux-qemu   Linux guest PKS suite on QEMU TCG (-cpu max, -cpu max,-pks)
#   linux-nozd   build-only: the series with PKS and its test but without
#                ZONE_DEVICE (build-kernel.sh --variant nozonedevice, cached)
#   pks-conf     PKS conformance guest: QEMU -cpu max (reference) and under
#                pksvisor pks=soft in Bochs, results compared line by line
#   pks-conf-nopks  the same guest on QEMU -cpu max,-pks: every case skips
#   fuzz         libFuzzer over the hypercall decoder and PKS tables (bounded)
#   linux-pks-bochs  Linux PKS suite under pksvisor in Bochs vs QEMU
#   bench        benchmarks (numbers, no pass/fail on time)
#   nmi-bochs    NMIs (self IPI, nested, I/O APIC) under pksvisor in Bochs,
#                guest count == pksvisor's nmi_injected
#   pv-calls     paravirtual PKS hypercalls (pksv-pv.efi) under pksvisor in Bochs
#   vmfunc       VMFUNC(0, 0..511) from CPL 0 and 3 cannot disarm PKS (pksv-vmfunc.efi)
#   hidden       pksvisor's reservation refused on every path (pksv-hidden.efi)
#   hw-conf      the second test bed, patched upstream Bochs (VMX + PKS,
#                built or reused by tests/emulators/build-bochs.sh): the PKS
#                conformance guest natively (also the check that the patch
#                is in the binary), under pksvisor pks=hw, pks=auto (must
#                pick hw) and pks=soft (tigerlake, sapphire_rapids), each
#                compared with QEMU
#   hw-efi       EFI test app under pksvisor pks=hw in upstream Bochs
#   hw-pv        pksv-pv.efi (UNPROTECT/GRANT/LOCK_KEY, PKRU faults in every
#                mode) under pks=hw, then under pks=soft, in upstream Bochs
#   hw-linux     Linux PKS suite under pks=hw in upstream Bochs vs QEMU, then
#                pks=auto (must pick hw) and pks=soft (model tigerlake) there
#   hw-bench     the benchmark under pks=hw in upstream Bochs: PKRS WRMSR and
#                RDMSR pass through (0 exits), pair 2, VIEW_INDEX -ENOTSUP
#   make-bench   `make bench`: soft and hw benchmarks side by side, table,
#                CSV, PNG, pksvisor instructions per exit (native run),
#                memory per guest size (4 GiB run), every bound checked
#                (bench-report.py); the Linux guest's short version
#                (PKSV_BENCH_LINUX=short: exits per kernel PKS operation
#                under soft WRMSR and soft VMFUNC)
#   nohalt       guest actions that used to halt pksvisor (BAR above RAM,
#                MOV to CR #GP cases, TF over CPUID, AVX2 gather over keyed
#                pages) under pksvisor pks=soft in Bochs
#   tools        user tooling without an emulator (tests/tools/run.sh):
#                pksvisor-install on a scratch ESP, make sign + sbverify,
#                man --warnings, pksvisor-stat on harness logs
#   stat-bochs   Linux guest with stats=2 in Bochs, then pksvisor-stat on
#                that fresh serial log (numbers checked against the log)
#   grub-bochs   firmware -> pksvisor -> Debian's GRUB -> Linux from an ext4
#                /boot partition, the guest's PKS suite passing (Bochs)
#   cfg-limit    a pksvisor.cfg longer than pksvisor reads is refused in
#                Bochs (as pksvisor-cfgcheck refuses it), one of exactly
#                8192 bytes is read whole
#   shim-bochs   the Secure Boot layout of docs/install.md with Debian's shim:
#                shim -> pksvisor -> shim -> GRUB -> Linux from ext4 (SB off)
#   sign-bochs   the Secure Boot signed image (throwaway key) boots the EFI
#                test app in Bochs
#   smp-efi      pksv-mp.efi under pksvisor on 2 and 4 CPUs (upstream Bochs):
#                from every CPU pksvisor's CPUID leaf and the reservation
#                reading all-ones; statistics for every vCPU; then
#                pksv-shoot.efi on 2 CPUs: the stale-TLB window test (an AP
#                writing a page must fault once PROTECT on the boot CPU has
#                returned: the shootdown), and its hw twin under pks=hw in
#                the sapphire_rapids model (LOCK_KEY must clamp the AP's
#                PKRS at once); under soft, LOCK_KEY loops while the AP
#                writes a locked-key page through a VMFUNC-pinned view;
#                then the AP-failure runs (test builds whose
#                vCPU 1 fails VMLAUNCH / VMXON): the guest's INIT-SIPI-SIPI
#                must never start the parked AP, and with a native AP
#                pksvisor must hand off nothing; and an MADT listing a
#                startable CPU MP services do not report must make pksvisor
#                virtualize nothing (docs/boot-flow.md)
#   smp-native   Bochs cpu count=2 with the test firmware's ACPI tables
#                (tests/guest-efi/fw-acpi.efi), Linux without pksvisor: 2 CPUs
#   smp-2        the same under pksvisor (upstream Bochs, tigerlake): every
#                CPU a guest; Linux boots with maxcpus=1 and the cpus runner
#                brings CPU 1 up late (PKS set up on a CPU that arrives after
#                boot, its debugfs statistics); 10 offline/online cycles under
#                the kmap() load with PKRS and protection checked on the CPU
#                after each; the pks, daxpaths, pksvisor and strict suites;
#                the suites pinned to each CPU and the kmap() stress;
#                statistics for vCPUs 0 and 1 (run-smp-bochs.sh, testing.md
#                "Every CPU")
#   smp-4        the same with cpu count=4 (all four up at boot): smoke,
#                cpus, the suites pinned to each of the 4 CPUs and the kmap()
#                stress (it needs item 4 of the Bochs patch: a broadcast
#                SIPI reaches every AP; docs/testing.md, "Every CPU")
#
# PKSV_STAGES="unit efi-bochs" runs a subset.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

# Every way out prints the closing "N passed, N failed" line.
if ! tests/install-deps.sh; then
	echo "run-all: cannot install dependencies"
	echo "0 passed, 1 failed"
	exit 1
fi
# The host unit tests finish in seconds; a hang must not stall the run.
UNIT_TIMEOUT=${PKSV_UNIT_TIMEOUT:-300}
STAGES=${PKSV_STAGES:-"judges layering unit tools efi-bochs cfg-limit sign-bochs efi-qemu features-qemu features-bochs pks-conf pks-conf-nopks linux-bochs stat-bochs linux-qemu linux-nozd linux-pks-bochs grub-bochs shim-bochs fuzz bench pv-calls nmi-bochs vmfunc hidden nohalt hw-conf hw-efi hw-pv hw-linux hw-bench make-bench smp-efi smp-native smp-2 smp-4"}

# A stage whose script has not landed yet fails loudly rather than passing.
optional() {
	[ -x "$1" ] || { echo "run-all: $1 missing"; return 1; }
	"$@"
}

stage_cmd() {
	case "$1" in
	judges)		tests/harness/run-judge-tests.sh ;;
	layering)	tests/harness/check-layering.sh ;;
	unit)		timeout -k 10 "$UNIT_TIMEOUT" make -s unit ||
			{ r=$?; [ $r -ne 124 ] || echo "run-all: unit tests timed out after ${UNIT_TIMEOUT}s"; return $r; } ;;
	efi-bochs)	tests/harness/run-efi-test.sh bochs ;;
	efi-qemu)	tests/harness/run-efi-test.sh qemu ;;
	features-qemu)	tests/harness/run-features.sh qemu ;;
	features-bochs)	tests/harness/run-features.sh bochs ;;
	tools)		tests/tools/run.sh ;;
	sign-bochs)	tests/harness/run-signed-bochs.sh ;;
	cfg-limit)	tests/harness/run-cfg-limit-bochs.sh ;;
	linux-bochs)	tests/harness/run-linux-bochs.sh ;;
	linux-qemu)	tests/linux/run-tests.sh ;;
	linux-nozd)	guest-patches/build-kernel.sh --variant nozonedevice >/dev/null ;;
	stat-bochs)	PKSV_STATS=2 tests/harness/run-linux-bochs.sh &&
			PKSV_STAT_LOG="${BUILD:-build}/test-linux-bochs/serial.txt" tests/tools/test-stat.sh ;;
	pks-conf)	tests/harness/run-pks-conformance.sh compare ;;
	pks-conf-nopks)	tests/harness/run-pks-conformance.sh qemu-nopks ;;
	pv-calls)	tests/harness/run-pksv-app.sh pv ;;
	nmi-bochs)	tests/harness/run-nmi-test.sh ;;
	vmfunc)		tests/harness/run-pksv-app.sh vmfunc ;;
	hidden)		tests/harness/run-pksv-app.sh hidden ;;
	hw-conf)	tests/harness/run-pks-conformance.sh compare-hw ;;
	hw-efi)		tests/harness/run-efi-test.sh bochs-hw ;;
	hw-pv)		tests/harness/run-pksv-app.sh pv hw && tests/harness/run-pksv-app.sh pv soft-upstream ;;
	hw-linux)	tests/harness/run-linux-pks-bochs.sh compare --pks hw --emulator upstream &&
			tests/harness/run-linux-pks-bochs.sh bochs --pks auto --emulator upstream &&
			tests/harness/run-linux-pks-bochs.sh bochs --pks soft --emulator upstream ;;
	hw-bench)	tests/harness/run-bench.sh hw ;;
	make-bench)	PKSV_BENCH_LINUX=short make -s bench ;;
	smp-efi)	tests/harness/run-smp-bochs.sh efi 2 && tests/harness/run-smp-bochs.sh efi 4 &&
			tests/harness/run-smp-bochs.sh shoot 2 &&
			PKSV_PKS=hw PKSV_BOCHS_MODEL=sapphire_rapids tests/harness/run-smp-bochs.sh shoot 2 &&
			tests/harness/run-smp-bochs.sh apfail-vmlaunch 2 &&
			tests/harness/run-smp-bochs.sh apfail-vmxon 2 &&
			tests/harness/run-smp-bochs.sh madt-extra 2 ;;
	smp-native)	tests/harness/run-smp-bochs.sh native 2 ;;
	smp-2)		PKSV_TESTS=smoke,cpus,pks,daxpaths,pinned,pksvisor,strict PKSV_CPU_CYCLES=10 \
			PKSV_EXTRA_ARGS=maxcpus=1 tests/harness/run-smp-bochs.sh linux 2 ;;
	smp-4)		PKSV_TESTS=smoke,cpus,pinned tests/harness/run-smp-bochs.sh linux 4 ;;
	nohalt)		tests/harness/run-pksv-app.sh nohalt ;;
	fuzz)		PKSV_FUZZ_SECONDS=${PKSV_FUZZ_SECONDS:-20} optional tests/fuzz/run.sh ;;
	grub-bochs)	tests/harness/run-grub-bochs.sh grub ;;
	shim-bochs)	tests/harness/run-grub-bochs.sh shim ;;
	linux-pks-bochs) optional tests/harness/run-linux-pks-bochs.sh ;;
	bench)		optional tests/harness/run-bench.sh ;;
	*)		echo "run-all: unknown stage $1"; return 2 ;;
	esac
}

echo "run-all: building"
if ! make -s -j2 all; then
	echo "run-all: build failed"
	echo "0 passed, 1 failed"
	exit 1
fi

passed=0 failed=0 summary=()
for s in $STAGES; do
	echo "===== run-all: stage $s"
	t0=$(date +%s)
	if stage_cmd "$s"; then
		r=PASS; passed=$((passed + 1))
	else
		r=FAIL; failed=$((failed + 1))
	fi
	summary+=("$(printf '%-15s %s %4ds' "$s" "$r" $(( $(date +%s) - t0 )))")
done
echo "===== run-all: summary"
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
