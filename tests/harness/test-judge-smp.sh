#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Judge test: check-smp-guest.sh (run-smp-bochs.sh, stages smp-2, smp-4)
# passes a real 2-CPU run under pksvisor (stage smp-2: CPU 1 onlined after
# boot, 10 offline/online cycles under the kmap() load, the suites pinned
# to each CPU, the kmap() stress, strict) and fails the same log when one
# CPU was not virtualized (its statistics line missing, as with the
# pksvisor before boot/mp.c), when an AP launch failed, when Linux saw
# fewer CPUs, when a pinned task did not run, or for a different count;
# and for the guest series on SMP: a CPU missing from the pinned run, a
# pinned case that ran on another CPU, unbalanced unprotected_pages after
# the kmap() stress or the load, a lost update, a missing vCPU statistics
# directory, a PKRS check failing after an online, strict not run.
# Shoot mode (pksv-shoot.efi, the stale-TLB window): a real passing run
# passes; the real run of the same app under the pksvisor before the
# shootdown (every round ended in stale writes) fails, and so does the
# good log without the shootdown counters or with one stale write, or
# without the pinned line (soft: a VMFUNC-pinned writer while LOCK_KEY
# rebuilds its view), with one write of it landed, or with its LOCK_KEY
# calls cut short.  The
# same for the hw twin (pks=hw, LOCK_KEY rounds): its real run passes, the
# run before the shootdown (15 of 15 rounds stale) fails, and so does the
# good hw log without its lock line.
# AP failure (review finding 10, apfail-vmlaunch / apfail-vmxon: a test
# build whose vCPU 1 fails VMLAUNCH / VMXON, then pksv-apstart.efi's
# INIT-SIPI-SIPI to it): the real runs pass; the real runs of the same test
# build under the pksvisor before the fix (the AP ran the guest's
# trampoline natively; with VMXON failed pksvisor handed off anyway) fail;
# so do a good log whose AP was not parked, one without power-off
# statistics, a VMXON log where pksvisor handed off after all, and each
# good log judged as the other mode.
# MADT with one startable CPU more than MP services report (madt-extra):
# the real run passes; the pksvisor before the MADT check (it virtualized
# 2 CPUs and started the app) fails, and so does the good log judged for
# 3 CPUs, or with pksvisor's refusal line taken out.
set -uo pipefail
. "$(dirname "$0")/judges/lib.sh"
jt_init smp
L="$JT_BUILD/logs"
mkdir -p "$L"
J="$JT_HARNESS/check-smp-guest.sh"
G="$JT_LOGS/smp-linux-2.serial"

jt_case pass good-log "$J" "$G" linux 2
grep -v 'pksvisor: stats vcpu=1 \|statistics of vCPU 1 ' "$G" >"$L/ap-native"
jt_case fail ap-not-virtualized "$J" "$L/ap-native" linux 2
sed -E 's/^pksvisor: MP: all 2 CPUs run as guests/pksvisor: MP: CPU 1 (APIC ID 1) is NOT virtualized: VMLAUNCH failed/' \
	"$G" >"$L/ap-failed"
jt_case fail ap-launch-failed "$J" "$L/ap-failed" linux 2
sed -E 's/^ok 1 cpus_all_online # 2 CPUs.*/not ok 1 cpus_all_online # 1 CPUs online (0), firmware has 2/' \
	"$G" >"$L/one-online"
jt_case fail linux-saw-one-cpu "$J" "$L/one-online" linux 2
sed -E "s/^ok 2 cpus_run_pinned.*/not ok 2 cpus_run_pinned # CPU 1(ran on '0')/" "$G" >"$L/pinned"
jt_case fail pinned-task-elsewhere "$J" "$L/pinned" linux 2
jt_case fail four-cpus-wanted "$J" "$G" linux 4
jt_case fail offline-cycles-missing "$J" "$G" linux 2 3
T=smoke,cpus,pks,daxpaths,pinned,pksvisor,strict
jt_case pass good-log-smp2 "$J" "$G" linux 2 10 "$T"
jt_case fail three-cpus-pinned "$J" "$G" linux 3 10 "$T"
# CPU 1's pinned suite left out (its subtest and its result line).
awk '/^    KTAP version 1/ { n++ } n == 2 && /^    / { next }
	/^ok [0-9]+ pinned_cpu1 / { next } { print }' "$G" >"$L/pinned-cpu1-missing"
jt_case fail pinned-cpu-missing "$J" "$L/pinned-cpu1-missing" linux 2 10 "$T"
sed -E 's/^(    ok 1 this_cpu # on CPU )1,/\10,/' "$G" >"$L/pinned-elsewhere"
jt_case fail pinned-ran-elsewhere "$J" "$L/pinned-elsewhere" linux 2 10 "$T"
sed -E '/^ok [0-9]+ kmap_stress /s/unprotected_pages=0(\r?)$/unprotected_pages=1\1/' "$G" >"$L/stress-unbalanced"
jt_case fail stress-unprotected-unbalanced "$J" "$L/stress-unbalanced" linux 2 10 "$T"
sed -E 's/^ok ([0-9]+) kmap_stress .*/not ok \1 kmap_stress # lost update: page 3 thread 1 wrote 16, page has 15/' \
	"$G" >"$L/stress-lost"
jt_case fail stress-lost-update "$J" "$L/stress-lost" linux 2 10 "$T"
sed -E '/^ok 4 cpus_offline_online /s/unprotected_pages=0(\r?)$/unprotected_pages=2\1/' "$G" >"$L/load-unbalanced"
jt_case fail load-unprotected-unbalanced "$J" "$L/load-unbalanced" linux 2 10 "$T"
sed -E 's/^ok 3 cpus_stats_every_cpu # 2 vCPU/ok 3 cpus_stats_every_cpu # 1 vCPU/' "$G" >"$L/stats-dir"
jt_case fail stats-dir-missing "$J" "$L/stats-dir" linux 2 10 "$T"
sed -E 's/PKRS default and stray write blocked after each, //' "$G" >"$L/cycle-unchecked"
jt_case fail cycles-without-pks-checks "$J" "$L/cycle-unchecked" linux 2 10 "$T"
grep -v '^ok [0-9] strict_' "$G" >"$L/no-strict"
jt_case fail strict-missing "$J" "$L/no-strict" linux 2 10 "$T"

S="$JT_LOGS/smp-shoot-2.serial"
jt_case pass shoot-good-log "$J" "$S" shoot 2
# run-smp-bochs.sh passes its runner list (default "all") to every mode:
# the Linux runners must not be expected from the shoot app.
jt_case pass shoot-good-log-runners-all "$J" "$S" shoot 2 0 all
jt_case fail shoot-before-shootdown "$J" "$JT_LOGS/smp-shoot-2-noshootdown.serial" shoot 2
sed -E 's/ shootdowns_taken=[0-9]+/ shootdowns_taken=0/' "$S" >"$L/shoot-none-taken"
jt_case fail shoot-none-taken "$J" "$L/shoot-none-taken" shoot 2
sed -E 's/ stale_writes=0 stale_rounds=0 / stale_writes=1 stale_rounds=0 /' "$S" >"$L/shoot-one-stale"
jt_case fail shoot-one-stale-write "$J" "$L/shoot-one-stale" shoot 2
# soft: the VMFUNC-pinned writer while LOCK_KEY rebuilds its view
grep -v 'PKSV-SHOOT: pinned ' "$S" >"$L/shoot-no-pinned-line"
jt_case fail shoot-pinned-line-missing "$J" "$L/shoot-no-pinned-line" shoot 2
sed -E 's/(PKSV-SHOOT: pinned .*) stale_writes=0 /\1 stale_writes=1 /' "$S" >"$L/shoot-pinned-stale"
jt_case fail shoot-pinned-one-landed-write "$J" "$L/shoot-pinned-stale" shoot 2
sed -E 's/(PKSV-SHOOT: pinned lock_calls=)60 /\17 /' "$S" >"$L/shoot-pinned-few-locks"
jt_case fail shoot-pinned-lock-calls-cut-short "$J" "$L/shoot-pinned-few-locks" shoot 2
H="$JT_LOGS/smp-shoot-2-hw.serial"
jt_case pass shoot-hw-good-log "$J" "$H" shoot 2
jt_case fail shoot-hw-before-shootdown "$J" "$JT_LOGS/smp-shoot-2-hw-noshootdown.serial" shoot 2
grep -v 'PKSV-SHOOT: lock rounds=' "$H" >"$L/shoot-hw-no-lock-line"
jt_case fail shoot-hw-lock-line-missing "$J" "$L/shoot-hw-no-lock-line" shoot 2

A="$JT_LOGS/smp-apfail-vmlaunch-2.serial"
X="$JT_LOGS/smp-apfail-vmxon-2.serial"
jt_case pass apfail-vmlaunch-good-log "$J" "$A" apfail-vmlaunch 2
jt_case fail apfail-vmlaunch-before-fix "$J" "$JT_LOGS/smp-apfail-vmlaunch-2-old.serial" apfail-vmlaunch 2
sed -E 's/; parked in VMX root, where INIT is blocked.*//' "$A" >"$L/apfail-not-parked"
jt_case fail apfail-vmlaunch-not-parked "$J" "$L/apfail-not-parked" apfail-vmlaunch 2
grep -v 'pksvisor: stats vcpu=' "$A" >"$L/apfail-no-stats"
jt_case fail apfail-vmlaunch-no-power-off-stats "$J" "$L/apfail-no-stats" apfail-vmlaunch 2
jt_case fail apfail-vmlaunch-log-as-vmxon "$J" "$A" apfail-vmxon 2
jt_case pass apfail-vmxon-good-log "$J" "$X" apfail-vmxon 2
jt_case fail apfail-vmxon-before-fix "$J" "$JT_LOGS/smp-apfail-vmxon-2-old.serial" apfail-vmxon 2
sed -E 's/^(pksvisor: powering off .*)/pksvisor: guest running: firmware and next image now run under pksvisor\n\1/' \
	"$X" >"$L/apfail-vmxon-handed-off"
jt_case fail apfail-vmxon-handed-off "$J" "$L/apfail-vmxon-handed-off" apfail-vmxon 2
# Review3 F3: returning to the firmware (whose boot manager starts the next
# option) instead of powering off is a fail.
{ grep -v 'pksvisor: powering off' "$X"; echo 'PKSV-FW: \EFI\BOOT\pksvisor.efi returned EFI status 0x8000000000000003'; } \
	>"$L/apfail-vmxon-returned"
jt_case fail apfail-vmxon-returned-to-firmware "$J" "$L/apfail-vmxon-returned" apfail-vmxon 2
jt_case fail apfail-vmxon-log-as-vmlaunch "$J" "$X" apfail-vmlaunch 2

M="$JT_LOGS/smp-madt-extra-2.serial"
jt_case pass madt-extra-good-log "$J" "$M" madt-extra 2
jt_case fail madt-extra-before-check "$J" "$JT_LOGS/smp-madt-extra-2-old.serial" madt-extra 2
jt_case fail madt-extra-three-cpus "$J" "$M" madt-extra 3
grep -v 'the MADT lets the OS start' "$M" >"$L/madt-no-refusal"
jt_case fail madt-extra-no-refusal-line "$J" "$L/madt-no-refusal" madt-extra 2
jt_done
