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
jt_done
