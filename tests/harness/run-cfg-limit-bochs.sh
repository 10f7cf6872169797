#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# run-cfg-limit-bochs.sh: a pksvisor.cfg longer than the 8192 bytes
# pksvisor reads must be refused, not cut.  The file is built so that its
# first 8192 bytes end in "stats=3" while the whole file says "stats=30":
# the cut file is a valid, different configuration.  tools/pksvisor-cfgcheck
# (and so pksvisor-install) refuses it; pksvisor must agree: print
# "pksvisor.cfg: longer than the 8192 bytes pksvisor reads" and not
# virtualize.  Then the boundary: a file of exactly 8192 bytes is read
# whole (pksvisor starts with its stats=30).  Output in
# $BUILD/test-cfg-limit/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
. "$HERE/lib.sh"
BUILD="$(realpath -m "${BUILD:-$ROOT/build}")"
HV="$BUILD/pksvisor.efi"
[ -f "$HV" ] || { echo "run-cfg-limit-bochs: $HV missing: run make" >&2; exit 1; }
make -s -C "$ROOT" BUILD="$BUILD" host-tools >&2
make -s -C "$ROOT/tests/guest-efi" BUILD="$BUILD/guest-efi" >&2
OUT="$BUILD/test-cfg-limit"
mkdir -p "$OUT"
CFG="$OUT/pksvisor.cfg"
LIMIT=8192
HEAD='next=\pksvisor-test.efi pks=soft'

# make_cfg FILE SIZE: HEAD, a comment line of '#' padding, "stats=30":
# SIZE bytes in all.
make_cfg() {
	{
		printf '%s\n' "$HEAD"
		head -c $(($2 - ${#HEAD} - 1 - 10)) /dev/zero | tr '\0' '#'
		printf '\nstats=30\n'
	} >"$1"
}

# boot_cfg CFG SERIAL UNTIL WHAT CHECK...: pksvisor with CFG as its
# pksvisor.cfg (pksvisor-test.efi next) in Bochs until UNTIL matches, then
# check-serial.sh SERIAL CHECK...; ends the script, "FAILED<WHAT>", when
# the run or a check fails.
boot_cfg() {
	local cfg=$1 serial=$2 until=$3 what=$4 status=0 check=0

	shift 4
	"$HERE/mkesp.sh" "$OUT/esp.img" \
		"$HV:/EFI/BOOT/BOOTX64.EFI" \
		"$cfg:/EFI/BOOT/pksvisor.cfg" \
		"$BUILD/guest-efi/pksvisor-test.efi:/pksvisor-test.efi"
	"$HERE/run-bochs.sh" "$OUT/esp.img" "$serial" "${PKSV_TIMEOUT:-180}" \
		--until "$until" --grace 2 || status=$?
	stop_if_emulator_never_ran "$status" run-cfg-limit-bochs
	"$HERE/check-serial.sh" "$serial" "$@" >&2 || check=$?
	if [ "$status" -ne 0 ] || [ "$check" -ne 0 ]; then
		echo "run-cfg-limit-bochs: FAILED$what (serial: $serial)" >&2; exit 1
	fi
}

# Byte LIMIT is the "3" of "stats=30" (the third byte from the end).
make_cfg "$CFG" $((LIMIT + 2))
# The test is only meaningful if the cut file is valid and different.
head -c "$LIMIT" "$CFG" >"$OUT/cut.cfg"
cut_stats=$("$BUILD/host/pksvisor-cfgcheck" --get stats "$OUT/cut.cfg")
[ "$cut_stats" = "stats=3" ] ||
	{ echo "run-cfg-limit-bochs: bad test file: the cut file says '$cut_stats'" >&2; exit 1; }
if "$BUILD/host/pksvisor-cfgcheck" "$CFG" >/dev/null 2>&1; then
	echo "run-cfg-limit-bochs: pksvisor-cfgcheck accepted the long file" >&2; exit 1
fi

# Either outcome ends the run early: the refusal, or pksvisor starting
# (old behaviour: the cut file accepted).
boot_cfg "$CFG" "$OUT/serial.txt" 'pksvisor: (pksvisor.cfg: longer than|guest running)' "" \
	--expect "pksvisor: pksvisor.cfg: longer than the $LIMIT bytes pksvisor reads" \
	--forbid 'pksvisor: .* starting: ' \
	--forbid 'pksvisor: guest running'
echo "run-cfg-limit-bochs: the long pksvisor.cfg was refused" >&2

# Boundary: exactly LIMIT bytes, ending in "stats=30\n".
make_cfg "$OUT/exact.cfg" "$LIMIT"
[ "$(stat -c %s "$OUT/exact.cfg")" -eq "$LIMIT" ] || { echo "run-cfg-limit-bochs: bad boundary file" >&2; exit 1; }
# Until the test app's last line: a run stopped mid-TAP would fail the
# serial check for the wrong reason.
boot_cfg "$OUT/exact.cfg" "$OUT/serial-exact.txt" \
	'pksvisor: pksvisor.cfg: longer than|PKSV-EFI-TEST: done' ": a $LIMIT-byte file" \
	--expect 'pksvisor: .* starting: pks=soft .*stats=30 ' \
	--expect 'pksvisor: guest running' \
	--forbid 'pksvisor.cfg: longer than'
echo "run-cfg-limit-bochs: passed: refused when longer, read whole at $LIMIT bytes" >&2
