#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# check-linux-guest.sh SERIAL
#
# What check-serial.sh cannot see in a Linux guest's serial log under
# pksvisor (run-linux-bochs.sh, run-linux-pks-bochs.sh):
#  - the KTAP suites ran: at least one result that is not "# SKIP";
#  - nothing was skipped: under pksvisor pks=soft/auto in Bochs the guest
#    has PKS and every case must run.  A result "# SKIP" or a "1..0 # SKIP"
#    plan fails, except a pksv_* case skipped with ENOSYS (a hypercall
#    pksvisor does not implement yet);
#  - no kernel oops, BUG or WARNING outside the strict-mode runner's
#    "PKSV-GUEST: oops expected" .. "PKSV-GUEST: oops done" markers.
# Prints the offending lines and "N passed, N failed"; exit status 0 when
# nothing failed, 1 otherwise, 2 on usage errors.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 SERIAL" >&2; exit 2; }
SERIAL=$1
if [ ! -f "$SERIAL" ]; then
	echo "check-linux-guest: $SERIAL: no such file"
	echo "0 passed, 1 failed"
	exit 1
fi

clean() {
	LC_ALL=C sed -E -e 's/\x1b\[[0-9;=?]*[A-Za-z]//g' -e 's/\r//g' \
		-e 's/^\[ *[0-9]+\.[0-9]+\] //' "$SERIAL"
}

passed=0 failed=0
results=$(clean | LC_ALL=C grep -aE '^ *(not )?ok [0-9]+ ' || true)
total=$(grep -c . <<<"$results" || true)
skipped=$(grep -cE '#[ 	]*[Ss][Kk][Ii][Pp]' <<<"$results" || true)
if [ "$((total - skipped))" -gt 0 ]; then
	passed=$((passed + 1))
else
	echo "FAIL: no KTAP case ran ($total results, $skipped skipped)"
	failed=$((failed + 1))
fi

bad_skips=$( { grep -E '#[ 	]*[Ss][Kk][Ii][Pp]' <<<"$results" |
		grep -vE '^ *ok [0-9]+ pksv_[a-z_]+ # SKIP .*ENOSYS' || true
	       clean | LC_ALL=C grep -aE '^ *1\.\.0 *# *[Ss][Kk][Ii][Pp]' || true; } )
if [ -n "$bad_skips" ]; then
	echo "FAIL: skipped under pksvisor (the guest must have PKS):"
	head -n 20 <<<"$bad_skips" | sed 's/^/  /'
	failed=$((failed + 1))
else
	passed=$((passed + 1))
fi

if oops=$(clean | awk '
	/PKSV-GUEST: oops expected/ { x = 1 } /PKSV-GUEST: oops done/ { x = 0 }
	!x && /Oops|BUG:|kernel BUG at|Kernel panic|general protection fault|WARNING: CPU/ { print "  " NR ": " $0; bad = 1 }
	END { exit !bad }'); then
	echo "FAIL: kernel oops/BUG/WARNING outside the expected-oops markers:"
	head -n 20 <<<"$oops"
	failed=$((failed + 1))
else
	passed=$((passed + 1))
fi

echo "check-linux-guest: $SERIAL: $total KTAP results, $skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
