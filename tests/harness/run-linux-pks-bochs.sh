#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# run-linux-pks-bochs.sh [compare|bochs|qemu] [--pks soft|hw|auto]
#                        [--emulator 2.7|upstream]
#
# Issue 4 item 6(b): the Linux guest's PKS KTAP suite (tests/linux/initramfs/
# tests/*.sh: the lib/test_pks.c cases, pks_mode_sysfs, pmem_dax_file and
# the strict-mode oops) under pksvisor's soft (EPT) PKS backend in Bochs
# (tigerlake: VMX, no PKS), compared with the same kernel and initramfs
# natively on QEMU TCG -cpu max (which emulates PKS: the reference).
#
#  bochs:   ESP with
#             \EFI\BOOT\BOOTX64.EFI   build/pksvisor.efi
#             \EFI\BOOT\pksvisor.cfg  next=\linux.efi args="<cmdline>"
#                                     pks=soft pks_mode=strict stats=off
#             \linux.efi              guest-patches/build-kernel.sh
#             \initrd.img             tests/linux/build-initramfs.sh
#           The guest boots with its default pks_mode (relaxed), exactly as
#           on QEMU.  pksvisor runs pks_mode=strict, which for pksvisor
#           means "inject every PK fault it sees into the guest": the guest
#           kernel then applies its OWN relaxed/strict/silent logic to the
#           #PF (its warnings, its per-context unprotect by a PKRS write,
#           its oops in strict mode), as on a CPU with PKS.  pksvisor's
#           relaxed mode would instead swallow faults before the guest saw
#           them (relaxed_warns_once, exception fixups and strict_oops
#           would then behave differently from hardware).
#  qemu:    tests/linux/run-qemu.sh --cpu max (2 vCPUs) with the same
#           kernel, initramfs and command line.
#  compare: both (default); the KTAP result lines (except the pksvisor-only
#           pksv_* cases of 20-pksvisor.sh, which QEMU skips as a whole
#           with "1..0 # SKIP") must be identical in
#           number, name and outcome (ok / not ok / ok # SKIP); the text
#           after '#' of non-SKIP results (addresses, modes) is not
#           compared.  A mismatch prints a diff.
#
# --pks / --emulator choose pksvisor's backend and the Bochs to run it in
# (default soft in Bochs 2.7).  The hardware backend needs the patched
# upstream Bochs (VMX and PKS, model sapphire_rapids), where --pks auto must
# pick hw; --pks soft --emulator upstream runs upstream's tigerlake model.
# Output then goes to $BUILD/test-linux-pks-bochs-<pks>-<emulator>/.
#
# All runners run in one boot each; the strict-mode oops runner is last and
# bracketed by "PKSV-GUEST: oops expected/done" (an oops elsewhere fails).
# Every case must pass in both runs (no "not ok"), and in Bochs pksvisor must
# print its statistics at power-off with no FATAL line.
#
# Environment: BUILD (default <repo>/build), PKSV_TIMEOUT (Bochs seconds,
# default 600), PKSV_STATS (pksvisor stats=, default off), PKSV_EXTRA_ARGS
# (appended to the kernel command line of both runs), PKSV_HV_MODE (pksvisor
# pks_mode=, default strict; for experiments only), PKSV_KERNEL (a bzImage to
# boot instead of the one guest-patches/build-kernel.sh builds).
# Output in $BUILD/test-linux-pks-bochs/: serial.txt (Bochs), qemu.log,
# results-bochs.txt, results-qemu.txt, bochs.log.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
. "$HERE/lib.sh"

MODE=compare
PKS=soft
EMULATOR=2.7
while [ $# -gt 0 ]; do
	case "$1" in
	compare|bochs|qemu) MODE=$1; shift ;;
	--pks) PKS="$2"; shift 2 ;;
	--emulator) EMULATOR="$2"; shift 2 ;;
	*) echo "usage: $0 [compare|bochs|qemu] [--pks soft|hw|auto] [--emulator 2.7|upstream]" >&2; exit 2 ;;
	esac
done
case "$PKS/$EMULATOR" in
soft/2.7) BOCHS_OPTS=(); WANT_BACKEND=soft ;;
soft/upstream) BOCHS_OPTS=(--emulator upstream --model tigerlake); WANT_BACKEND=soft ;;
hw/upstream|auto/upstream) BOCHS_OPTS=(--emulator upstream --model sapphire_rapids); WANT_BACKEND=hw ;;
*) echo "run-linux-pks-bochs: --pks $PKS needs --emulator upstream (Bochs 2.7 has no PKS)" >&2; exit 2 ;;
esac

BUILD="$(realpath -m "${BUILD:-$ROOT/build}")"
HV="$BUILD/pksvisor.efi"
OUT="$BUILD/test-linux-pks-bochs"
[ "$PKS/$EMULATOR" = soft/2.7 ] || OUT="$OUT-$PKS-$EMULATOR"
mkdir -p "$OUT"

KERNEL=${PKSV_KERNEL:-$("$ROOT/guest-patches/build-kernel.sh" | tail -n 1)}
INITRD=$("$ROOT/tests/linux/build-initramfs.sh" "$OUT/initrd.img" | tail -n 1)
ARGS="$(tr -s ' \n' ' ' <"$ROOT/tests/linux/cmdline")${PKSV_EXTRA_ARGS:-}"
ARGS="${ARGS% }"

# results LOG OUT: normalized KTAP result lines ("ok 3 key_ad",
# "ok 1 pks_available # SKIP", "not ok 5 x"), CRs, escapes, printk prefixes
# and the free text after '#' removed.
results() {
	LC_ALL=C sed -E -e 's/\x1b\[[0-9;=?]*[A-Za-z]//g' -e 's/\r//g' \
		-e 's/^\[ *[0-9]+\.[0-9]+\] //' "$1" |
		LC_ALL=C grep -aE '^(not )?ok [0-9]+ ' |
		LC_ALL=C sed -E -e 's/ # (SKIP|skip).*/ # SKIP/' -e '/# SKIP$/!s/ *#.*//' >"$2" || true
}

run_qemu() {
	local start=$(now_ms) rc=0
	"$ROOT/tests/linux/run-qemu.sh" --name linux-pks-ref --cpu max \
		--kernel "$KERNEL" --initrd "$INITRD" --log "$OUT/qemu.log" \
		${PKSV_EXTRA_ARGS:+--append "$PKSV_EXTRA_ARGS"} \
		--expect '^ok [0-9]+ pks_available$' \
		--expect '^ok 1 strict_oops # oopsed' --reject '^ok [0-9]+ .*# SKIP' || rc=$?
	local ms=$(( $(now_ms) - start ))
	echo "run-linux-pks-bochs: QEMU -cpu max run took $((ms / 1000)).$(printf %03d $((ms % 1000)))s" >&2
	results "$OUT/qemu.log" "$OUT/results-qemu.txt"
	return $rc
}

run_bochs() {
	[ -f "$HV" ] || { echo "run-linux-pks-bochs: $HV missing: run make" >&2; return 1; }
	local cfg="$OUT/pksvisor.cfg" serial="$OUT/serial.txt" status=0 check=0 start ms fail=0
	{
		echo "# generated by tests/harness/run-linux-pks-bochs.sh"
		echo "# pks_mode=strict: pksvisor injects every PK fault; the guest's"
		echo "# own pks_mode (relaxed by default) decides what happens next."
		echo 'next=\linux.efi'
		echo "args=\"$ARGS\""
		echo "pks=$PKS"
		echo "pks_mode=${PKSV_HV_MODE:-strict}"
		echo "stats=${PKSV_STATS:-off}"
	} >"$cfg"
	"$HERE/mkesp.sh" "$OUT/esp.img" \
		"$HV:/EFI/BOOT/BOOTX64.EFI" \
		"$cfg:/EFI/BOOT/pksvisor.cfg" \
		"$KERNEL:/linux.efi" \
		"$INITRD:/initrd.img" >&2
	start=$(now_ms)
	"$HERE/run-bochs.sh" "$OUT/esp.img" "$serial" "${PKSV_TIMEOUT:-600}" --megs 512 \
		${BOCHS_OPTS[@]+"${BOCHS_OPTS[@]}"} || status=$?
	stop_if_emulator_never_ran "$status" run-linux-pks-bochs
	ms=$(( $(now_ms) - start ))
	echo "run-linux-pks-bochs: Bochs run took $((ms / 1000)).$(printf %03d $((ms % 1000)))s" >&2
	"$HERE/check-serial.sh" "$serial" --tap \
		--expect 'pksvisor: guest running' \
		--expect "PKS: backend $WANT_BACKEND \\(requested pks=$PKS\\)" \
		--expect "PKSV-GUEST: dmesg: pksvisor: ABI 1\\.[0-9]+, features .*, PKS backend $WANT_BACKEND" \
		--expect 'PKSV-GUEST: dmesg: pgmap: device memory protected by PKS key' \
		--expect 'PKSV-GUEST: dmesg: pksvisor: the kernel registers its keyed memory' \
		--expect 'pksvisor: stats vcpu=0 .* unprotected_pages=0 ' \
		--expect 'PKSV-GUEST: userspace up' \
		--expect 'PKSV-GUEST: done' \
		--expect '^ok [0-9]+ pks_available$' \
		--expect '^ok 1 strict_oops # oopsed' \
		--expect 'pksvisor: statistics \(power-off' \
		--expect 'pksvisor: stats vcpu=0 ' \
		--forbid 'pksvisor: FATAL' \
		--forbid 'pksvisor refused keyed range' \
		--forbid 'hypervisor does not know PKS key' \
		--expect '^ok [0-9]+ pksv_kmap_workqueue' \
		--expect '^ok [0-9]+ pksv_hc_errors' \
		--expect 'pksvisor: PKS: the guest registers its keyed ranges: page-table discovery off' \
		--expect 'pksvisor: PKS: fault mode set to relaxed by hypercall \(guest policy' \
		--expect '^ok [0-9]+ pksv_mode_agrees$' \
		--expect '^ok [0-9]+ mode_off_runtime$' \
		--expect '^ok [0-9]+ pksv_kmap_table_full # table full' \
		--expect '^ok [0-9]+ pksv_get_stats # vcpu line' \
		--expect '^ok [0-9]+ pksv_debugfs_stats # [1-9]' \
		--expect '^ok [0-9]+ pksv_user_vmcall_sigill' >&2 || check=$?
	# The guest's debugfs statistics against pksvisor's power-off line,
	# and pksvisor-stat's live mode on the tree rebuilt from the dump.
	rm -rf "$OUT/guest-stats-tree"
	"$HERE/check-guest-stats.py" "$serial" "$OUT/guest-stats-tree" \
		--stat "$ROOT/tools/pksvisor-stat" >&2 || fail=1
	# No SKIP in the PKS suite (pksv_* cases may skip only for a call that
	# pksvisor does not implement yet, ENOSYS), at least one case ran, and
	# no oops/BUG/WARNING outside the strict runner's markers.
	"$HERE/check-linux-guest.sh" "$serial" >&2 || fail=1
	results "$serial" "$OUT/results-bochs.txt"
	grep -a 'pksvisor: stats vcpu=' "$serial" | tail -n 2 >&2 || true
	if [ "$status" -ne 0 ] || [ "$check" -ne 0 ] || [ "$fail" -ne 0 ]; then
		[ "$status" -ne 124 ] || echo "run-linux-pks-bochs: Bochs timed out" >&2
		grep -aE 'VMFAIL|PANIC|panic' "$OUT/bochs.log" 2>/dev/null | grep -v 'Shutdown port' | tail -n 20 >&2 || true
		grep -a 'pksvisor:' "$serial" | tail -n 15 >&2 || true
		echo "run-linux-pks-bochs: Bochs run FAILED (serial: $serial)" >&2
		return 1
	fi
	echo "run-linux-pks-bochs: Bochs run passed" >&2
}

rc=0
case "$MODE" in
qemu) run_qemu || rc=1 ;;
bochs) run_bochs || rc=1 ;;
compare)
	run_qemu || rc=1
	run_bochs || rc=1
	if ! [ -s "$OUT/results-qemu.txt" ] || ! [ -s "$OUT/results-bochs.txt" ]; then
		echo "run-linux-pks-bochs: compare: KTAP results missing from a run" >&2; rc=1
	elif diff -u --label qemu-cpu-max --label pksvisor-bochs \
		<(grep -v ' pksv_' "$OUT/results-qemu.txt") \
		<(grep -v ' pksv_' "$OUT/results-bochs.txt") >&2; then
		echo "run-linux-pks-bochs: compare: $(grep -vc ' pksv_' "$OUT/results-qemu.txt") KTAP results identical (QEMU -cpu max vs pksvisor $PKS in Bochs $EMULATOR)" >&2
	else
		echo "run-linux-pks-bochs: compare: KTAP results differ (diff above)" >&2; rc=1
	fi ;;
esac
[ $rc -eq 0 ] && echo "run-linux-pks-bochs: $MODE: PASS" >&2 || echo "run-linux-pks-bochs: $MODE: FAIL" >&2
exit $rc
