#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# run-linux-bench.sh [native|off|wrmsr|vmfunc]...: the Linux side of make
# bench.  One Bochs 2.7 (tigerlake, clock: sync=none, so the TSC counts
# emulated instructions) boot per configuration of the same kernel,
# initramfs and command line (tests/linux/cmdline + pksv_tests=bench):
#
#   native  no pksvisor: pksv-launch.efi starts \linux.efi itself
#   off     pksvisor pks=off (VMX and EPT, no PKS for the guest)
#   wrmsr   pksvisor pks=soft, kernel pks_vmfunc=off (a WRMSR per PKRS switch)
#   vmfunc  pksvisor pks=soft, the kernel switches PKRS with VMFUNC
#
# Every configuration is started by pksv-launch.efi (\launch.txt), so the
# firmware path is the same.  The guest prints PKSV-CLOCK (TSC and
# CLOCK_MONOTONIC at /init) and the PKSV-LINUX-BENCH lines of
# tests/linux/initramfs/tests/60-bench.sh; they are kept in
# $BUILD/bench-linux/<config>.txt for bench-report.py --linux.
# Default: all four.  Exit status 0 when every run reached "PKSV-LINUX-BENCH:
# done" and powered off, 1 otherwise.
#
# Environment: BUILD, PKSV_TIMEOUT (per run, default 600 s),
# PKSV_BENCH_OUT (output directory, default $BUILD/bench-linux),
# PKSV_KERNEL (a bzImage to use instead of guest-patches/build-kernel.sh's),
# PKSV_BENCH_CALLS (workload calls per phase, default 256), PKSV_BENCH_CMDLINE
# (a file replacing tests/linux/cmdline, for experiments such as a boot
# without the pmem namespaces).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
. "$HERE/lib.sh"

CONFIGS=("$@")
[ ${#CONFIGS[@]} -gt 0 ] || CONFIGS=(native off wrmsr vmfunc)
for c in "${CONFIGS[@]}"; do
	case "$c" in native|off|wrmsr|vmfunc) ;;
	*) echo "usage: $0 [native|off|wrmsr|vmfunc]..." >&2; exit 2 ;;
	esac
done

BUILD="$(realpath -m "${BUILD:-$ROOT/build}")"
HV="$BUILD/pksvisor.efi"
[ -f "$HV" ] || { echo "run-linux-bench: $HV missing: run make" >&2; exit 1; }
need_pkg gnu-efi gcc make binutils
make -s -C "$ROOT/tests/guest-efi" BUILD="$BUILD/guest-efi" >&2
LAUNCH="$BUILD/guest-efi/pksv-launch.efi"

KERNEL=${PKSV_KERNEL:-$("$ROOT/guest-patches/build-kernel.sh" | tail -n 1)}
OUT="${PKSV_BENCH_OUT:-$BUILD/bench-linux}"
mkdir -p "$OUT"
INITRD=$("$ROOT/tests/linux/build-initramfs.sh" "$OUT/initrd.img" | tail -n 1)
ARGS="$(tr -s ' \n' ' ' <"${PKSV_BENCH_CMDLINE:-$ROOT/tests/linux/cmdline}")pksv_tests=bench pksv_bench_calls=${PKSV_BENCH_CALLS:-256}"

rc=0
for c in "${CONFIGS[@]}"; do
	dir="$OUT/$c"
	mkdir -p "$dir"
	args=$ARGS
	[ "$c" = wrmsr ] && args="$args pks_vmfunc=off"
	case "$c" in
	native) line="\\linux.efi $args" ;;
	off) line="\\pksvisor.efi pks=off stats=off next=\\linux.efi args=\"$args\"" ;;
	*) line="\\pksvisor.efi pks=soft pks_mode=strict stats=off next=\\linux.efi args=\"$args\"" ;;
	esac
	printf '%s\n' "$line" >"$dir/launch.txt"
	"$HERE/mkesp.sh" "$dir/esp.img" \
		"$LAUNCH:/EFI/BOOT/BOOTX64.EFI" \
		"$dir/launch.txt:/launch.txt" \
		"$HV:/pksvisor.efi" \
		"$KERNEL:/linux.efi" \
		"$INITRD:/initrd.img"
	status=0
	start=$(now_ms)
	"$HERE/run-bochs.sh" "$dir/esp.img" "$dir/serial.txt" "${PKSV_TIMEOUT:-600}" \
		--megs 512 --until 'PKSV-GUEST: done' --grace 20 || status=$?
	stop_if_emulator_never_ran "$status" run-linux-bench
	ms=$(( $(now_ms) - start ))
	LC_ALL=C sed -E -e 's/\x1b\[[0-9;=?]*[A-Za-z]//g' -e 's/\r//g' "$dir/serial.txt" |
		LC_ALL=C grep -aE '^(PKSV-CLOCK|PKSV-LINUX-BENCH): ' >"$OUT/$c.txt" || true
	echo "run-linux-bench: $c: Bochs run took $((ms / 1000))s" >&2
	sed "s/^/  $c: /" "$OUT/$c.txt" >&2
	if ! grep -q '^PKSV-LINUX-BENCH: done' "$OUT/$c.txt" ||
	   ! grep -q '^PKSV-CLOCK: boot ' "$OUT/$c.txt"; then
		echo "run-linux-bench: $c: incomplete (status $status, serial $dir/serial.txt)" >&2
		rc=1
	fi
	if [ "$c" != native ] && grep -aq 'pksvisor: FATAL' "$dir/serial.txt"; then
		echo "run-linux-bench: $c: pksvisor FATAL" >&2
		rc=1
	fi
done
exit $rc
