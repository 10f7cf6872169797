#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# run-qemu.sh DISK.img SERIAL TIMEOUT [--cpus N] [--megs M] [--until REGEX]
#             [--grace S] [--cpu MODEL]
#
# Boot DISK.img headless in QEMU 7.2 TCG with OVMF (read-only code pflash
# plus a private copy of the variable store), COM1 captured to SERIAL.
# TCG has no VMX, so pksvisor takes its fallback= path here; -cpu max has
# PKS.  isa-debug-exit at port 0xf4 lets a guest end QEMU with a code.
#
# Exit status: 0 when QEMU ended by itself (power-off or reset, as
# -no-reboot turns a reset into an exit) or when --until matched; the
# guest's code V when it wrote V >= 1 to port 0xf4 (QEMU exits with 2V+1);
# 125 when QEMU died before the firmware wrote anything to COM1 ("QEMU
# aborted at start: <cause from qemu.log>"); 1 when QEMU failed otherwise
# (see qemu.log); 4 when the guest triple-faulted (QEMU logs it in
# qemu-debug.log, then -no-reboot ends it like a power-off); 123 when pksvisor printed "pksvisor: FATAL" (QEMU is
# stopped 2 s later); 124 on timeout; 2 on usage errors.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/lib.sh"

usage() {
	echo "usage: $0 DISK.img SERIAL TIMEOUT [--cpus N] [--megs M] [--until REGEX] [--grace S] [--cpu MODEL]" >&2
	exit 2
}

CPUS=1
MEGS=512
CPU=max
UNTIL=""
GRACE=2
POS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--cpus) CPUS="$2"; shift 2 ;;
	--megs) MEGS="$2"; shift 2 ;;
	--cpu) CPU="$2"; shift 2 ;;
	--until) UNTIL="$2"; shift 2 ;;
	--grace) GRACE="$2"; shift 2 ;;
	-h|--help) usage ;;
	-*) usage ;;
	*) POS+=("$1"); shift ;;
	esac
done
[ ${#POS[@]} -eq 3 ] || usage
DISK="$(realpath "${POS[0]}")"
SERIAL="$(realpath -m "${POS[1]}")"
TIMEOUT="${POS[2]}"
[ -f "$DISK" ] || { echo "run-qemu: $DISK: no such disk image" >&2; exit 2; }

need_pkg qemu-system-x86 ovmf

OVMF_CODE=/usr/share/OVMF/OVMF_CODE.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS.fd

OUTDIR="$(dirname "$SERIAL")"
mkdir -p "$OUTDIR"
VARS="$OUTDIR/OVMF_VARS.fd"
LOG="$OUTDIR/qemu.log"
# -d cpu_reset: TCG logs "Triple fault" there before the reset that
# -no-reboot turns into an ordinary exit (status 0, like a power-off).
DLOG="$OUTDIR/qemu-debug.log"
cp -f "$OVMF_VARS" "$VARS"
rm -f "$SERIAL" "$LOG" "$DLOG"
: >"$SERIAL"

START=$(now_ms)
setsid qemu-system-x86_64 \
	-accel tcg -cpu "$CPU" -smp "$CPUS" -m "${MEGS}M" \
	-machine q35 \
	-drive if=pflash,format=raw,readonly=on,file="$OVMF_CODE" \
	-drive if=pflash,format=raw,file="$VARS" \
	-drive file="$DISK",format=raw \
	-serial file:"$SERIAL" \
	-display none -monitor none -nodefaults -vga none \
	-device isa-debug-exit,iobase=0xf4,iosize=0x4 \
	-d cpu_reset -D "$DLOG" \
	-no-reboot </dev/null >"$LOG" 2>&1 &
PID=$!
run_watched "$PID" "$SERIAL" "$TIMEOUT" "$UNTIL" "$GRACE"
ELAPSED=$(( $(now_ms) - START ))
SECS="$((ELAPSED / 1000)).$(printf %03d $((ELAPSED % 1000)))"

case "$WATCH_RESULT" in
exited)
	# QEMU's own errors also exit 1, so only 3, 5, ... are guest codes.
	if [ "$WATCH_STATUS" -ge 3 ] && [ $((WATCH_STATUS & 1)) -eq 1 ] && [ "$WATCH_STATUS" -lt 124 ]; then
		code=$((WATCH_STATUS >> 1))
		echo "run-qemu: guest exited through isa-debug-exit with code $code after ${SECS}s" >&2
		exit "$code"
	fi
	if [ "$WATCH_STATUS" -ne 0 ] && ! serial_has_output "$SERIAL"; then
		echo "run-qemu: QEMU aborted at start after ${SECS}s ($(exit_status_name "$WATCH_STATUS"), no serial output): $(emulator_start_cause "$LOG")" >&2
		exit "$EMU_NEVER_RAN"
	fi
	if grep -aq '^Triple fault' "$DLOG" 2>/dev/null; then
		echo "run-qemu: the guest triple-faulted after ${SECS}s (QEMU reset, ended by -no-reboot)" >&2
		exit 4
	fi
	echo "run-qemu: QEMU ended by itself after ${SECS}s (exit status $WATCH_STATUS)" >&2
	[ "$WATCH_STATUS" -eq 0 ] || { echo "run-qemu: see $LOG" >&2; exit 1; }
	exit 0 ;;
until)
	echo "run-qemu: serial matched '$UNTIL'; stopped QEMU after ${SECS}s" >&2
	exit 0 ;;
fatal)
	echo "run-qemu: pksvisor reported FATAL; stopped QEMU after ${SECS}s" >&2
	exit "$EMU_FATAL" ;;
timeout)
	serial_has_output "$SERIAL" ||
		echo "run-qemu: the firmware wrote nothing to COM1 in ${TIMEOUT}s: $(emulator_start_cause "$LOG")" >&2
	echo "run-qemu: timeout after ${SECS}s (limit ${TIMEOUT}s); serial in $SERIAL" >&2
	exit 124 ;;
esac
