#!/bin/bash
# SPDX-License-Identifier: MIT
# Build the libFuzzer targets (tests/fuzz/Makefile, Debian's clang) and run
# each for a bounded time from the checked-in seeds in corpus/<target>/.
#
#   BUILD=dir (default build/fuzz)          where binaries and results go
#   PKSV_FUZZ_SECONDS=n (default 20)        fuzzing time per target
#
# New inputs go to $BUILD/corpus/<target>/ (kept between runs), crash
# inputs to $BUILD/artifacts/<target>/, the full log to $BUILD/<target>.log.
# When llvm-profdata and llvm-cov are installed, each target's corpus is
# then replayed through a source-coverage build and the line / branch
# coverage of the pksvisor files it links is printed (PKSV_FUZZ_COVERAGE=0
# skips that).  Prints one line per target and "N passed, N failed"; exits
# non-zero if any target crashed or failed to build.
set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build/fuzz}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
SECS=${PKSV_FUZZ_SECONDS:-20}
FUZZ=$TOP/tests/fuzz

# clang alone is not enough: libFuzzer and the ASan runtime are in
# libclang-rt-14-dev, only a recommend of clang (a fresh machine that
# installs without recommends has clang but cannot link a fuzzer).
. "$TOP/tests/harness/lib.sh"
need_pkg clang libclang-rt-14-dev llvm
if ! command -v clang >/dev/null 2>&1; then
	echo "run.sh: clang not found (apt-get install clang)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

targets=$(make -s -C "$FUZZ" list)
passed=0
failed=0
if ! make -s -C "$FUZZ" BUILD="$BUILD"; then
	echo "run.sh: build failed" >&2
	set -- $targets
	echo "0 passed, $# failed"
	exit 1
fi

# Replay the corpus of target $1 (dirs $2...) through $BUILD/$1.cov and
# print llvm-cov's summary for the pksvisor sources (not the harness).
source_coverage()
{
	command -v llvm-profdata >/dev/null 2>&1 &&
		command -v llvm-cov >/dev/null 2>&1 || return 0
	make -s -C "$FUZZ" BUILD="$BUILD" "$BUILD/$1.cov" >/dev/null 2>&1 || {
		echo "    (coverage build failed)"
		return 0
	}
	rm -f "$BUILD/$1".profraw
	cov_bin=$BUILD/$1.cov
	shift
	LLVM_PROFILE_FILE=$BUILD/$t.profraw "$cov_bin" -runs=0 "$@" \
		>"$BUILD/$t.cov.log" 2>&1 &&
	llvm-profdata merge -sparse "$BUILD/$t.profraw" -o "$BUILD/$t.profdata" &&
	llvm-cov report "$cov_bin" -instr-profile="$BUILD/$t.profdata" \
		-show-region-summary=false 2>/dev/null |
	awk '$1 ~ /(pks|vmm)\/[a-z_]*\.c$/ {
		f = $1; sub(".*/(pks|vmm)/", "", f); d = $1
		sub("/[^/]*$", "", d); sub(".*/", "", d)
		printf "    %s/%s: lines %s (%d of %d), branches %s (%d of %d)\n",
			d, f, $7, $5 - $6, $5, $10, $8 - $9, $8 }' ||
		echo "    (coverage replay failed; see $BUILD/$t.cov.log)"
}

for t in $targets; do
	work=$BUILD/corpus/$t
	art=$BUILD/artifacts/$t
	log=$BUILD/$t.log
	mkdir -p "$work" "$art"
	seeds=
	[ -d "$FUZZ/corpus/$t" ] && seeds=$FUZZ/corpus/$t
	"$BUILD/$t" -max_total_time="$SECS" -seed=1 -max_len=2048 \
		-timeout=10 -print_final_stats=1 -artifact_prefix="$art/" \
		"$work" $seeds >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|NEW|REDUCE|pulse)' "$log" |
	      tail -n 1 | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([^ ]*\).*/cov \1, ft \2, corpus \3/p')
	if [ "$rc" -eq 0 ] && grep -q '^Done [0-9]* runs' "$log"; then
		passed=$((passed + 1))
		echo "PASS $t: ${execs:-?} execs, ${rate:-?} exec/s, ${cov:-no coverage line}"
		[ "${PKSV_FUZZ_COVERAGE:-1}" != 0 ] && source_coverage "$t" "$work" $seeds
	else
		failed=$((failed + 1))
		echo "FAIL $t (exit $rc): ${execs:-?} execs, ${cov:-no coverage line}; log $log"
		grep -E '^(fuzz_|==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' "$log" |
			head -n 8 | sed 's/^/    /'
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
