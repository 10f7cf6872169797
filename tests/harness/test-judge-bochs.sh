#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Judge test: a Bochs panic (triple fault) or a QEMU guest triple fault
# is never a pass, a
# "pksvisor: FATAL" line ends the run at once as a failure, and
# run-efi-test.sh bochs refuses VIEW_INDEX -ENOTSUP (judges/lib.sh).
set -uo pipefail
. "$(dirname "$0")/judges/lib.sh"
jt_init bochs
L="$JT_BUILD/logs"
mkdir -p "$L"
E="$JT_HARNESS/run-efi-test.sh"
cp "$JT_LOGS/efi-bochs.serial" "$L/good"
jt_bochs_poweroff_log "$L/log.poweroff"
jt_bochs_panic_log "$L/log.panic"
: >"$L/log.empty"
export JUDGE_BOCHS_SERIAL="$L/good" JUDGE_BOCHS_LOG="$L/log.poweroff"

jt_case pass efi-test-good-log "$E" bochs

# The same output, then a panic instead of the power-off.
JUDGE_BOCHS_LOG="$L/log.panic" JUDGE_BOCHS_EXIT=1 \
	jt_case fail efi-test-bochs-panic "$E" bochs
# run-bochs.sh itself: a triple-fault panic is status 4, a power-off 0.
mkesp() { "$JT_HARNESS/mkesp.sh" "$JT_BUILD/esp.img" "$L/good:/x.txt"; }
mkesp >/dev/null
JUDGE_BOCHS_LOG="$L/log.panic" JUDGE_BOCHS_EXIT=1 \
	jt_case 4 run-bochs-triple-fault-panic "$JT_HARNESS/run-bochs.sh" "$JT_BUILD/esp.img" "$L/run.serial" 20
# Bochs exits 0 but the guest never powered off (nothing in bochs.log).
JUDGE_BOCHS_LOG="$L/log.empty" \
	jt_case 4 run-bochs-ended-without-power-off "$JT_HARNESS/run-bochs.sh" "$JT_BUILD/esp.img" "$L/run.serial" 20

# pksvisor's fatal dump, then pksvisor halts (Bochs would run on until the
# timeout): the run must end within seconds with EMU_FATAL.
{ head -n 20 "$L/good"
  echo "pksvisor: FATAL: unexpected VM exit on vcpu 0"
  echo "pksvisor: exit reason 2 (TRIPLE_FAULT) qualification 0x0"; } >"$L/fatal"
JUDGE_BOCHS_SERIAL="$L/fatal" JUDGE_BOCHS_SLEEP=60 \
	jt_case 123 run-bochs-fatal-stops-early "$JT_HARNESS/run-bochs.sh" "$JT_BUILD/esp.img" "$L/run.serial" 50
jt_assert "fatal line ended the run in ${JT_SECS}s (< 15s, not at the 50s timeout)" [ "$JT_SECS" -lt 15 ]
JUDGE_BOCHS_SERIAL="$L/fatal" JUDGE_BOCHS_SLEEP=60 \
	jt_case fail efi-test-fatal "$E" bochs
jt_assert "run-efi-test ended in ${JT_SECS}s after FATAL (< 20s)" [ "$JT_SECS" -lt 20 ]

# Bochs tigerlake has VMFUNC: VIEW_INDEX -ENOTSUP is a failure there,
# although the app accepts it (on a CPU without VMFUNC it is right).
sed -E 's/^ok ([0-9]+) - VIEW_INDEX\(0\) returns 0 or -PKSV_ENOTSUP .*/ok \1 - VIEW_INDEX(0) returns 0 or -PKSV_ENOTSUP (returned -ENOTSUP: no VMFUNC views)/' \
	"$L/good" >"$L/enotsup"
jt_assert "canned log edited (VIEW_INDEX line)" grep -q 'returned -ENOTSUP: no VMFUNC' "$L/enotsup"
JUDGE_BOCHS_SERIAL="$L/enotsup" jt_case fail efi-test-view-index-enotsup "$E" bochs

# QEMU: a guest triple fault resets, -no-reboot turns that into exit 0.
printf 'CPU Reset (CPU 0)\nTriple fault\nCPU Reset (CPU 0)\n' >"$L/qemu-triple"
JUDGE_QEMU_SERIAL="$L/good" JUDGE_QEMU_DEBUG="$L/qemu-triple" \
	jt_case 4 run-qemu-triple-fault "$JT_HARNESS/run-qemu.sh" "$JT_BUILD/esp.img" "$L/qrun.serial" 20
JUDGE_QEMU_SERIAL="$L/good" \
	jt_case pass run-qemu-power-off "$JT_HARNESS/run-qemu.sh" "$JT_BUILD/esp.img" "$L/qrun.serial" 20
jt_done
