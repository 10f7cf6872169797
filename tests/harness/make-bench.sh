#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# make-bench.sh (`make bench`): the soft benchmark (pks=soft, Bochs 2.7
# tigerlake) and the hw benchmark (pks=hw, patched upstream Bochs
# sapphire_rapids), one boot each, then bench-report.py: a table of VM
# exits per operation side by side on stdout, $BUILD/bench/bench.csv and
# $BUILD/bench/bench.png.  Each run keeps its own invariants
# (run-bench.sh); the report checks the bounds again side by side.  Exit
# status 0 when both runs and every bound pass, 1 otherwise.
#
# Then the Linux guest (run-linux-bench.sh, bench_linux.py): VM exits per
# kernel PKS operation under soft WRMSR and soft VMFUNC, the DAX/pmem
# workload and the boot as ratios to a native run, one Bochs 2.7 boot per
# configuration.  PKSV_BENCH_LINUX=full (default: native, pks=off, soft
# WRMSR, soft VMFUNC; 256 calls per workload phase), short (soft WRMSR and
# soft VMFUNC with 16 calls: the invariants only; the test command's
# make-bench stage) or none.
#
# Environment: BUILD (default <repo>/build), PKSV_TIMEOUT (per run),
# PKSV_BENCH_LINUX, PKSV_KERNEL (run-linux-bench.sh).
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
. "$HERE/lib.sh"
BUILD="$(realpath -m "${BUILD:-$ROOT/build}")"
export BUILD

need_pkg python3 python3-matplotlib
status=0
# The report needs both runs' lines even when one broke an invariant.
"$HERE/run-bench.sh" soft >&2 || { echo "make-bench: the soft run failed (above)" >&2; status=1; }
"$HERE/run-bench.sh" hw >&2 || { echo "make-bench: the hw run failed (above)" >&2; status=1; }
LINUX=()
case "${PKSV_BENCH_LINUX:-full}" in
full)
	rm -f "$BUILD"/bench-linux/*.txt
	"$HERE/run-linux-bench.sh" >&2 || { echo "make-bench: a Linux run failed (above)" >&2; status=1; }
	LINUX=(--linux "$BUILD/bench-linux") ;;
short)
	rm -f "$BUILD"/bench-linux/*.txt
	PKSV_BENCH_CALLS=16 "$HERE/run-linux-bench.sh" wrmsr vmfunc >&2 ||
		{ echo "make-bench: a Linux run failed (above)" >&2; status=1; }
	LINUX=(--linux "$BUILD/bench-linux" --linux-short) ;;
none) ;;
*) echo "make-bench: PKSV_BENCH_LINUX=$PKSV_BENCH_LINUX: want full, short or none" >&2; exit 2 ;;
esac
"$HERE/bench-report.py" --soft "$BUILD/bench-bochs/bench.txt" \
	--hw "$BUILD/bench-bochs-hw/bench.txt" --out "$BUILD/bench" \
	${LINUX[@]+"${LINUX[@]}"} || status=1
[ "$status" -eq 0 ] && echo "make-bench: passed" >&2 || echo "make-bench: FAILED" >&2
exit "$status"
