#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# run-bochs.sh DISK.img SERIAL TIMEOUT [--cpus N] [--megs M] [--ips N]
#              [--until REGEX] [--until-count N] [--grace S]
#              [--emulator 2.7|upstream] [--bochs PATH] [--model MODEL]
#
# Boot DISK.img (an ESP disk from mkesp.sh) headless in Bochs with OVMF
# and a VMX-capable CPU model, COM1 captured to SERIAL.
# The generated bochsrc and bochs.log are written next to SERIAL (bochs.log
# names the failed check when a VM entry fails).
#
# Emulators (--emulator, default $PKSV_EMULATOR, else 2.7):
#  2.7:      Debian's bochs package, CPU model tigerlake (VMX, no PKS).
#  upstream: the patched upstream snapshot (tests/emulators/build-bochs.sh
#            builds it or reuses its cache; --bochs PATH or $PKSV_BOCHS_BIN
#            names a binary instead), CPU model sapphire_rapids (VMX *and*
#            PKS).  Built --with-nogui: display_library nogui, no sound
#            support (a sound: line is refused), no debugger (no -rc file).
#            A missing source is a failure (status 125), never a skip.
# --model (default $PKSV_BOCHS_MODEL) overrides the CPU model (e.g.
# tigerlake on upstream).  PKSV_EMULATOR=upstream PKSV_BOCHS_MODEL=tigerlake
# runs every soft-backend stage on upstream Bochs unchanged.
#
# Exit status: 0 when the guest powered off through port 0x8900 or when
# --until REGEX matched SERIAL (Bochs is then given --grace seconds, default
# 2, to end by itself before it is stopped; with --until-count N, once N
# lines match, e.g. a line that a reboot prints again); 125 when Bochs died before the
# firmware wrote anything to COM1 ("Bochs aborted at start: <cause>", the
# cause taken from bochs.stdout/bochs.log); 4 when Bochs ended any other
# way (a panic, e.g. a triple fault with reset_on_triple_fault=0, or a
# crash: the message quotes bochs.log); 123 when pksvisor printed
# "pksvisor: FATAL" (Bochs is stopped 2 s later, after the dump, instead of
# at the timeout; WATCH_FATAL_RE in lib.sh); 124 on timeout; 2 on usage
# errors.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/lib.sh"

usage() {
	echo "usage: $0 DISK.img SERIAL TIMEOUT [--cpus N] [--megs M] [--ips N] [--until REGEX] [--until-count N] [--grace S]" >&2
	exit 2
}

CPUS=1
MEGS=256
IPS=50000000
UNTIL=""
GRACE=2
EMULATOR="${PKSV_EMULATOR:-2.7}"
BOCHS_BIN="${PKSV_BOCHS_BIN:-}"
MODEL="${PKSV_BOCHS_MODEL:-}"
POS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--cpus) CPUS="$2"; shift 2 ;;
	--megs) MEGS="$2"; shift 2 ;;
	--ips) IPS="$2"; shift 2 ;;
	--until) UNTIL="$2"; shift 2 ;;
	--until-count) export WATCH_UNTIL_COUNT="$2"; shift 2 ;;
	--grace) GRACE="$2"; shift 2 ;;
	--emulator) EMULATOR="$2"; shift 2 ;;
	--bochs) BOCHS_BIN="$2"; EMULATOR=upstream; shift 2 ;;
	--model) MODEL="$2"; shift 2 ;;
	-h|--help) usage ;;
	-*) usage ;;
	*) POS+=("$1"); shift ;;
	esac
done
[ ${#POS[@]} -eq 3 ] || usage
DISK="$(realpath "${POS[0]}")"
SERIAL="$(realpath -m "${POS[1]}")"
TIMEOUT="${POS[2]}"
[ -f "$DISK" ] || { echo "run-bochs: $DISK: no such disk image" >&2; exit 2; }
case "$EMULATOR" in
2.7|27)	EMULATOR=2.7; BOCHS_BIN=bochs; MODEL="${MODEL:-tigerlake}"
	need_pkg bochs bochsbios vgabios ovmf ;;
upstream)
	MODEL="${MODEL:-sapphire_rapids}"
	need_pkg vgabios ovmf
	if [ -z "$BOCHS_BIN" ]; then
		# Builds once (minutes), then answers from the cache.
		BOCHS_BIN=$("$HERE/../emulators/build-bochs.sh" | tail -n 1) || BOCHS_BIN=""
		if [ ! -x "$BOCHS_BIN" ]; then
			echo "run-bochs: Bochs aborted at start: no upstream Bochs (tests/emulators/build-bochs.sh failed, see above)" >&2
			exit 125
		fi
	fi
	[ -x "$BOCHS_BIN" ] || { echo "run-bochs: Bochs aborted at start: $BOCHS_BIN is not an executable" >&2; exit 125; } ;;
*)	echo "run-bochs: --emulator must be 2.7 or upstream, not '$EMULATOR'" >&2; exit 2 ;;
esac

OVMF_CODE=/usr/share/OVMF/OVMF_CODE.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS.fd
VGABIOS=/usr/share/vgabios/vgabios.bin

# Bochs loads OVMF as one 2 MiB ROM: variable store first, then code.
CACHE="$(cache_dir)"
ROM="$CACHE/OVMF-bochs.fd"
if [ ! -s "$ROM" ] || [ "$ROM" -ot "$OVMF_CODE" ] || [ "$ROM" -ot "$OVMF_VARS" ]; then
	cat "$OVMF_VARS" "$OVMF_CODE" >"$ROM.$$"
	mv -f "$ROM.$$" "$ROM"
fi

# Bochs takes the disk geometry from the config; mkesp.sh sizes disks in
# whole 16x63 cylinders.
SIZE=$(stat -c %s "$DISK")
CYLS=$((SIZE / (16 * 63 * 512)))
[ $((CYLS * 16 * 63 * 512)) -eq "$SIZE" ] ||
	{ echo "run-bochs: $DISK is not a whole number of 16x63 cylinders (use mkesp.sh)" >&2; exit 2; }

OUTDIR="$(dirname "$SERIAL")"
mkdir -p "$OUTDIR"
CFG="$OUTDIR/bochsrc"
LOG="$OUTDIR/bochs.log"
RC="$OUTDIR/bochs-cont.rc"
rm -f "$SERIAL" "$LOG"
: >"$SERIAL"

# upstream: the same machine, minus what a --with-nogui build lacks: its
# only display library is nogui, it has no sound support (a sound: or
# speaker mode line is refused) and no debugger (so no -rc file).
if [ "$EMULATOR" = upstream ]; then
	DISPLAY_LINE="display_library: nogui"
	SOUND_LINES="speaker: enabled=0"
else
	DISPLAY_LINE='display_library: rfb, options="timeout=0"'
	SOUND_LINES=$'sound: driver=dummy\nspeaker: enabled=1, mode=none'
fi

# A headless test run touches no host device:
# - display: rfb is the only headless GUI in Debian's build; timeout=0 keeps
#   it from waiting for a viewer.  It binds the first free TCP port in
#   5900..5949, so instances running at the same time do not clash.
# - sound: driver=dummy.  Bochs 2.7 opens the host's sound system for its
#   mixer thread; with ALSA's libraries installed (a dependency of Debian's
#   bochs) and no sound card, that thread can abort Bochs at start
#   ("*** buffer overflow detected ***", status 134).  The PC speaker would
#   use the same driver: it stays as a port (the guest may program the
#   PIT's channel 2) but makes no sound (mode=none).
# - keyboard and mouse: nothing is attached; no USB controller, no NIC
#   (none of usb_*, ne2k, e1000 is configured: all default to off), and the
#   parallel port, on by default, is switched off.
# - PKSV_BOCHSRC_EXTRA (test hook) is appended verbatim: the harness's own
#   test starts Bochs with a deliberately broken config through it.
# Bochs caps the host memory it allocates at 2048 MiB ("megs" sets both):
# above that the guest gets its size and Bochs swaps blocks beyond the
# host part to a file (memory: guest= host=).
if [ "$MEGS" -gt 2048 ]; then
	MEM_LINE="memory: guest=$MEGS, host=2048"
else
	MEM_LINE="megs: $MEGS"
fi
cat >"$CFG" <<CFG
# generated by tests/harness/run-bochs.sh
$MEM_LINE
cpu: model=$MODEL, count=$CPUS, ips=$IPS, reset_on_triple_fault=0
romimage: file=$ROM, address=0xffe00000
vgaromimage: file=$VGABIOS
vga: extension=none
$DISPLAY_LINE
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=disk, path=$DISK, mode=flat, cylinders=$CYLS, heads=16, spt=63
com1: enabled=1, mode=file, dev=$SERIAL
$SOUND_LINES
parport1: enabled=0
mouse: enabled=0
clock: sync=none
log: $LOG
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
CFG
[ -z "${PKSV_BOCHSRC_EXTRA:-}" ] || printf '%s\n' "$PKSV_BOCHSRC_EXTRA" >>"$CFG"
echo c >"$RC"
if [ "$EMULATOR" = upstream ]; then
	BOCHS_ARGS=(-q -f "$CFG")
else
	BOCHS_ARGS=(-q -f "$CFG" -rc "$RC")
fi
echo "run-bochs: $EMULATOR Bochs ($BOCHS_BIN), cpu model $MODEL" >&2

# A killed Bochs leaves its lock behind and refuses the image next time.
rm -f "$DISK.lock"

START=$(now_ms)
# Own session and process group: the timeout kills Bochs and anything it
# started; stdin from /dev/null so the built-in debugger never waits.
(cd "$OUTDIR" && exec setsid "$BOCHS_BIN" "${BOCHS_ARGS[@]}" </dev/null >"$OUTDIR/bochs.stdout" 2>&1) &
PID=$!
run_watched "$PID" "$SERIAL" "$TIMEOUT" "$UNTIL" "$GRACE"
ELAPSED=$(( $(now_ms) - START ))
rm -f "$DISK.lock"

SECS="$((ELAPSED / 1000)).$(printf %03d $((ELAPSED % 1000)))"
case "$WATCH_RESULT" in
exited)
	if grep -q "shutdown requested" "$LOG" 2>/dev/null; then
		echo "run-bochs: Bochs ended by itself after ${SECS}s (guest power-off (port 0x8900))" >&2
		exit 0
	fi
	# The firmware's ResetSystem(EfiResetShutdown): an ACPI S5 request
	# through the PIIX4 PM registers, which Bochs reports as a "panic".
	if grep -q "ACPI control: soft power off" "$LOG" 2>/dev/null; then
		echo "run-bochs: Bochs ended by itself after ${SECS}s (guest power-off (ACPI S5))" >&2
		exit 0
	fi
	status_name=$(exit_status_name "$WATCH_STATUS")
	if ! serial_has_output "$SERIAL"; then
		echo "run-bochs: Bochs aborted at start after ${SECS}s ($status_name, no serial output): $(emulator_start_cause "$OUTDIR/bochs.stdout" "$LOG")" >&2
		echo "run-bochs: config $CFG, output $OUTDIR/bochs.stdout, log $LOG" >&2
		exit 125
	fi
	echo "run-bochs: Bochs ended without a guest power-off after ${SECS}s ($status_name): $(emulator_start_cause "$LOG" "$OUTDIR/bochs.stdout")" >&2
	exit 4 ;;
until)
	echo "run-bochs: serial matched '$UNTIL'; stopped Bochs after ${SECS}s" >&2
	exit 0 ;;
fatal)
	echo "run-bochs: pksvisor reported FATAL; stopped Bochs after ${SECS}s: $(grep -a -m1 -E "${WATCH_FATAL_RE-pksvisor: FATAL}" "$SERIAL" | tr -d '\r')" >&2
	exit "$EMU_FATAL" ;;
timeout)
	serial_has_output "$SERIAL" ||
		echo "run-bochs: the firmware wrote nothing to COM1 in ${TIMEOUT}s: $(emulator_start_cause "$OUTDIR/bochs.stdout" "$LOG")" >&2
	echo "run-bochs: timeout after ${SECS}s (limit ${TIMEOUT}s); serial in $SERIAL, log in $LOG" >&2
	exit 124 ;;
esac
