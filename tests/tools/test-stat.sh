#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# test-stat.sh: tools/pksvisor-stat.
#
# Offline, on serial logs the harness produced (tests/tools/testdata:
# run-linux-bochs.sh with PKSV_STATS=2, run-efi-test.sh bochs; and
# $PKSV_STAT_LOG when set, e.g. a fresh run of the stat-bochs stage):
# every number is checked against the log itself, extracted here with
# grep/awk rather than with the tool's parser: the line count, the last
# totals, the rate between the last two periodic lines, each CSV row; the
# PNG must be a 900x700 PNG when the log has periodic lines and be refused
# when it has not.  Then edge cases: no stats lines, two boots in one log,
# binary noise and a line cut short.
#
# Live, against a fake /sys/kernel/debug/pksvisor tree (the layout of
# docs/statistics.md, "Guest interface"): sums over vCPUs, --vcpu,
# --fields, a missing directory, and counters that change while it runs
# (totals, deltas and rates of every frame must agree).
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="$(realpath -m "${BUILD:-$ROOT/build}")"
STAT="$ROOT/tools/pksvisor-stat"
T="$BUILD/test-stat"
. "$HERE/check-lib.sh"
. "$ROOT/tests/harness/lib.sh"
need_pkg python3 python3-matplotlib
rm -rf "$T"; mkdir -p "$T"

# key K of every stats line, in order, straight from the log.
values() { grep -a 'pksvisor: stats vcpu=' "$1" | tr -d '\r' | grep -o " $2=[0-9]*" | cut -d= -f2; }
# ... of the periodic lines only (those after "statistics (periodic):").
periodic_values() {
	tr -d '\r' <"$1" | awk -v key="$2" '
		/pksvisor: statistics \(/ { why = /\(periodic\)/ }
		/pksvisor: stats vcpu=/ && why {
			if (match($0, " " key "=[0-9]+")) print substr($0, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
		}'
}
png_size() {
	python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]) if d[:8]==b"\x89PNG\r\n\x1a\n" else "not a PNG")' "$1"
}

check_log() {
	local log=$1 name=$2 n last nper
	n=$(grep -ac 'pksvisor: stats vcpu=' "$log")
	last=$(values "$log" exits | tail -n 1)
	nper=$(periodic_values "$log" exits | wc -l)
	check "$name: table" 0 "$STAT" --log "$log"
	expect_out "$name: all $n stats lines parsed" "pksvisor statistics: $n line(s)"
	expect_re "$name: last exits total $last" "^  exits +$last( |\$)"
	if [ "$nper" -ge 2 ]; then
		local a b r
		a=$(periodic_values "$log" exits | tail -n 2 | head -n 1)
		b=$(periodic_values "$log" exits | tail -n 1)
		r=$(awk -v a="$a" -v b="$b" -v s="$(grep -ao 'starting: .* stats=[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')" \
			'BEGIN { printf "%.1f", (b - a) / s }')
		expect_re "$name: exits rate $r/s from the last two periodic lines" "^  exits +$last +$r\$"
	fi
	check "$name: CSV" 0 "$STAT" --log "$log" --csv "$T/$name.csv" --quiet
	same "$name: CSV has one row per stats line" "$(($(wc -l <"$T/$name.csv") - 1))" "$n"
	for key in exits hypercalls pkrs_writes exit.cpuid; do
		col=$(head -n 1 "$T/$name.csv" | tr ',' '\n' | grep -nx "$key" | cut -d: -f1)
		want=$(grep -a 'pksvisor: stats vcpu=' "$log" | tr -d '\r' |
			awk -v k="$key" '{ v = 0; for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) v = substr($i, length(k) + 2); print v }')
		same "$name: CSV column $key equals the log" "$(tail -n +2 "$T/$name.csv" | cut -d, -f"${col:-1}")" "$want"
	done
	if [ "$nper" -ge 2 ]; then
		check "$name: PNG" 0 "$STAT" --log "$log" --png "$T/$name.png" --quiet
		same "$name: PNG is a 900x700 image" "$(png_size "$T/$name.png")" 900x700
		same "$name: CSV times of periodic rows" \
			"$(awk -F, '$5 == "periodic" { print $6 }' "$T/$name.csv" | paste -sd' ' -)" \
			"$(s=$(grep -ao 'starting: .* stats=[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$'); seq -s' ' "$s" "$s" $((s * nper)))"
	else
		check "$name: PNG refused without periodic lines" 1 "$STAT" --log "$log" --png "$T/$name.png" --quiet
		expect_out "$name: says why" "no timeline"
	fi
}

check_log "$HERE/testdata/linux-bochs-stats2.txt" linux-stats2
check_log "$HERE/testdata/efi-bochs.txt" efi
[ -z "${PKSV_STAT_LOG:-}" ] || check_log "$PKSV_STAT_LOG" harness-run
same "testdata: the Linux log has periodic lines" "$(periodic_values "$HERE/testdata/linux-bochs-stats2.txt" exits | wc -l)" 27

# Edge cases.
printf 'pksvisor: pksvisor 0.1 starting: stats=0\nno statistics here\n' >"$T/none.txt"
check "log without stats lines: exit 1" 1 "$STAT" --log "$T/none.txt"
expect_out "says so" "no 'pksvisor: stats vcpu=' lines"
check "missing log: exit 1" 1 "$STAT" --log "$T/nothere.txt"
cat "$HERE/testdata/efi-bochs.txt" "$HERE/testdata/efi-bochs.txt" >"$T/two-boots.txt"
check "two boots in one log" 0 "$STAT" --log "$T/two-boots.txt" --csv "$T/two.csv"
same "two boots: boot column" "$(tail -n +2 "$T/two.csv" | cut -d, -f1 | uniq | paste -sd' ' -)" "0 1"
check "two boots: table of the last" 0 "$STAT" --log "$T/two-boots.txt"
expect_out "two boots: says boot 2 of 2" "boot 2 of 2"
{ head -c 3000 /dev/urandom; echo; echo 'pksvisor: pksvisor 0.1 starting: pks=soft stats=5 next=x'
  echo 'pksvisor: statistics (periodic):'
  echo 'junk before pksvisor: stats vcpu=0 backend=soft exits=100 hypercalls=3 exit.cpuid=7'
  echo 'pksvisor: statistics (periodic):'
  echo 'pksvisor: stats vcpu=0 backend=soft exits=350 hypercalls=8 exit.cpuid=9 exit.hlt=4'
  echo 'pksvisor: statistics (periodic):'
  echo 'pksvisor: stats vcpu=0 backend=soft exits=600 hypercalls=9 exit.cpu'; } >"$T/noisy.txt"
check "noise and a cut line" 0 "$STAT" --log "$T/noisy.txt" --csv "$T/noisy.csv"
same "noisy: rows" "$(tail -n +2 "$T/noisy.csv" | cut -d, -f5,6,7 | paste -sd' ' -)" "periodic,5,100 periodic,10,350 periodic,15,600"
check "noisy: table" 0 "$STAT" --log "$T/noisy.txt"
expect_re "noisy: exits rate (600-350)/5 = 50.0" "^  exits +600 +50\.0\$"
check "--csv without --log is a usage error" 2 "$STAT" --csv x.csv

# Live mode on a fake guest interface.
S="$T/sysfs"; mkdir -p "$S/vcpu0" "$S/vcpu1"
put() {	# put VCPU EXITS CPUID: atomically, like a read of a debugfs file
	echo "vcpu=$1 backend=soft exits=$2 injected=0 hypercalls=1 unprotected_pages=3 exit.cpuid=$3 hc.version=1" >"$S/vcpu$1/stats.new"
	mv "$S/vcpu$1/stats.new" "$S/vcpu$1/stats"
}
put 0 1000 10; put 1 500 5
check "live: missing directory" 1 "$STAT" --sysfs "$T/none" -b -n 1
expect_out "live: says what is missing" "mount -t debugfs"
check "live: one frame" 0 "$STAT" --sysfs "$S" -b -n 1
expect_re "live: exits summed over vCPUs" "^ exits +1500 +0 +0\.0\$"
expect_re "live: exit.cpuid summed" "^ exit\.cpuid +15 "
expect_out "live: header" "all 2 vCPUs"
check "live: --vcpu 1" 0 "$STAT" --sysfs "$S" -b -n 1 --vcpu 1
expect_re "live: vCPU 1 only" "^ exits +500 "
check "live: --fields" 0 "$STAT" --sysfs "$S" -b -n 1 -f '^exit\.'
expect_no_out "live: --fields filters" "^ exits "
check "live: --vcpu 7 absent" 1 "$STAT" --sysfs "$S" -b -n 1 --vcpu 7
"$STAT" --sysfs "$S" -b -n 6 -d 0.5 >"$T/live.txt" 2>&1 &
pid=$!
for i in 1 2 3; do sleep 0.3; put 0 $((1000 + 100 * i)) $((10 + i)); done
wait "$pid"; rc=$?
same "live: 6 frames, exit 0" "$rc $(grep -c '^pksvisor-stat:' "$T/live.txt")" "0 6"
check "live: frames agree with what was written" 0 python3 - "$T/live.txt" <<'PY'
import re, sys
frames = open(sys.argv[1]).read().split("pksvisor-stat: ")[1:]
bad, totals = [], []
for f in frames:
    dt = float(re.search(r"interval ([0-9.]+) s", f).group(1))
    m = re.search(r"^ exits +(\d+) +(\d+) +([0-9.]+)$", f, re.M)
    total, cur, avg = int(m.group(1)), int(m.group(2)), float(m.group(3))
    if totals and total - totals[-1] != cur:
        bad.append(f"Cur {cur} != {total} - {totals[-1]}")
    if dt and abs(avg - cur / dt) > 0.051 + cur / dt * 0.002:
        bad.append(f"CurAvg/s {avg} != {cur}/{dt}")
    if total not in (1500, 1600, 1700, 1800):
        bad.append(f"total {total} was never written")
    g = re.search(r"^ unprotected_pages +(\d+) +(\d+)", f, re.M)
    if g.group(2) != "0":
        bad.append("a gauge got a delta")
    if g.group(1) != "3":
        bad.append("unprotected_pages (global) was summed over vCPUs")
    totals.append(total)
if totals[-1] != 1800:
    bad.append(f"last frame {totals[-1]}, want 1800")
if totals != sorted(totals):
    bad.append(f"totals not monotonic: {totals}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
finish test-stat
