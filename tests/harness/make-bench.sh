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
"$HERE/bench-report.py" --soft "$BUILD/bench-bochs/bench.txt" \
	--hw "$BUILD/bench-bochs-hw/bench.txt" --out "$BUILD/bench" || status=1
[ "$status" -eq 0 ] && echo "make-bench: passed" >&2 || echo "make-bench: FAILED" >&2
exit "$status"
