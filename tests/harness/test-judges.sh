#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# test-judges.sh: tests of the harness's own judgement.  A judge that
# passes a failed run is worse than none, so each case here makes an
# emulator fail in one known way and asserts that the harness says so:
#
#   broken-config   real Bochs, a bochsrc with an unknown directive
#                   (PKSV_BOCHSRC_EXTRA): run-bochs.sh returns 125 and names
#                   the directive
#   alsa-abort      stub Bochs dying of SIGABRT before the firmware runs (the
#                   sound-mixer abort of issue [fresh-machine]), through the
#                   whole efi-bochs stage: the stage fails with "Bochs
#                   aborted at start ... buffer overflow detected", not with
#                   "no TAP output"
#   panic           stub Bochs with firmware output, then a PANIC: status 4,
#                   the panic quoted; not a pass
#   qemu-abort      stub QEMU failing on its command line: run-qemu.sh 125
#   poweroff        the control: a stub Bochs replaying a good run's serial
#                   log and powering off passes run-bochs.sh and the
#                   efi-bochs judgement (so the cases above fail for the
#                   reason they name, not because stubs cannot pass)
#
# Needs build/pksvisor.efi (run-all builds it first).  Last line:
# "N passed, N failed".
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
. "$HERE/lib.sh"
BUILD="$(realpath -m "${BUILD:-$ROOT/build}")"
T="$BUILD/test-judges"
rm -rf "$T"
mkdir -p "$T"
STUBS="$HERE/stubs"

passed=0 failed=0
result() {	# result OK|FAIL NAME DETAIL
	if [ "$1" = OK ]; then
		passed=$((passed + 1)); echo "ok - $2"
	else
		failed=$((failed + 1)); echo "not ok - $2: $3"
	fi
}
# expect_run NAME WANT_STATUS OUTFILE REGEX... : the status and every
# REGEX (grep -E) in OUTFILE; a REGEX starting with ! must not match.
expect_run() {
	local name=$1 want=$2 got=$3 out=$4 re bad=""
	shift 4
	[ "$got" -eq "$want" ] || bad="status $got, want $want"
	for re in "$@"; do
		if [ "${re#!}" != "$re" ]; then
			! grep -aEq -- "${re#!}" "$out" || bad="${bad:+$bad; }unexpected /${re#!}/"
		else
			grep -aEq -- "$re" "$out" || bad="${bad:+$bad; }missing /$re/"
		fi
	done
	if [ -z "$bad" ]; then
		result OK "$name"
	else
		result FAIL "$name" "$bad (output: $out)"
		sed 's/^/#   /' "$out" | tail -n 15
	fi
}

# A small ESP disk; its contents do not matter to these cases.
echo "judge test disk" >"$T/readme.txt"
"$HERE/mkesp.sh" "$T/esp.img" "$T/readme.txt:/readme.txt" >/dev/null 2>&1 ||
	{ echo "test-judges: mkesp.sh failed"; echo "0 passed, 1 failed"; exit 1; }

# 1. Real Bochs, deliberately broken config.
s=0
PKSV_BOCHSRC_EXTRA="bogus_directive: value=1" \
	"$HERE/run-bochs.sh" "$T/esp.img" "$T/broken/serial.txt" 60 >"$T/broken.out" 2>&1 || s=$?
expect_run broken-config "$EMU_NEVER_RAN" "$s" "$T/broken.out" \
	"Bochs aborted at start after" "directive 'bogus_directive' not understood"

# 2. The sound-mixer abort, through the whole efi-bochs stage.
JB="$T/build"
mkdir -p "$JB"
cp "$BUILD/pksvisor.efi" "$JB/" 2>/dev/null ||
	result FAIL alsa-abort "no $BUILD/pksvisor.efi (run make)"
if [ -f "$JB/pksvisor.efi" ]; then
	s=0
	PATH="$STUBS:$PATH" PKSV_STUB=abort-alsa BUILD="$JB" \
		"$HERE/run-efi-test.sh" bochs >"$T/alsa.out" 2>&1 || s=$?
	expect_run alsa-abort 1 "$s" "$T/alsa.out" \
		"Bochs aborted at start after [0-9.]+s \(killed by SIGABRT, no serial output\): \*\*\* buffer overflow detected \*\*\*" \
		"run-efi-test: FAILED: the emulator aborted at start" '!no TAP output'
fi

# 3. A panic after the firmware started is a failure, and says which.
s=0
PATH="$STUBS:$PATH" PKSV_STUB=panic \
	"$HERE/run-bochs.sh" "$T/esp.img" "$T/panic/serial.txt" 60 >"$T/panic.out" 2>&1 || s=$?
expect_run panic 4 "$s" "$T/panic.out" \
	"Bochs ended without a guest power-off" ">>PANIC<< exception\(\): 3rd \(13\) exception"

# 4. QEMU failing on its command line.
s=0
PATH="$STUBS:$PATH" PKSV_STUB=abort-start \
	"$HERE/run-qemu.sh" "$T/esp.img" "$T/qemu/serial.txt" 60 >"$T/qemu.out" 2>&1 || s=$?
expect_run qemu-abort "$EMU_NEVER_RAN" "$s" "$T/qemu.out" \
	"QEMU aborted at start after" "Could not open '/nonexistent'"

# 5. The control: a canned good serial log powers off and passes.
cat >"$T/good-serial.txt" <<'LOG'
pksvisor: pksvisor 0.1 starting
PKSV-EFI-TEST: start
ok 1 - a check
1..1
PKSV-EFI-TEST: done
LOG
s=0
PATH="$STUBS:$PATH" PKSV_STUB=poweroff PKSV_STUB_SERIAL="$T/good-serial.txt" \
	"$HERE/run-bochs.sh" "$T/esp.img" "$T/poweroff/serial.txt" 60 >"$T/poweroff.out" 2>&1 || s=$?
expect_run poweroff 0 "$s" "$T/poweroff.out" "guest power-off"
s=0
"$HERE/check-serial.sh" "$T/poweroff/serial.txt" --tap --expect 'PKSV-EFI-TEST: done' \
	>"$T/poweroff-check.out" 2>&1 || s=$?
expect_run poweroff-judged 0 "$s" "$T/poweroff-check.out" "1 passed|[1-9][0-9]* passed, 0 failed"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
