#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Judge test: run-cfg-limit-bochs.sh boots twice (the file longer than
# 8192 bytes, then one of exactly 8192).  It passes only when the first is
# refused and the second read whole; pksvisor taking the cut file, or
# refusing the boundary file, is a failure (judges/lib.sh).
set -uo pipefail
. "$(dirname "$0")/judges/lib.sh"
jt_init cfg-limit
L="$JT_BUILD/logs"
mkdir -p "$L"
S="$JT_HARNESS/run-cfg-limit-bochs.sh"
jt_bochs_poweroff_log "$L/log.poweroff"
export JUDGE_BOCHS_LOG="$L/log.poweroff" JUDGE_BOCHS_TURN="$L/turn"
# What pksvisor prints: the refusal, or its start line (with the stats
# the file it read says) and the test app's last line.
refused() {
	echo "pksvisor: pksvisor.cfg: longer than the 8192 bytes pksvisor reads: refusing it rather than dropping the rest"
	echo "pksvisor: invalid configuration, not virtualizing (see message above)"
}
started() {
	echo "pksvisor: pksvisor 0.1 starting: pks=soft pks_mode=relaxed stats=$1 fallback=boot next=\\pksvisor-test.efi"
	echo "pksvisor: guest running: firmware and next image now run under pksvisor"
	echo "PKSV-EFI-TEST: done"
}
refused >"$L/refused"
started 30 >"$L/read-whole"
started 3 >"$L/read-cut"

case_runs() {		# WANT NAME SERIAL-OF-RUN-1 SERIAL-OF-RUN-2
	rm -f "$JUDGE_BOCHS_TURN"
	JUDGE_BOCHS_SERIALS="$3 $4" jt_case "$1" "$2" "$S"
}
case_runs pass cfg-limit-good "$L/refused" "$L/read-whole"
# The old behaviour: the first 8192 bytes taken as the whole file.
case_runs fail cfg-limit-cut-file-accepted "$L/read-cut" "$L/read-whole"
# Off by one the other way: the 8192-byte file refused too.
case_runs fail cfg-limit-boundary-refused "$L/refused" "$L/refused"
jt_assert "boundary failure names the 8192-byte run" \
	grep -q 'FAILED: a 8192-byte file' "$JT_BUILD/cfg-limit-boundary-refused.out"
# The boundary file read, but cut (stats=3): not the whole file.
case_runs fail cfg-limit-boundary-cut "$L/refused" "$L/read-cut"
jt_done
