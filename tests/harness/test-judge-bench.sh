#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Judge test: run-bench.sh fails when an exit-count invariant breaks
# (docs/benchmarks.md) or a call fails, replaying the canned output of a
# real run with one line edited per case (judges/lib.sh).
set -uo pipefail
. "$(dirname "$0")/judges/lib.sh"
jt_init bench
L="$JT_BUILD/logs"
mkdir -p "$L"
B="$JT_HARNESS/run-bench.sh"
cp "$JT_LOGS/bench.serial" "$L/good"
jt_bochs_poweroff_log "$L/log.poweroff"
export JUDGE_BOCHS_LOG="$L/log.poweroff"

JUDGE_BOCHS_SERIAL="$L/good" jt_case pass bench-good-log "$B"

# bad NAME SED-EXPR: the good log edited, which must fail.
bad() {
	sed -E "$2" "$L/good" >"$L/$1"
	if cmp -s "$L/good" "$L/$1"; then
		jt_assert "$1: the edit changed the canned log" false
		return
	fi
	JUDGE_BOCHS_SERIAL="$L/$1" jt_case fail "$1" "$B"
}
bad vmfunc-switch-exits 's/^(PKSV-BENCH: pkrs_vmfunc exits_per_op=)0\.00/\11.00/'
bad wrmsr-switch-two-exits 's/^(PKSV-BENCH: pkrs_wrmsr exits_per_op=)1\.00/\12.00/'
bad pair-three-exits 's/^(PKSV-BENCH: unprotect_protect_pair exits_per_op=)2\.00/\13.00/'
bad empty-loop-exits 's/^(PKSV-BENCH: empty_loop exits_per_op=)0\.00/\10.01/'
bad follow-mismatch 's/^(PKSV-BENCH: vmfunc_follow .* )ok$/\1MISMATCH/'
bad vmfunc-unsupported 's/^PKSV-BENCH: pkrs_vmfunc exits_per_op=.*/PKSV-BENCH: pkrs_vmfunc unsupported (VIEW_INDEX returned -ENOTSUP)/'
bad failed-calls 's/^(PKSV-BENCH: unprotect_protect_pair .*)$/\1\nPKSV-BENCH: # some UNPROTECT\/PROTECT calls failed/'
bad range-register-error 's/^(PKSV-BENCH: range_register key=1 pages=16: ).*/\1-EINVAL/'
bad keyed-ram-refused 's/^(PKSV-BENCH: keyed_ram key=2 base=0x[0-9a-f]+ mib=[0-9]+: ).*/\1-PKSV_ENOSPC/'
bad no-memory-line '/^pksvisor: memory /d'
bad pk-fault-two-exits 's/^(PKSV-BENCH: pk_fault exits_per_op=)1\.00/\12.00/'
bad pk-fault-failed 's/^PKSV-BENCH: pk_fault exits_per_op=.*/PKSV-BENCH: pk_fault failed (999 of 1000 reads faulted)/'

# pks=hw (upstream Bochs; the stub stands in for it): a real run's log with
# IA32_PKRS passed through in strict mode.  1.00 exits per WRMSR/RDMSR is
# what pksvisor gave before the pass-through (docs/pks.md): it must fail.
export PKSV_BOCHS_BIN="$JT_JUDGES/bin/bochs"
cp "$JT_LOGS/bench-hw.serial" "$L/hw-good"
JUDGE_BOCHS_SERIAL="$L/hw-good" jt_case pass bench-hw-good-log "$B" hw
bad_hw() {
	sed -E "$2" "$L/hw-good" >"$L/$1"
	if cmp -s "$L/hw-good" "$L/$1"; then
		jt_assert "$1: the edit changed the canned log" false
		return
	fi
	JUDGE_BOCHS_SERIAL="$L/$1" jt_case fail "$1" "$B" hw
}
bad_hw hw-wrmsr-exits 's/^(PKSV-BENCH: pkrs_wrmsr exits_per_op=)0\.00/\11.00/'
bad_hw hw-rdmsr-exits 's/^(PKSV-BENCH: pkrs_rdmsr exits_per_op=)0\.00/\11.00/'
bad_hw hw-vmfunc-supported 's/^PKSV-BENCH: pkrs_vmfunc unsupported .*/PKSV-BENCH: pkrs_vmfunc exits_per_op=0.00 n=1000 tsc_per_op=5/'
unset PKSV_BOCHS_BIN

# ---- native baseline (run-bench.sh native) and pksvisor instructions ----
# A real native run's log passes; without its calibration line, or with a
# loop line missing, it fails.
cp "$JT_LOGS/bench-native.serial" "$L/native-good"
JUDGE_BOCHS_SERIAL="$L/native-good" jt_case pass bench-native-good-log "$B" native
bad_native() {
	sed -E "$2" "$L/native-good" >"$L/$1"
	if cmp -s "$L/native-good" "$L/$1"; then
		jt_assert "$1: the edit changed the canned log" false
		return
	fi
	JUDGE_BOCHS_SERIAL="$L/$1" jt_case fail "$1" "$B" native
}
bad_native native-no-calibration '/^PKSV-BENCH: native calibrate/d'
bad_native native-no-protect '/^PKSV-BENCH: native protect_page/d'
bad_native native-found-pksvisor 's/^PKSV-BENCH: no pksvisor \(native baseline only\)/PKSV-BENCH: pksvisor abi=0x10000/'
# ---- end of native baseline judge cases ----------------------------------

# bench-report.py (make bench): the two runs' PKSV-BENCH lines side by
# side; it must pass on the good pair and write the CSV (and the PNG),
# and fail on a broken bound or a missing line.
R="$JT_HARNESS/bench-report.py"
grep -a 'PKSV-BENCH: ' "$L/good" | tr -d '\r' >"$L/soft.txt"
grep -a 'PKSV-BENCH: ' "$L/hw-good" | tr -d '\r' >"$L/hw.txt"
jt_case pass report-good "$R" --soft "$L/soft.txt" --hw "$L/hw.txt" --out "$L/report"
jt_assert "report-good: bench.csv has the hw WRMSR row at 0.0" \
	grep -q '^pkrs_wrmsr,PKRS switch by WRMSR,1.0,[0-9]*,1.0,ok,0.0,' "$L/report/bench.csv"
jt_assert "report-good: bench.png written" test -s "$L/report/bench.png"
sed -E 's/^(PKSV-BENCH: pkrs_wrmsr exits_per_op=)0\.00/\11.00/' "$L/hw.txt" >"$L/hw-wrmsr.txt"
jt_case fail report-hw-wrmsr-exit "$R" --soft "$L/soft.txt" --hw "$L/hw-wrmsr.txt" --out "$L/report-bad" --no-png
sed -E '/pkrs_vmfunc/d' "$L/soft.txt" >"$L/soft-novmfunc.txt"
jt_case fail report-soft-vmfunc-missing "$R" --soft "$L/soft-novmfunc.txt" --hw "$L/hw.txt" --out "$L/report-bad" --no-png
# --native: pksvisor instructions per hot exit against the ceilings.
grep -a 'PKSV-BENCH: ' "$L/native-good" | tr -d '\r' >"$L/native.txt"
jt_case pass report-native-good "$R" --soft "$L/soft.txt" --hw "$L/hw.txt" \
	--native "$L/native.txt" --out "$L/report-native" --no-png
jt_assert "report-native-good: instructions.csv has the PROTECT_PAGE row" \
	grep -q '^protect_page,PROTECT_PAGE,[0-9]*,[0-9]*,[0-9]*,600,' "$L/report-native/instructions.csv"
# PROTECT_PAGE 3000 TSC per call: far over its ceiling.
sed -E 's/^(PKSV-BENCH: protect_page exits_per_op=1\.00 n=[0-9]+ tsc_per_op=)[0-9]+/\13000/' \
	"$L/soft.txt" >"$L/soft-slow-protect.txt"
jt_case fail report-protect-over-ceiling "$R" --soft "$L/soft-slow-protect.txt" --hw "$L/hw.txt" \
	--native "$L/native.txt" --out "$L/report-bad" --no-png
sed -E '/^PKSV-BENCH: native calibrate/d' "$L/native.txt" >"$L/native-nocal.txt"
jt_case fail report-native-no-calibration "$R" --soft "$L/soft.txt" --hw "$L/hw.txt" \
	--native "$L/native-nocal.txt" --out "$L/report-bad" --no-png
sed -E '/^PKSV-BENCH: native unprotect_page/d' "$L/native.txt" >"$L/native-nounprot.txt"
jt_case fail report-native-line-missing "$R" --soft "$L/soft.txt" --hw "$L/hw.txt" \
	--native "$L/native-nounprot.txt" --out "$L/report-bad" --no-png
# --memory: EPT memory per view per guest size against its bound.
echo "megs=512 keyed_mib=426 $(grep -a '^pksvisor: memory ' "$L/good" | tail -n 1)" >"$L/mem512.txt"
jt_case pass report-memory-good "$R" --soft "$L/soft.txt" --hw "$L/hw.txt" \
	--memory "$L/mem512.txt" --out "$L/report-mem" --no-png
jt_assert "report-memory-good: memory.csv has the 512 MiB row" \
	grep -q '^512,426,' "$L/report-mem/memory.csv"
# A view costing 852 KiB more than the base EPT: what splitting 426 MiB
# to 4 KiB cost before the large-page views.
sed -E 's/max_view_ept_kib=[0-9]+/max_view_ept_kib=912/' "$L/mem512.txt" >"$L/mem512-split.txt"
jt_case fail report-memory-4k-split-view "$R" --soft "$L/soft.txt" --hw "$L/hw.txt" \
	--memory "$L/mem512-split.txt" --out "$L/report-bad" --no-png
jt_case fail report-memory-missing "$R" --soft "$L/soft.txt" --hw "$L/hw.txt" \
	--memory "$L/no-such-memory.txt" --out "$L/report-bad" --no-png
jt_done
