#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# run-pks-conformance.sh qemu|bochs|compare|qemu-nopks
#                        |bochs-native|hw|hw-auto|soft-upstream|soft-spr|compare-hw
#
# The PKS conformance guest (tests/guest-efi/pks-conformance.c, issue 4
# item 6a): architectural PKS checks from a guest that makes no hypercall,
# printed as KTAP whose case names end with the observed behaviour.
#
#  qemu:       the app natively on QEMU TCG -cpu max (emulates PKS: the
#              reference), as \EFI\BOOT\BOOTX64.EFI; every case must be ok
#              (no SKIP).
#  bochs:      the app under pksvisor in Bochs (tigerlake: VMX, no PKS), so
#              pksvisor's soft (EPT) backend must provide PKS.  ESP:
#                \EFI\BOOT\BOOTX64.EFI   build/pksvisor.efi
#                \EFI\BOOT\pksvisor.cfg  next=\pks-conformance.efi pks=soft
#                                        pks_mode=strict stats=off
#                \pks-conformance.efi
#              Every case must be ok; an all-SKIP run (the guest saw no PKS
#              in CPUID) is a failure.
#  compare:    runs qemu and bochs, then diffs their KTAP result lines
#              (number, ok/not ok, name with the observed behaviour); any
#              difference fails, and so does a run that failed by itself
#              (emulator crash, timeout, its own checks).
# Every mode wants exactly PKS_CONF_CASES results (the app's plan, pinned
# below).  Each run deletes its serial.txt and results.txt first.
#  qemu-nopks: QEMU -cpu max,-pks: the app must print the same plan with
#              every case "# SKIP no PKS".
#
# The second test bed, patched upstream Bochs (tests/emulators/
# build-bochs.sh; run-bochs.sh --emulator upstream), which has VMX *and*
# PKS (model sapphire_rapids):
#  bochs-native:  the app natively (no pksvisor) on sapphire_rapids: every
#              case ok.  This is also the host check that the PKS patch is
#              in the binary: unpatched Bochs truncates WRMSR IA32_PKRS with
#              bits 63:32 set instead of raising #GP, so the "reserved bits
#              63:32" cases fail there (and the leaf-U/S cases of the matrix)
#              -- a stale or unpatched cached binary cannot pass this mode.
#  hw:         the app under pksvisor pks=hw (the hardware PKS backend:
#              guest PKRS in the VMCS, load-IA32_PKRS controls), strict.
#  hw-auto:    the same with pks=auto: pksvisor must pick hw there (its
#              boot line "PKS: backend hw (requested pks=auto)" is checked).
#  soft-upstream: pksvisor pks=soft in upstream Bochs, CPU model tigerlake
#              (VMX, no PKS: where the soft backend is meant to run), as a
#              cross-check of the EPT backend on a second emulator.
#  soft-spr:   pks=soft forced on sapphire_rapids: the soft backend on a
#              CPU that has PKS (pksvisor keeps the real CR4.PKS clear).
#  compare-hw: qemu, bochs-native, hw, hw-auto, soft-upstream and soft-spr, each
#              compared line by line with qemu.  Cases listed in
#              BOCHS_ORDER_CASES (below) are taken out of the comparisons
#              that involve Bochs's own page walk (bochs-native, hw,
#              hw-auto) and printed as "excluded" with the reason, never
#              dropped silently; every run must still pass on its own.
#
# Environment: BUILD (default <repo>/build), PKSV_TIMEOUT (seconds; default
# 300 for Bochs, 120 for QEMU).  Runs write to $BUILD/test-pks-MODE/
# (esp.img, serial.txt, results.txt, qemu.log or bochs.log).  The last line
# is "N passed, N failed".  Exit status 0 on pass, 1 on failure, 2 on usage
# errors.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
. "$HERE/lib.sh"

# The number of cases pks-conformance.c prints (its KTAP plan): pinned, so
# that a run that loses or gains cases fails instead of comparing equal.
# Change it together with the app.
PKS_CONF_CASES=391

MODE="${1:-}"
case "$MODE" in
qemu|bochs|compare|qemu-nopks|bochs-native|hw|hw-auto|soft-upstream|soft-spr|compare-hw) ;;
*) echo "usage: $0 qemu|bochs|compare|qemu-nopks|bochs-native|hw|hw-auto|soft-upstream|soft-spr|compare-hw" >&2; exit 2 ;;
esac

# Cases whose result legitimately differs between QEMU and Bochs's page
# walker: pairs of (ERE over the KTAP result line, reason).  Bochs checks
# protection keys before the ordinary U/S rule, QEMU after it, so a CPL3
# access to a supervisor page whose PKRS key denies it gets #PF ec 0x25
# (U|P|PK) in Bochs and 0x5 in QEMU.  pks-conformance.c runs at CPL0 only,
# so it has no such case and the list is empty.  Not in this list: a CPL0
# write to a read-only supervisor page whose key denies it too (the app's
# "order" cases) -- both emulators set PK there, as SDM Vol. 3A 4.7 defines
# the PK flag (set whenever the key forbids the access, whatever else
# does), so those are compared.  PKSV_TEST_EXCLUDE='ERE|reason' adds a pair
# (used to check that exclusions are listed, never silently dropped).
BOCHS_ORDER_CASES=()
if [ -n "${PKSV_TEST_EXCLUDE:-}" ]; then
	BOCHS_ORDER_CASES+=("${PKSV_TEST_EXCLUDE%%|*}" "${PKSV_TEST_EXCLUDE#*|}")
fi

BUILD="$(realpath -m "${BUILD:-$ROOT/build}")"
HV="$BUILD/pksvisor.efi"
APP="$BUILD/guest-efi/pks-conformance.efi"

need_pkg gnu-efi gcc make binutils
make -s -C "$ROOT/tests/guest-efi" BUILD="$BUILD/guest-efi" >&2

# results SERIAL OUT: the KTAP result lines, CRs and escapes removed.
results() {
	LC_ALL=C sed -E -e 's/\x1b\[[0-9;=?]*[A-Za-z]//g' -e 's/\r//g' "$1" |
		LC_ALL=C grep -aE '^(not )?ok [0-9]+ ' >"$2" || true
}

# run_one MODE: boot the app for one of qemu|bochs|qemu-nopks into
# $BUILD/test-pks-MODE and check its serial output; returns 0 on pass.
run_one() {
	local mode=$1 out="$BUILD/test-pks-$1" serial status=0 check=0 start elapsed
	local checks=(--tap --expect 'PKSV-PKS-CONF: start' --expect 'PKSV-PKS-CONF: done'
		--expect '^KTAP version 1$' --expect '^1\.\.[0-9]+$')
	mkdir -p "$out"
	serial="$out/serial.txt"
	# Nothing from an earlier run may be judged (or compared) again.
	rm -f "$serial" "$out/results.txt" "$out/check.txt"
	: >"$out/results.txt"

	case "$mode" in
	qemu|qemu-nopks)
		"$HERE/mkesp.sh" "$out/esp.img" "$APP:/EFI/BOOT/BOOTX64.EFI" ;;
	bochs-native)
		"$HERE/mkesp.sh" "$out/esp.img" "$APP:/EFI/BOOT/BOOTX64.EFI" ;;
	bochs|hw|hw-auto|soft-upstream|soft-spr)
		if [ ! -f "$HV" ]; then
			echo "run-pks-conformance: build/pksvisor.efi missing: run make ($HV)" >&2
			echo "0 passed, 1 failed"
			return 1
		fi
		local backend=soft
		case "$mode" in hw) backend=hw ;; hw-auto) backend=auto ;; esac
		{
			echo "# generated by tests/harness/run-pks-conformance.sh $mode"
			echo 'next=\pks-conformance.efi'
			echo "pks=$backend"
			echo 'pks_mode=strict'
			echo 'stats=off'
		} >"$out/pksvisor.cfg"
		"$HERE/mkesp.sh" "$out/esp.img" \
			"$HV:/EFI/BOOT/BOOTX64.EFI" \
			"$out/pksvisor.cfg:/EFI/BOOT/pksvisor.cfg" \
			"$APP:/pks-conformance.efi" ;;
	esac

	start=$(now_ms)
	case "$mode" in
	qemu)
		"$HERE/run-qemu.sh" "$out/esp.img" "$serial" "${PKSV_TIMEOUT:-120}" \
			--cpu max || status=$? ;;
	qemu-nopks)
		"$HERE/run-qemu.sh" "$out/esp.img" "$serial" "${PKSV_TIMEOUT:-120}" \
			--cpu max,-pks || status=$? ;;
	bochs)
		# The app's port 0x8900 write normally ends Bochs.  Once seen
		# (2026-11-22) Bochs logged that shutdown and then kept running
		# until the timeout, so stop it 10 s after the app's last line
		# (stats=off: nothing of interest follows).
		"$HERE/run-bochs.sh" "$out/esp.img" "$serial" "${PKSV_TIMEOUT:-300}" \
			--until 'PKSV-PKS-CONF: done' --grace 10 || status=$? ;;
	bochs-native|hw|hw-auto|soft-spr)
		"$HERE/run-bochs.sh" "$out/esp.img" "$serial" "${PKSV_TIMEOUT:-300}" \
			--emulator upstream --model sapphire_rapids \
			--until 'PKSV-PKS-CONF: done' --grace 10 || status=$? ;;
	soft-upstream)
		"$HERE/run-bochs.sh" "$out/esp.img" "$serial" "${PKSV_TIMEOUT:-300}" \
			--emulator upstream --model tigerlake \
			--until 'PKSV-PKS-CONF: done' --grace 10 || status=$? ;;
	esac
	stop_if_emulator_never_ran "$status" run-pks-conformance
	elapsed=$(( $(now_ms) - start ))
	echo "run-pks-conformance: $mode run took $((elapsed / 1000)).$(printf %03d $((elapsed % 1000)))s" >&2

	results "$serial" "$out/results.txt"
	local n skipped
	n=$(wc -l <"$out/results.txt")
	skipped=$(grep -c '# SKIP' "$out/results.txt" || true)

	case "$mode" in
	qemu)
		checks+=(--forbid '# SKIP') ;;
	bochs-native)
		# The patch check (see the top): named so a failure says why.
		checks+=(--forbid '# SKIP' --forbid 'pksvisor:'
			--expect '^ok [0-9]+ .*pkrs wrmsr 0x100000004 \(reserved bits 63:32\): #GP ec=0x0')
		;;
	bochs|soft-upstream|soft-spr)
		checks+=(--expect 'pksvisor:' --forbid 'pksvisor: FATAL' --forbid '# SKIP'
			--expect 'PKS: backend soft') ;;
	hw)
		checks+=(--expect 'pksvisor:' --forbid 'pksvisor: FATAL' --forbid '# SKIP'
			--expect 'PKS: backend hw \(requested pks=hw\)') ;;
	hw-auto)
		checks+=(--expect 'pksvisor:' --forbid 'pksvisor: FATAL' --forbid '# SKIP'
			--expect 'PKS: backend hw \(requested pks=auto\)') ;;
	qemu-nopks)
		checks+=(--expect '^ok 1 - .* # SKIP no PKS$') ;;
	esac
	"$HERE/check-serial.sh" "$serial" "${checks[@]}" >"$out/check.txt" || check=$?

	# qemu-nopks: every result must be a SKIP (check-serial only counts
	# them); bochs: an all-SKIP run means pksvisor did not expose PKS.
	local extra=0 p f summary
	if [ "$mode" = qemu-nopks ] && { [ "$n" -eq 0 ] || [ "$skipped" -ne "$n" ]; }; then
		echo "FAIL: $((n - skipped)) of $n results are not '# SKIP no PKS'" >>"$out/check.txt"
		extra=1
	fi
	if [ "$mode" != qemu-nopks ] && [ "$n" -gt 0 ] && [ "$skipped" -eq "$n" ]; then
		echo "FAIL: every case was skipped: the guest saw no PKS in CPUID.(7,0):ECX[31]" \
			"(natively on a PKS CPU model, or under pksvisor, which must expose PKS)" >>"$out/check.txt"
		extra=1
	fi
	if [ "$mode" = bochs-native ] &&
	   ! grep -qE '^ok [0-9]+ .*pkrs wrmsr 0x100000004 \(reserved bits 63:32\): #GP' "$out/results.txt"; then
		echo "FAIL: this upstream Bochs lacks tests/emulators/bochs-783b58f-pks.patch (WRMSR IA32_PKRS" \
			"with bit 32 set did not #GP): a stale or foreign binary; rebuild with" \
			"tests/emulators/build-bochs.sh --force" >>"$out/check.txt"
		extra=1
	fi
	if [ "$n" -ne "$PKS_CONF_CASES" ]; then
		echo "FAIL: $n results, want $PKS_CONF_CASES (PKS_CONF_CASES in $0)" >>"$out/check.txt"
		extra=$((extra + 1))
	fi
	[ "$extra" -eq 0 ] || check=1
	# Failures first, then one "N passed, N failed" (check-serial's counts
	# plus the extra check above).
	read -r p f <<<"$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$out/check.txt" | tail -n 1)"
	summary="${p:-0} passed, $(( ${f:-1} + extra )) failed"
	grep -vE '^[0-9]+ passed, [0-9]+ failed$' "$out/check.txt" | head -n 60
	# The patch check's verdict must not drown in the case list above.
	[ "$mode" != bochs-native ] || grep -F 'lacks tests/emulators' "$out/check.txt" || true

	if [ "$status" -ne 0 ] || [ "$check" -ne 0 ]; then
		[ "$status" -ne 124 ] || echo "run-pks-conformance: $mode timed out" >&2
		if [ -f "$out/bochs.log" ]; then
			echo "run-pks-conformance: bochs.log highlights ($out/bochs.log):" >&2
			grep -aE 'VMFAIL|VMX|PANIC|panic|exception|triple' "$out/bochs.log" |
				grep -v 'Shutdown port' | tail -n 20 >&2 || true
		fi
		echo "run-pks-conformance: $mode FAILED ($n results, $skipped skipped; serial: $serial)" >&2
		echo "$summary"
		[ "$check" -ne 0 ] || echo "(emulator exit status $status)"
		return 1
	fi
	echo "run-pks-conformance: $mode passed ($n results, $skipped skipped)" >&2
	echo "$summary"
	return 0
}

# compare_runs A B EXCLUDE: diff the result lines of runs A and B (each in
# $BUILD/test-pks-X/results.txt) by test number; with EXCLUDE=1 the cases
# matching BOCHS_ORDER_CASES are taken out of both sides first and printed
# as "excluded".  Prints "compare A vs B: ..." and sets CMP_FAIL to the
# number of differences (plus 1 for an empty side).
compare_runs() {
	local a=$1 b=$2 exclude=$3 ar br out same differ na nb re
	ar="$BUILD/test-pks-$a/results.txt"
	br="$BUILD/test-pks-$b/results.txt"
	out="$BUILD/test-pks-compare-$a-$b"
	mkdir -p "$out"
	cp "$ar" "$out/$a.txt" 2>/dev/null || : >"$out/$a.txt"
	cp "$br" "$out/$b.txt" 2>/dev/null || : >"$out/$b.txt"
	if [ "$exclude" = 1 ]; then
		local i=0
		: >"$out/excluded.txt"
		while [ $i -lt ${#BOCHS_ORDER_CASES[@]} ]; do
			re=${BOCHS_ORDER_CASES[$i]}
			LC_ALL=C grep -aE -- "$re" "$out/$a.txt" "$out/$b.txt" |
				LC_ALL=C awk -v why="${BOCHS_ORDER_CASES[$((i + 1))]}" \
					'{ print "excluded: " $0 "   [" why "]" }' >>"$out/excluded.txt" || true
			for f in "$out/$a.txt" "$out/$b.txt"; do
				LC_ALL=C grep -avE -- "$re" "$f" >"$f.tmp" || true
				mv "$f.tmp" "$f"
			done
			i=$((i + 2))
		done
		[ ! -s "$out/excluded.txt" ] || sed 's/^/  /' "$out/excluded.txt"
	fi
	diff -u --label "$a" --label "$b" "$out/$a.txt" "$out/$b.txt" >"$out/results.diff" || true
	read -r same differ <<<"$(LC_ALL=C awk '
		function num() { return $1 == "not" ? $3 : $2 }
		NR == FNR { q[num()] = $0; next }
		{ b[num()] = $0 }
		END {
			s = 0; d = 0
			for (k in q) if ((k in b) && q[k] == b[k]) s++; else d++
			for (k in b) if (!(k in q)) d++
			print s, d
		}' "$out/$a.txt" "$out/$b.txt")"
	same=${same:-0}
	differ=${differ:-0}
	na=$(wc -l <"$out/$a.txt")
	nb=$(wc -l <"$out/$b.txt")
	echo "run-pks-conformance: compare $a vs $b: $na / $nb results compared, $same identical, $differ different (diff: $out/results.diff)"
	if [ "$differ" -gt 0 ]; then
		grep -E '^[-+](not )?ok ' "$out/results.diff" | head -n 40
		[ "$(grep -cE '^[-+](not )?ok ' "$out/results.diff")" -le 40 ] ||
			echo "... (more in $out/results.diff)"
	fi
	CMP_FAIL=$differ
	[ "$na" -gt 0 ] || { echo "FAIL: the $a run produced no results"; CMP_FAIL=$((CMP_FAIL + 1)); }
	[ "$nb" -gt 0 ] || { echo "FAIL: the $b run produced no results"; CMP_FAIL=$((CMP_FAIL + 1)); }
	CMP_SAME=$same
}

case "$MODE" in
compare|compare-hw) ;;
*)	run_one "$MODE" && exit 0 || exit 1 ;;
esac

if [ "$MODE" = compare ]; then
	# compare: both runs, then the result lines side by side by test number.
	rq=0
	rb=0
	echo "== qemu (reference)"
	run_one qemu || rq=$?
	echo "== bochs (pksvisor pks=soft)"
	run_one bochs || rb=$?
	echo "== compare"
	compare_runs qemu bochs 0
	fail=$CMP_FAIL
	# Equal result lines prove nothing when a run failed (its emulator
	# crashed, timed out, or its own checks, the pinned case count among
	# them, failed): each run must pass by itself.
	[ "$rq" -eq 0 ] || { echo "FAIL: the qemu run itself failed (see above)"; fail=$((fail + 1)); }
	[ "$rb" -eq 0 ] || { echo "FAIL: the bochs run itself failed (see above)"; fail=$((fail + 1)); }
	echo "$CMP_SAME passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi

# compare-hw: the reference, then every run on the upstream test bed; a run
# that fails on its own counts, and so does every difference from qemu.
# bochs-native goes first: it is the check that the patched binary is in use.
fail=0
passed=0
RUNS=(bochs-native hw hw-auto soft-upstream soft-spr)
echo "== qemu (reference)"
if run_one qemu; then passed=$((passed + 1)); else fail=$((fail + 1)); fi
for r in "${RUNS[@]}"; do
	echo "== $r (upstream Bochs)"
	if run_one "$r"; then passed=$((passed + 1)); else fail=$((fail + 1)); echo "note: the $r run itself failed (see above)"; fi
done
echo "== compare"
for r in "${RUNS[@]}"; do
	ex=0
	case "$r" in bochs-native|hw|hw-auto) ex=1 ;; esac
	compare_runs qemu "$r" "$ex"
	if [ "$CMP_FAIL" -eq 0 ]; then passed=$((passed + 1)); else fail=$((fail + CMP_FAIL)); fi
done
echo "$passed passed, $fail failed"
[ "$fail" -eq 0 ]
