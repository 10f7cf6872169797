#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Judge test: the Linux guest judges.  check-linux-guest.sh (used by
# linux-bochs and linux-pks-bochs) fails on an all-SKIP suite, a skipped
# plan and an oops outside the expected-oops markers; tests/linux/run-qemu.sh
# never passes on the log of an earlier run (judges/lib.sh).
set -uo pipefail
. "$(dirname "$0")/judges/lib.sh"
jt_init linux
L="$JT_BUILD/logs"
mkdir -p "$L"
J="$JT_HARNESS/check-linux-guest.sh"
G="$JT_LOGS/linux-good.serial"

jt_case pass good-log "$J" "$G"
sed -E 's/^(ok [0-9]+ [a-z_]+).*/\1 # SKIP PKS not supported by this CPU/' "$G" >"$L/all-skip"
jt_case fail every-case-skipped "$J" "$L/all-skip"
sed -E 's/^(ok 2 key_ad)$/\1 # SKIP no PKS/' "$G" >"$L/one-skip"
jt_case fail one-case-skipped "$J" "$L/one-skip"
sed -E 's/^1\.\.2$/1..0 # SKIP no \/sys\/kernel\/debug\/pks_test/' "$G" | grep -v '^ok [0-9] pksv_\|^ok [0-9] smoke' >"$L/plan-skip"
jt_case fail suite-skipped-by-plan "$J" "$L/plan-skip"
sed -E 's/^(ok 1 pksv_available)$/\1 # SKIP PKSV_HC_FOO: ENOSYS/' "$G" >"$L/enosys"
jt_case pass pksv-case-skipped-enosys "$J" "$L/enosys"
awk '{ print } /^ok 2 key_ad$/ { print "[    5.000000] Oops: 0003 [#1] PREEMPT SMP" }' "$G" >"$L/oops"
jt_case fail oops-outside-markers "$J" "$L/oops"
awk '{ print } /^ok 3 relaxed/ { print "[    6.000000] kernel BUG at mm/memremap.c:100!" }' "$G" >"$L/bug"
jt_case fail kernel-bug-outside-markers "$J" "$L/bug"
awk '{ print } /^PKSV-GUEST: oops done/ { print "[    7.000000] WARNING: CPU: 0 PID: 1 at arch/x86/mm/pkeys.c:10" }' "$G" >"$L/warn"
jt_case fail warning-after-markers "$J" "$L/warn"
grep -v 'PKSV-GUEST: oops expected' "$G" >"$L/nomarker"
jt_case fail expected-oops-without-marker "$J" "$L/nomarker"
grep -v '^ok \|^1\.\.' "$G" >"$L/noresults"
jt_case fail no-results "$J" "$L/noresults"

# tests/linux/run-qemu.sh: a passing log from an earlier run at --log, then
# a QEMU that writes nothing: must fail, not pass on the old log.
R="$JT_ROOT/tests/linux/run-qemu.sh"
: >"$L/bzImage"; : >"$L/initrd.img"
cp "$G" "$L/qemu-linux.log"
JUDGE_QEMU_SERIAL="$G" jt_case pass linux-qemu-good "$R" --kernel "$L/bzImage" \
	--initrd "$L/initrd.img" --log "$L/qemu-linux.log" --timeout 20 --name judge
JUDGE_QEMU_SERIAL="" jt_case fail linux-qemu-stale-log "$R" --kernel "$L/bzImage" \
	--initrd "$L/initrd.img" --log "$L/qemu-linux.log" --timeout 20 --name judge

# S4 in two boots (run-tests.sh "hibernate" and "resume"): the first ends
# in the hibernating marker and a power-off, the second continues the
# first's user space and must not start it afresh.
printf '%s\n' 'PKSV-GUEST: userspace up' 'PKSV-GUEST: running hibernate' \
	'KTAP version 1' '1..1' 'PKSV-GUEST: hibernating (token 0011)' \
	'reboot: Power down' >"$L/s4-boot1"
printf '%s\n' 'ok 1 hibernate_resume # S4 image on /dev/vda restored' \
	'PKSV-GUEST: hibernate exited 0' 'PKSV-GUEST: done' >"$L/s4-boot2"
{ echo 'PKSV-GUEST: userspace up'; cat "$L/s4-boot2"; } >"$L/s4-fresh"
S4=(--kernel "$L/bzImage" --initrd "$L/initrd.img" --timeout 20 --name judge-s4)
JUDGE_QEMU_SERIAL="$L/s4-boot1" jt_case pass s4-hibernating "$R" "${S4[@]}" \
	--hibernating --log "$L/qemu-s4-1.log"
JUDGE_QEMU_SERIAL="$L/s4-boot1" jt_case fail s4-hibernating-is-no-full-boot "$R" \
	"${S4[@]}" --log "$L/qemu-s4-x.log"
JUDGE_QEMU_SERIAL="$L/s4-boot2" jt_case pass s4-resumed "$R" "${S4[@]}" \
	--resumed-from "$L/qemu-s4-1.log" --log "$L/qemu-s4-2.log"
JUDGE_QEMU_SERIAL="$L/s4-fresh" jt_case fail s4-started-afresh "$R" "${S4[@]}" \
	--resumed-from "$L/qemu-s4-1.log" --log "$L/qemu-s4-3.log"
jt_done
