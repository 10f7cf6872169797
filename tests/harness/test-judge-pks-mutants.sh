#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# test-judge-pks-mutants.sh: the unit tests that judge pksvisor's lock-free
# and lazy PKS paths (tests/unit/test_smp_views.c: the hinted PKRS switch
# of pks/views.c and its hint steal, the page plans of pks/unprotect_vmm.c)
# must fail when the code skips one of its checks.  Each case copies the
# sources into a scratch directory, removes one check there (never in the
# tree), builds
# test_smp_views and expects the named test to fail; the unchanged copy
# must pass.  Needs gcc and cmocka only (the unit stage's tools); about a
# minute (one ASan build per case).  Part of the judges stage
# (run-judge-tests.sh).
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/pksv-mutants.XXXXXX")"
trap 'rm -rf "$SCRATCH"' EXIT

passed=0 failed=0

# copy: a fresh copy of what test_smp_views builds from.
copy() {
	rm -rf "$SCRATCH/src"
	mkdir -p "$SCRATCH/src/tests"
	cp -r "$ROOT/include" "$ROOT/lib" "$ROOT/ept" "$ROOT/pks" "$ROOT/vmm" "$SCRATCH/src/"
	cp -r "$ROOT/tests/unit" "$SCRATCH/src/tests/"
	rm -rf "$SCRATCH/src/tests/unit/build"
}

# run_test: build test_smp_views in the copy; prints its failed tests,
# or BUILD-FAILED.
run_test() {
	make -s -C "$SCRATCH/src/tests/unit" BUILD="$SCRATCH/build" \
		"$SCRATCH/build/test_smp_views" >"$SCRATCH/make.log" 2>&1 ||
		{ echo BUILD-FAILED; return; }
	"$SCRATCH/build/test_smp_views" 2>&1 | sed -nE 's/^\[  FAILED  \] (test_[a-z0-9_]+)$/\1/p' | sort -u
}

# mutate FILE: replace the text of $OLD by $NEW once in the copy's FILE.
mutate() {
	OLD="$OLD" NEW="$NEW" python3 - "$SCRATCH/src/$1" <<'PY' || return 1
import os, sys
p = sys.argv[1]
s = open(p).read()
old, new = os.environ["OLD"], os.environ["NEW"]
if s.count(old) != 1:
    sys.exit(f"{p}: the text to remove occurs {s.count(old)} times")
open(p, "w").write(s.replace(old, new, 1))
PY
}

verdict() {	# name, ok?
	if [ "$2" = ok ]; then
		echo "ok: $1"; passed=$((passed + 1))
	else
		echo "FAIL: $1 ($2)"; failed=$((failed + 1))
	fi
}

# case NAME FILE EXPECTED_FAILING_TEST (OLD and NEW in the environment)
case_() {
	local got
	copy
	if ! mutate "$2"; then
		verdict "$1" "mutation did not apply: the check moved, update this script"
		return
	fi
	got="$(run_test)"
	if [ "$got" = BUILD-FAILED ]; then
		verdict "$1" "the mutant does not build: $(tail -n 3 "$SCRATCH/make.log" | tr '\n' ' ')"
	elif grep -qx "$3" <<<"$got"; then
		verdict "$1: $3 fails" ok
	else
		verdict "$1" "$3 did not fail (failed: ${got:-none})"
	fi
}

copy
got="$(run_test)"
if [ -z "$got" ]; then verdict "unchanged sources pass" ok; else verdict "unchanged sources pass" "failed: $got"; fi

# ---- the hinted PKRS switch (pks/views.c view_switch_hinted()) ----------
OLD='v->valid && v->pkrs == pkrs && v->wp == wp &&
		    v->generation == gen' NEW='v->pkrs == pkrs && v->wp == wp &&
		    v->generation == gen' \
	case_ "hinted: no valid check" pks/views.c test_hinted_slot_dropped
OLD='v->valid && v->pkrs == pkrs && v->wp == wp &&
		    v->generation == gen' NEW='v->valid && (pkrs || 1) && v->wp == wp &&
		    v->generation == gen' \
	case_ "hinted: no PKRS check" pks/views.c test_hinted_slot_rebuilt_for_other_pkrs
OLD='v->generation == gen && (v->users & me)' NEW='(v->users & me)' \
	case_ "hinted: no generation check" pks/views.c test_hinted_view_of_older_keymap
OLD='vcpu->pks.view_seq = seq;' NEW='(void)seq;' \
	case_ "hinted: build not recorded" pks/views.c test_hinted_switch_takes_no_lock
OLD='u8 want = (u8)((BIT(slot) | BIT(vcpu->pks.view_hint[0]) |
			BIT(vcpu->pks.view_hint[1])) & ~BIT(0));' NEW='u8 want = (u8)(BIT(slot) & ~BIT(0));' \
	case_ "hinted: no users bit on hinted views" pks/views.c test_hinted_view_not_evicted
OLD='		if ((others & BIT(id)) && o &&
		    __atomic_load_n(&o->pks.view, __ATOMIC_RELAXED) == (int)i) {' NEW='		if ((others & BIT(id)) && o && 0) {' \
	case_ "steal: the view a vCPU runs on taken" pks/views.c test_hint_stolen_not_running_view
OLD='		if ((want & BIT(i)) && !(v->users & me))' NEW='		if (!((want ^ vcpu->pks.user_slots) & BIT(i)))
			continue;
		if ((want & BIT(i)) && !(v->users & me))' \
	case_ "steal: a robbed bit not set again" pks/views.c test_hint_stolen_not_running_view

# ---- page plans (pks/unprotect_vmm.c plan_holds(), the epoch) -----------
OLD='e->plan_epoch == pks->view_epoch &&' NEW='(pks || 1) &&' \
	case_ "plan: no view epoch check" pks/unprotect_vmm.c test_plan_view_built_while_open
OLD='&&
	       plan_access(e->plan) == access;' NEW='&& access;' \
	case_ "plan: no access check" pks/unprotect_vmm.c test_plan_not_for_other_access
OLD='return stamp && e->facts_gen == stamp && e->plan_epoch' NEW='return stamp && e->plan_epoch' \
	case_ "plan: no facts stamp check" pks/unprotect_vmm.c test_plan_not_across_keymap_change
OLD='		hv->pks.view_epoch++;' NEW='		(void)0;' \
	case_ "plan: a merge does not move the epoch" pks/soft_fault.c test_plan_leaf_not_after_merge

# ---- parked views (review3 F4: pks/views.c view_slot(), the degraded path) --
OLD='	retry_parked(hv);
	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {' NEW='	for (unsigned int i = 1; i < PKS_MAX_VIEWS; i++) {' \
	case_ "parked: not handed over at selection" pks/views.c test_review3_all_parked_base_ept
OLD='	if (hv->nr_vcpus > 1) {
		/* Not entered' NEW='	if (0) {
		/* Not entered' \
	case_ "parked: the base EPT for the guest" pks/views.c test_review3_all_parked_base_ept
OLD='vcpu->pks.view_wanted || pks_inputs_moved(vcpu)' NEW='pks_inputs_moved(vcpu)' \
	case_ "parked: entry check ignores view_wanted" pks/pks_vmm.h test_review3_all_parked_base_ept

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
