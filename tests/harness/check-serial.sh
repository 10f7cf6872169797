#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# check-serial.sh SERIAL [--expect REGEX]... [--forbid REGEX]... [--tap]
#
# Turn captured serial output into pass/fail.
#  - TAP / KTAP result lines: "ok N - desc", "not ok N - desc" (the dash is
#    optional, as in KTAP), "# SKIP" and "# TODO" directives, "1..N" plans
#    before or after their results, nested (indented) KTAP subtests, and
#    "Bail out!".  Every "not ok" (without TODO) fails; a plan whose count
#    does not match its results fails; results without any plan fail.
#  - --expect REGEX: an extended regex that must match some line (repeatable).
#  - --forbid REGEX: an extended regex that must match no line (repeatable).
#  - --tap: TAP results must be present.
# ANSI escape sequences, carriage returns and printk "[    1.234567] "
# prefixes are removed before matching.  The failing or missing lines are
# printed, and the last line is always "N passed, N failed".  Exit status
# 0 when nothing failed, 1 otherwise, 2 on usage errors.
set -euo pipefail

usage() {
	echo "usage: $0 SERIAL [--expect REGEX]... [--forbid REGEX]... [--tap]" >&2
	exit 2
}

EXPECT=()
FORBID=()
NEED_TAP=0
SERIAL=""
while [ $# -gt 0 ]; do
	case "$1" in
	--expect) [ $# -ge 2 ] || usage; EXPECT+=("$2"); shift 2 ;;
	--forbid) [ $# -ge 2 ] || usage; FORBID+=("$2"); shift 2 ;;
	--tap) NEED_TAP=1; shift ;;
	-h|--help) usage ;;
	-*) usage ;;
	*) [ -z "$SERIAL" ] || usage; SERIAL="$1"; shift ;;
	esac
done
[ -n "$SERIAL" ] || usage

if [ ! -f "$SERIAL" ]; then
	echo "check-serial: $SERIAL: no such file"
	echo "0 passed, 1 failed"
	exit 1
fi

CLEAN="$(mktemp)"
trap 'rm -f "$CLEAN"' EXIT
# Strip CSI/OSC escape sequences, CRs, other control characters and
# printk timestamps; keep line numbers intact.
LC_ALL=C sed -E \
	-e 's/\x1b\[[0-9;=?]*[A-Za-z]//g' \
	-e 's/\x1b[()][A-Za-z0-9]//g' \
	-e 's/\r//g' \
	-e 's/[\x00-\x08\x0b-\x1f\x7f]//g' \
	-e 's/^\[ *[0-9]+\.[0-9]+\] //' \
	"$SERIAL" >"$CLEAN"

passed=0
failed=0

# TAP: awk prints "PASS n", "FAIL n", "SKIP n" totals and FAILLINE lines.
tap_out="$(LC_ALL=C awk '
function indent_of(s,   m) { m = match(s, /[^ \t]/); return m ? m - 1 : 0 }
# Close the group at indent level l: compare its results with its plan.
function close_group(l) {
	if (!(l in open_)) return
	if (plan[l] == "" && count[l] > 0) {
		print "FAILLINE results without a plan (" count[l] " results at indent " l ", ending line " last[l] ")"
		fails++
	} else if (plan[l] != "" && count[l] != plan[l] + 0) {
		print "FAILLINE plan 1.." plan[l] " (line " planline[l] ") but " count[l] " results"
		fails++
	}
	delete open_[l]
}
function open_group(l) {
	open_[l] = 1; plan[l] = ""; count[l] = 0; planline[l] = 0
	# A new group at this level closes any deeper ones.
	for (k in open_) if (k + 0 > l) close_group(k)
}
{
	line = $0
	l = indent_of(line)
	body = substr(line, l + 1)
}
body ~ /^1\.\.[0-9]+([ \t]|$)/ {
	n = substr(body, 4); sub(/[^0-9].*/, "", n)
	if ((l in open_) && plan[l] == "" && count[l] > 0) {
		plan[l] = n; planline[l] = NR; close_group(l)	# trailing plan
	} else {
		close_group(l); open_group(l); plan[l] = n; planline[l] = NR
	}
	if (n + 0 == 0 && body ~ /SKIP/) skips++
	seen++
	next
}
body ~ /^(not )?ok [0-9]+([ \t]|$)/ {
	if (!(l in open_)) open_group(l)
	count[l]++; last[l] = NR; seen++
	notok = (body ~ /^not /)
	num = body; sub(/^(not )?ok /, "", num); sub(/[^0-9].*/, "", num)
	if (num + 0 != count[l]) {
		print "FAILLINE line " NR ": test number " num ", expected " count[l] ": " line
		fails++
	}
	directive = ""
	if (match(body, /#[ \t]*[Ss][Kk][Ii][Pp]/)) directive = "skip"
	else if (match(body, /#[ \t]*[Tt][Oo][Dd][Oo]/)) directive = "todo"
	if (notok && directive != "todo" && directive != "skip") {
		print "FAILLINE line " NR ": " line
		fails++
	} else {
		passes++
		if (directive == "skip") skips++
	}
	next
}
body ~ /^Bail out!/ {
	print "FAILLINE line " NR ": " line
	fails++; seen++
	next
}
END {
	for (k in open_) close_group(k)
	printf "TOTALS %d %d %d %d\n", passes, fails, skips, seen
}
' "$CLEAN")"

read -r _ tap_pass tap_fail tap_skip tap_seen <<<"$(grep '^TOTALS ' <<<"$tap_out")"
passed=$((passed + tap_pass))
failed=$((failed + tap_fail))
grep '^FAILLINE ' <<<"$tap_out" | sed 's/^FAILLINE /FAIL: /' || true

if [ "$NEED_TAP" -eq 1 ] && [ "$tap_seen" -eq 0 ]; then
	echo "FAIL: no TAP output"
	failed=$((failed + 1))
fi

for re in ${EXPECT[@]+"${EXPECT[@]}"}; do
	if grep -aEq -- "$re" "$CLEAN"; then
		passed=$((passed + 1))
	else
		echo "MISSING: expected /$re/"
		failed=$((failed + 1))
	fi
done

for re in ${FORBID[@]+"${FORBID[@]}"}; do
	if hits="$(grep -anE -- "$re" "$CLEAN")"; then
		echo "FORBIDDEN: /$re/ matched:"
		head -n 10 <<<"$hits" | sed 's/^/  line /'
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
done

if [ "$tap_seen" -eq 0 ] && [ ${#EXPECT[@]} -eq 0 ] && [ ${#FORBID[@]} -eq 0 ]; then
	echo "FAIL: nothing to check (no TAP output, no --expect)"
	failed=$((failed + 1))
fi

echo "check-serial: $SERIAL: TAP $tap_pass ok ($tap_skip skipped), $tap_fail failed; ${#EXPECT[@]} expected, ${#FORBID[@]} forbidden patterns"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
