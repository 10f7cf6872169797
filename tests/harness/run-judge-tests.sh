#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# run-judge-tests.sh: the run-all "judges" stage.  Runs every
# tests/harness/test-judge*.sh (each replays canned good and bad logs
# through a harness script via stub emulators, judges/lib.sh) and sums
# their "N passed, N failed" lines.  Needs no emulator; about a minute.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
passed=0 failed=0
for t in "$HERE"/test-judge*.sh; do
	[ -x "$t" ] || continue
	echo "== $(basename "$t")"
	out=$("$t" 2>&1); rc=$?
	echo "$out"
	read -r p f <<<"$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' <<<"$out" | tail -n 1)"
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	# A script that failed without saying so still counts once.
	if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
