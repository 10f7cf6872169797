#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Judge test: run-pks-conformance.sh compare must fail when a run failed
# (QEMU error, Bochs panic), when it would compare a stale result file,
# and when the plan count is not the pinned one (judges/lib.sh).
set -uo pipefail
. "$(dirname "$0")/judges/lib.sh"
jt_init pks-conf
C="$JT_HARNESS/run-pks-conformance.sh"
L="$JT_BUILD/logs"
mkdir -p "$L"

# The canned QEMU reference log (391 cases) and the same results as
# pksvisor prints them in Bochs.
cp "$JT_LOGS/pks-conf-qemu.serial" "$L/qemu.good"
{ echo "pksvisor: pksvisor 0.1 starting: pks=soft pks_mode=strict (canned)"
  echo "pksvisor: PKS: backend soft (requested soft) (canned)"
  cat "$JT_LOGS/pks-conf-qemu.serial"; } >"$L/bochs.good"
jt_bochs_poweroff_log "$L/bochs.log.good"
jt_bochs_panic_log "$L/bochs.log.panic"
# One case fewer in both (plan and results agree: only the pin notices).
for e in qemu bochs; do
	last=$(grep -aE '^ok [0-9]+ ' "$L/$e.good" | tail -n 1 | cut -d' ' -f2)
	grep -avE "^ok $last " "$L/$e.good" | sed -E "s/^1\\.\\.$last\$/1..$((last - 1))/" >"$L/$e.short"
done

export JUDGE_QEMU_SERIAL="$L/qemu.good" JUDGE_BOCHS_SERIAL="$L/bochs.good"
export JUDGE_BOCHS_LOG="$L/bochs.log.good"
jt_case pass good-logs-compare-equal "$C" compare

JUDGE_QEMU_EXIT=1 jt_case fail qemu-run-failed "$C" compare
JUDGE_BOCHS_LOG="$L/bochs.log.panic" JUDGE_BOCHS_EXIT=1 \
	jt_case fail bochs-panic-after-good-output "$C" compare
JUDGE_QEMU_SERIAL="$L/qemu.short" JUDGE_BOCHS_SERIAL="$L/bochs.short" \
	jt_case fail both-runs-one-case-short "$C" compare

# Stale: a passing compare leaves results behind; then the Bochs run
# cannot happen (no pksvisor.efi) and must not be judged on them.
jt_case pass good-again "$C" compare
mv "$BUILD/pksvisor.efi" "$BUILD/pksvisor.efi.away"
jt_case fail stale-results-no-bochs-run "$C" compare
mv "$BUILD/pksvisor.efi.away" "$BUILD/pksvisor.efi"
jt_done
