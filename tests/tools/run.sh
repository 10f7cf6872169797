#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# The `tools` stage of tests/run-all.sh: every fast check of the user
# tooling (no emulator): install, signing, man pages, pksvisor-stat.
# Runs them all, fails if any failed.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
fail=0
for t in test-install.sh test-sign.sh test-man.sh test-stat.sh; do
	echo "== tools: $t"
	if [ -x "$HERE/$t" ]; then
		"$HERE/$t" || fail=1
	else
		echo "tools: $t missing"; fail=1
	fi
done
exit $fail
