#!/bin/bash
# Boot the pksvisor Linux guest under QEMU TCG + OVMF and judge the serial log.
#
#   tests/linux/run-qemu.sh [options]
#     --cpu MODEL        QEMU -cpu (default: max; e.g. "max,-pks")
#     --smp N            CPUs (default 2)
#     --append ARGS      extra kernel command-line arguments (after tests/linux/cmdline)
#     --timeout SECONDS  wall-clock limit for the boot (default 300)
#     --log FILE         serial log (default $PKSV_CACHE/logs/qemu-<name>.log)
#     --name NAME        label for messages and the default log name
#     --expect REGEX     a serial line must match (repeatable)
#     --reject REGEX     no serial line may match (repeatable)
#     --allow-oops       do not fail on kernel oops/BUG lines (for the strict-mode test)
#     --drive FILE       a raw disk image as virtio-blk /dev/vda (the S4 swap area)
#     --hibernating      this boot ends in S4: judged by the marker
#                        "PKSV-GUEST: hibernating" and the power-off instead of
#                        "PKSV-GUEST: done" and complete KTAP output
#     --resumed-from LOG this boot resumes the S4 image of the boot logged in
#                        LOG: LOG is prepended before judging, and this boot
#                        must not start user space afresh
#     --kernel FILE / --initrd FILE   use these instead of building them
#
# Builds (or reuses) the cached kernel and the initramfs, boots with OVMF as
# pflash (-kernel/-initrd/-append, so OVMF starts the kernel's EFI stub),
# captures COM1 and exits non-zero, showing the failing lines, unless:
# the markers "PKSV-GUEST: userspace up" and "PKSV-GUEST: done" appear, QEMU
# powered off by itself before the timeout, every KTAP plan "1..N" is
# followed by N results, no result is "not ok", and no kernel oops appears.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
CACHE=${PKSV_CACHE:-$HOME/.cache/pksvisor}

CPU=max SMP=2 APPEND="" TIMEOUT=300 LOG="" NAME="" KERNEL="" INITRD=""
ALLOW_OOPS=0 EXPECT=() REJECT=() DRIVE="" HIBERNATING=0 RESUMED_FROM=""
while [ $# -gt 0 ]; do
	case "$1" in
	--cpu) CPU=$2; shift 2 ;;
	--smp) SMP=$2; shift 2 ;;
	--append) APPEND="$APPEND $2"; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--log) LOG=$2; shift 2 ;;
	--name) NAME=$2; shift 2 ;;
	--expect) EXPECT+=("$2"); shift 2 ;;
	--reject) REJECT+=("$2"); shift 2 ;;
	--allow-oops) ALLOW_OOPS=1; shift ;;
	--drive) DRIVE=$2; shift 2 ;;
	--hibernating) HIBERNATING=1; shift ;;
	--resumed-from) RESUMED_FROM=$2; shift 2 ;;
	--kernel) KERNEL=$2; shift 2 ;;
	--initrd) INITRD=$2; shift 2 ;;
	-h|--help) sed -n '2,29p' "$0"; exit 0 ;;
	*) echo "run-qemu: unknown option $1" >&2; exit 2 ;;
	esac
done
NAME=${NAME:-$(echo "$CPU" | tr -c 'A-Za-z0-9_\n' '_')}
LOG=${LOG:-$CACHE/logs/qemu-$NAME.log}
mkdir -p "$(dirname "$LOG")"

# shellcheck source=../harness/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../harness/lib.sh"
need_pkg qemu-system-x86 ovmf

[ -n "$KERNEL" ] || KERNEL=$("$TOP/guest-patches/build-kernel.sh" | tail -n1)
[ -n "$INITRD" ] || INITRD=$("$HERE/build-initramfs.sh" | tail -n1)
CMDLINE="$(tr -s ' \n' ' ' <"$HERE/cmdline")$APPEND"

# The log lives in the cache by default and outlives the run: a run that
# writes nothing (QEMU cannot start) must not be judged on the last one.
rm -f "$LOG"

VARS=$(mktemp)
trap 'rm -f "$VARS"' EXIT
cp /usr/share/OVMF/OVMF_VARS.fd "$VARS"

echo "run-qemu[$NAME]: -cpu $CPU -smp $SMP, cmdline: $CMDLINE" >&2
DRIVE_ARGS=()
[ -z "$DRIVE" ] || DRIVE_ARGS=(-drive "if=virtio,format=raw,file=$DRIVE")
START=$(date +%s)
set +e
timeout --foreground -k 5 "$TIMEOUT" qemu-system-x86_64 \
	-accel tcg -cpu "$CPU" -smp "$SMP" -m 512M -no-reboot \
	-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd \
	-drive if=pflash,format=raw,file="$VARS" \
	-kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE" \
	"${DRIVE_ARGS[@]+"${DRIVE_ARGS[@]}"}" \
	-display none -monitor none -serial file:"$LOG" -net none </dev/null
RC=$?
set -e
ELAPSED=$(( $(date +%s) - START ))
# drop CRs and the firmware's terminal escape sequences
[ -f "$LOG" ] || : >"$LOG"	# QEMU never opened it
sed -i -e 's/\r$//' -e 's/\x1b\[[0-9;=?]*[A-Za-z]//g' "$LOG"

fail=0
problem() { echo "run-qemu[$NAME]: FAIL: $*" >&2; fail=1; }
[ $RC -eq 124 ] || [ $RC -eq 137 ] && problem "timeout after ${TIMEOUT}s (QEMU did not power off)"
[ $RC -ne 0 ] && [ $RC -ne 124 ] && [ $RC -ne 137 ] && problem "QEMU exited with $RC"
# A resumed boot continues the user space of the boot that hibernated: a
# fresh "userspace up" means the image was not restored.
if [ -n "$RESUMED_FROM" ]; then
	if grep -q '^PKSV-GUEST: userspace up' "$LOG"; then
		problem "user space started afresh: the S4 image was not resumed"
	fi
	cat "$RESUMED_FROM" "$LOG" >"$LOG.tmp" && mv "$LOG.tmp" "$LOG"
fi
grep -q '^PKSV-GUEST: userspace up' "$LOG" || problem "marker 'PKSV-GUEST: userspace up' missing"
if [ $HIBERNATING -eq 1 ]; then
	grep -q '^PKSV-GUEST: hibernating' "$LOG" || problem "marker 'PKSV-GUEST: hibernating' missing"
else
	grep -q '^PKSV-GUEST: done' "$LOG" || problem "marker 'PKSV-GUEST: done' missing"
fi
for re in "${EXPECT[@]+"${EXPECT[@]}"}"; do
	grep -Eq -- "$re" "$LOG" || problem "expected line matching /$re/ missing"
done
for re in "${REJECT[@]+"${REJECT[@]}"}"; do
	if grep -En -- "$re" "$LOG" >&2; then problem "line matching /$re/ present"; fi
done
# Oopses are allowed only between the runner's "oops expected" and
# "oops done" markers (the strict-mode test), or anywhere with --allow-oops.
if [ $ALLOW_OOPS -eq 0 ] &&
	awk '/PKSV-GUEST: oops expected/ { x = 1 } /PKSV-GUEST: oops done/ { x = 0 }
	     !x && /Oops|BUG:|Kernel panic|general protection fault|WARNING: CPU/ { print NR ": " $0; bad = 1 }
	     END { exit !bad }' "$LOG" >&2; then
	problem "unexpected kernel oops/BUG/WARNING (lines above)"
fi
# KTAP: every plan 1..N must be followed by N results; no "not ok".
if grep -En '^ *not ok ' "$LOG" >&2; then problem "failing KTAP results (lines above)"; fi
ktap=$(awk '
	/^KTAP version/ { if (plan >= 0 && n != plan) bad = bad "plan 1.." plan " but " n " results\n"; plan = -1; n = 0; sets++; next }
	/^1\.\.[0-9]+/ { plan = substr($1, 4) + 0; next }
	/^(not )?ok [0-9]+/ { n++; if ($0 ~ /^ok/) ok++; if ($0 ~ /# SKIP/) skip++ }
	END {
		if (plan >= 0 && n != plan) bad = bad "plan 1.." plan " but " n " results\n";
		if (sets > 0 && plan < 0 && n == 0 && bad == "") bad = bad "KTAP header without plan\n";
		printf "%s", bad; printf "SUMMARY sets=%d ok=%d skip=%d\n", sets, ok, skip
	}' plan=-1 "$LOG")
summary=$(echo "$ktap" | tail -n1)
echo "$ktap" | sed '$d' | while read -r l; do [ -n "$l" ] && echo "run-qemu[$NAME]: KTAP: $l" >&2; done
# (a boot that hibernates leaves its last plan to the resumed boot)
[ $HIBERNATING -eq 1 ] || ! echo "$ktap" | sed '$d' | grep -q . || problem "incomplete KTAP output"

echo "run-qemu[$NAME]: ${ELAPSED}s, ${summary#SUMMARY }, log $LOG" >&2
if [ $fail -ne 0 ]; then
	echo "run-qemu[$NAME]: --- last 30 serial lines ---" >&2
	tail -n 30 "$LOG" >&2
	exit 1
fi
echo "run-qemu[$NAME]: PASS" >&2
