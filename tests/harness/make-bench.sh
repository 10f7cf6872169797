#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# make-bench.sh (`make bench`): the soft benchmark (pks=soft, Bochs 2.7
# tigerlake) and the hw benchmark (pks=hw, patched upstream Bochs
# sapphire_rapids) and the native baseline (the app alone in Bochs 2.7),
# one boot each, then bench-report.py: a table of VM
# exits per operation side by side on stdout, $BUILD/bench/bench.csv and
# $BUILD/bench/bench.png, pksvisor instructions per hot exit
# ($BUILD/bench/instructions.csv) and pksvisor's memory for 512 MiB and
# 4 GiB guests with their largest free RAM region keyed (a second soft
# run at 4 GiB; $BUILD/bench/memory.csv).  Each run keeps its own invariants
# (run-bench.sh); the report checks the bounds again side by side.  Exit
# status 0 when both runs and every bound pass, 1 otherwise.
#
# Environment: BUILD (default <repo>/build), PKSV_TIMEOUT (per run).
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
# ---- native baseline: pksvisor instructions per hot exit ----------------
# The same app without pksvisor in the same emulator (Bochs 2.7): the TSC
# calibration and the per-loop baseline bench-report.py subtracts.
"$HERE/run-bench.sh" native >&2 || { echo "make-bench: the native run failed (above)" >&2; status=1; }
NATIVE_ARGS=(--native "$BUILD/bench-bochs-native/bench.txt")
# ---- end of native baseline ---------------------------------------------
# ---- pksvisor memory per guest size: 512 MiB (the soft run) and 4 GiB ---
PKSV_BENCH_MEGS=4096 "$HERE/run-bench.sh" soft >&2 ||
	{ echo "make-bench: the 4 GiB soft run failed (above)" >&2; status=1; }
MEMORY_ARGS=(--memory "$BUILD/bench-bochs/memory.txt" "$BUILD/bench-bochs-4096m/memory.txt")
# ---- end of memory per guest size ---------------------------------------
"$HERE/bench-report.py" --soft "$BUILD/bench-bochs/bench.txt" \
	--hw "$BUILD/bench-bochs-hw/bench.txt" "${NATIVE_ARGS[@]}" "${MEMORY_ARGS[@]}" \
	--out "$BUILD/bench" || status=1
[ "$status" -eq 0 ] && echo "make-bench: passed" >&2 || echo "make-bench: FAILED" >&2
exit "$status"
