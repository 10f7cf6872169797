#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Judge test: run-features.sh fails when a feature did not behave, replaying
# the serial logs of real runs (judges/logs/features-*.serial) with one
# thing wrong per case (judges/lib.sh).
set -uo pipefail
. "$(dirname "$0")/judges/lib.sh"
jt_init features
export PKSV_RESET_GRACE=1	# relaxed: how long Bochs may run after the reset line
L="$JT_BUILD/logs"
mkdir -p "$L"
F="$JT_HARNESS/run-features.sh"
jt_bochs_poweroff_log "$L/log.poweroff"
jt_bochs_panic_log "$L/log.panic"

# bad MODE NAME SED [ENV...]: the mode's good log edited must fail.
bad() {
	local mode=$1 name=$2 expr=$3
	shift 3
	sed -E "$expr" "$JT_LOGS/features-$mode.serial" >"$L/$name"
	bad_file "$mode" "$name" "$@"
}

# bad_file MODE NAME [ENV...]: $L/NAME, an edited log, must fail.
bad_file() {
	local mode=$1 name=$2
	shift 2
	if cmp -s "$JT_LOGS/features-$mode.serial" "$L/$name"; then
		jt_assert "$name: the edit changed the canned log" false
		return
	fi
	jt_case fail "$name" env "$@" JUDGE_BOCHS_SERIAL="$L/$name" \
		JUDGE_QEMU_SERIAL="$L/$name" "$F" "$mode"
}

# Each mode's Bochs ends as the real one did: power-off (pksoff), killed
# after the reset statistics (relaxed: the stub hangs), triple-fault panic
# (silent), killed at the FATAL line (fatal: the stub hangs).
P=(JUDGE_BOCHS_LOG="$L/log.poweroff")
R=(JUDGE_BOCHS_LOG="$L/log.poweroff" JUDGE_BOCHS_SLEEP=30)
S=(JUDGE_BOCHS_LOG="$L/log.panic" JUDGE_BOCHS_EXIT=1)
for m in qemu pksoff relaxed silent fatal; do
	case $m in pksoff) e=("${P[@]}") ;; relaxed|fatal) e=("${R[@]}") ;; silent) e=("${S[@]}") ;; *) e=() ;; esac
	jt_case pass "good-$m" env "${e[@]}" JUDGE_BOCHS_SERIAL="$JT_LOGS/features-$m.serial" \
		JUDGE_QEMU_SERIAL="$JT_LOGS/features-$m.serial" "$F" "$m"
done

bad qemu long-cfg-truncated '/pksvisor.cfg: longer than/d'
bad qemu long-options-cut '/load options: longer than/d'
bad qemu fallback-stop-booted 's/^(PKSV-LAUNCH: .* returned )0x8000000000000003$/\10x0/'
bad pksoff pks-visible 's/^ok ([0-9]+) - pks-off: CPUID.*/not ok \1 - pks-off: CPUID.(7,0):ECX[31] (PKS) clear (ecx 0x80000000)/' "${P[@]}"
bad relaxed no-s3-refusal '/pksvisor: S3 refused/d' "${R[@]}"
bad relaxed two-warnings 's/^(pksvisor: PKS: write of .*)$/\1\n\1/' "${R[@]}"
awk '/statistics \(periodic\)/ && n++ { sub(/periodic/, "requested by hypercall") } { print }' \
	"$JT_LOGS/features-relaxed.serial" >"$L/one-periodic"
bad_file relaxed one-periodic "${R[@]}"
bad relaxed reset-returned 's/^(PKSV-FEATURES: reset: port 0xcf9 <- 0x06)$/\1\nPKSV-FEATURES: reset: still running (wrong)/' "${R[@]}"
bad silent warned 's/^(ok 2 - pk-fault: stray write 1 .*)$/pksvisor: PKS: write of 0x7f0000000100 with key 3 at rip 0x1: relaxed mode\n\1/' "${S[@]}"
bad silent fatal-instead '/guest triple fault at rip/s/.*/pksvisor: FATAL: guest triple fault (shutdown) on vcpu 0/' "${S[@]}"
# The right log, but Bochs powered off instead of ending in the panic.
jt_case fail silent-bochs-did-not-end env "${P[@]}" \
	JUDGE_BOCHS_SERIAL="$JT_LOGS/features-silent.serial" "$F" silent
bad fatal no-dump '/pksvisor: last [0-9]+ exits/d' "${R[@]}"
jt_done
