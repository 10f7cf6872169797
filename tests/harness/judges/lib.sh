# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# shellcheck shell=bash disable=SC2034  # JT_* are read by the tests
# Shared by the judge tests (tests/harness/test-judge-*.sh; sourced).
#
# A judge test runs a harness script against a stub emulator
# (judges/bin/bochs, judges/bin/qemu-system-x86_64: replay a canned serial
# log, then end like the real one would) or feeds a judge script a canned
# log, and asserts the verdict: a good log must pass and every bad log
# must fail.  No emulator runs; each case takes about a second.
#
#   jt_init NAME        private BUILD dir, stubs first in PATH
#   jt_case WANT NAME CMD...   run CMD; WANT is pass, fail or a status
#   jt_done             TAP plan and "N passed, N failed"; exit status
JT_HARNESS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JT_ROOT="$(cd "$JT_HARNESS/../.." && pwd)"
JT_JUDGES="$JT_HARNESS/judges"
JT_LOGS="$JT_JUDGES/logs"
jt_n=0
jt_failed=0

jt_init() {
	local top
	top="$(realpath -m "${BUILD:-$JT_ROOT/build}")"
	JT_BUILD="$top/judges/$1"
	rm -rf "$JT_BUILD"
	mkdir -p "$JT_BUILD/build"
	# The EFI apps are built for real (shared with the normal build, so
	# usually nothing to do); pksvisor.efi is only copied into the ESP,
	# which no stub boots.
	mkdir -p "$top/guest-efi"
	ln -sfn "$top/guest-efi" "$JT_BUILD/build/guest-efi"
	head -c 4096 /dev/zero >"$JT_BUILD/build/pksvisor.efi"
	export BUILD="$JT_BUILD/build"
	export PATH="$JT_JUDGES/bin:$PATH"
	export PKSV_TIMEOUT=30
	unset JUDGE_BOCHS_SERIAL JUDGE_BOCHS_SERIALS JUDGE_BOCHS_TURN JUDGE_BOCHS_LOG
	unset JUDGE_BOCHS_SLEEP JUDGE_BOCHS_EXIT
	unset JUDGE_QEMU_SERIAL JUDGE_QEMU_SLEEP JUDGE_QEMU_EXIT JUDGE_QEMU_DEBUG
}

# A bochs.log as Bochs writes it when the guest powered off by port 0x8900.
jt_bochs_poweroff_log() {
	echo "00000000000i[      ] reading configuration from bochsrc" >"$1"
	echo "07000000000i[BXVGA ] shutdown requested" >>"$1"
}

# A bochs.log of a Bochs panic: a triple fault with reset_on_triple_fault=0.
jt_bochs_panic_log() {
	echo "00000000000i[      ] reading configuration from bochsrc" >"$1"
	echo "07000000000p[CPU0  ] >>PANIC<< exception(): 3rd (13) exception with no resolution" >>"$1"
}

# jt_case WANT NAME CMD...: WANT pass (status 0), fail (non-zero) or a
# number (that exact status).  The output goes to $JT_BUILD/NAME.out.
jt_case() {
	local want=$1 name=$2 rc=0 ok=0 t0
	shift 2
	jt_n=$((jt_n + 1))
	t0=$(date +%s)
	"$@" >"$JT_BUILD/$name.out" 2>&1 </dev/null || rc=$?
	JT_SECS=$(( $(date +%s) - t0 ))
	case "$want" in
	pass) [ "$rc" -eq 0 ] && ok=1 ;;
	fail) [ "$rc" -ne 0 ] && ok=1 ;;
	*) [ "$rc" -eq "$want" ] && ok=1 ;;
	esac
	if [ "$ok" -eq 1 ]; then
		echo "ok $jt_n - $name (want $want, status $rc, ${JT_SECS}s)"
	else
		echo "not ok $jt_n - $name (want $want, got status $rc; output $JT_BUILD/$name.out)"
		tail -n 15 "$JT_BUILD/$name.out" | sed 's/^/#   /'
		jt_failed=$((jt_failed + 1))
	fi
	return 0
}

# jt_assert NAME COND...: one more result from a shell test.
jt_assert() {
	local name=$1
	shift
	jt_n=$((jt_n + 1))
	if "$@"; then
		echo "ok $jt_n - $name"
	else
		echo "not ok $jt_n - $name"
		jt_failed=$((jt_failed + 1))
	fi
}

jt_done() {
	echo "1..$jt_n"
	echo "$((jt_n - jt_failed)) passed, $jt_failed failed"
	[ "$jt_failed" -eq 0 ]
}
