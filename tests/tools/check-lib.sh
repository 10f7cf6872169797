# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Tiny assertion helpers for the tests/tools scripts (sourced).  Each check
# prints "ok N - what" or "not ok N - what" (TAP) and finish exits 1 when
# any failed.
N=0 FAILED=0 OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
ok() { N=$((N + 1)); echo "ok $N - $1"; }
notok() {
	N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"
	shift; [ $# -eq 0 ] || printf '#   %s\n' "$@"
}
# check WHAT STATUS CMD...: run CMD (stdout+stderr to $OUT), want STATUS.
check() {
	local what=$1 want=$2 rc=0
	shift 2
	"$@" >"$OUT" 2>&1 || rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$what"; else
		notok "$what" "exit status $rc, wanted $want; output:" "$(head -n 30 "$OUT")"
	fi
}
# expect_out WHAT TEXT: the last check's output holds TEXT (grep -F);
# expect_re WHAT REGEX: ... a line matching REGEX (grep -E).
expect_out() {
	if grep -qF -- "$2" "$OUT"; then ok "$1"; else
		notok "$1" "no line holds: $2" "$(head -n 30 "$OUT")"
	fi
}
expect_re() {
	if grep -qE -- "$2" "$OUT"; then ok "$1"; else
		notok "$1" "no line matches: $2" "$(head -n 30 "$OUT")"
	fi
}
expect_no_out() {
	if ! grep -qE -- "$2" "$OUT"; then ok "$1"; else
		notok "$1" "unexpected: $(grep -E -- "$2" "$OUT" | head -n 3)"
	fi
}
expect_file() {
	if grep -qE -- "$3" "$2"; then ok "$1"; else notok "$1" "$2 lacks: $3"; fi
}
# same WHAT GOT WANT
same() {
	if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "got:  $2" "want: $3"; fi
}
finish() {
	echo "1..$N"
	if [ "$FAILED" -eq 0 ]; then echo "$1: all $N checks passed"; return 0; fi
	echo "$1: $FAILED of $N checks FAILED"; exit 1
}
