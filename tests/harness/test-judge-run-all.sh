#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Judge test: tests/run-all.sh keeps its closing "N passed, N failed" line
# when installing packages fails, and the unit stage has a time limit
# (judges/lib.sh).  Stub dpkg-query/apt-get/make first in PATH.
set -uo pipefail
. "$(dirname "$0")/judges/lib.sh"
jt_init run-all
S="$JT_BUILD/stubs"
mkdir -p "$S/install" "$S/unit"

# No package installed, and apt-get cannot install any.
printf '#!/bin/sh\nexit 1\n' >"$S/install/dpkg-query"
printf '#!/bin/sh\necho "E: stub apt-get: no network" >&2\nexit 100\n' >"$S/install/apt-get"
# make: "make unit" hangs, everything else succeeds at once.
cat >"$S/unit/make" <<'STUB'
#!/bin/sh
case " $* " in *" unit "*) exec sleep 60 ;; esac
exit 0
STUB
chmod +x "$S"/install/* "$S"/unit/*

last_line_is() {
	[ "$(tail -n 1 "$JT_BUILD/$1.out")" = "$2" ]
}

PATH="$S/install:$PATH" PKSV_STAGES=judges \
	jt_case fail install-fails "$JT_ROOT/tests/run-all.sh"
jt_assert "install-fails: closing line '0 passed, 1 failed'" last_line_is install-fails "0 passed, 1 failed"

PATH="$S/unit:$PATH" PKSV_STAGES=unit PKSV_UNIT_TIMEOUT=3 \
	jt_case fail unit-stage-hangs "$JT_ROOT/tests/run-all.sh"
jt_assert "unit-stage-hangs: ended by the limit in ${JT_SECS}s (< 30s)" [ "$JT_SECS" -lt 30 ]
jt_assert "unit-stage-hangs: closing line '0 passed, 1 failed'" last_line_is unit-stage-hangs "0 passed, 1 failed"
jt_done
