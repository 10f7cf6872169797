#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# check-smp-guest.sh SERIAL MODE CPUS [CYCLES [TESTS]]
#     (MODE: native | linux | efi | shoot | apfail-vmlaunch | apfail-vmxon |
#      madt-extra)
#
# The judgement of run-smp-bochs.sh, on its serial log:
#  - the test firmware (fw-acpi.efi) put CPUS local APICs in its MADT;
#  - the guest reached userspace, the cpus runner saw CPUS CPUs online and
#    ran a task on each (and, with CYCLES > 0, took CPUs 1..CPUS-1 offline
#    and back CYCLES times), no KTAP case failed, the guest finished;
#  - linux mode: pksvisor ran every CPU: "MP: all CPUS CPUs run as guests",
#    and its power-off statistics name vCPUs 0..CPUS-1 and no other, with
#    no FATAL line.  A CPU left native has no statistics line: this fails.
#    The guest's debugfs has a statistics directory for each of the CPUS
#    CPUs, and with CYCLES > 0 the cycles ran under the kmap() load, which
#    ended with no lost update and unprotected_pages=0, with the default
#    PKRS and a blocked stray write on each CPU after each online.
#  - TESTS, the runner list given to the guest (pksv_tests=, default
#    smoke,cpus; "all" is every runner): with "pinned", the PKS suites ran
#    pinned to every CPU 0..CPUS-1 (the this_cpu case names that CPU) and
#    kmap_stress passed (linux mode: unprotected_pages=0 at the end); with
#    "strict", its three cases passed (the oopses were the expected ones).
# Plus check-linux-guest.sh (no oops, nothing skipped).
# efi mode (pksv-mp.efi instead of Linux): for every CPU K both of its
# results "ok N - cpu K ..." (pksvisor's CPUID leaf, reservation all-ones),
# none failed, plus the pksvisor lines of linux mode.
# shoot mode (pksv-shoot.efi): its TAP plan passed ("PKSV-SHOOT: done, 0
# of"), no stale write in any phase (protect; lock under pks=hw, whose
# lines must then be there; pinned under pks=soft: 60 LOCK_KEY calls
# while the AP wrote through a VMFUNC-pinned view, no write landed),
# the pksvisor lines of linux mode, and the
# shootdown really ran: vCPU 0 (the boot CPU, which protects) sent
# shootdowns and vCPU 1 (the AP that writes) took some.
# apfail-vmlaunch (2 CPUs, a test build whose vCPU 1 fails VMLAUNCH, then
# pksv-apstart.efi): pksvisor said CPU 1 was parked in VMX root with the
# VMLAUNCH error, booted with 1 of 2 CPUs, the app ran and its INIT-SIPI-
# SIPI did not start the AP (its TAP plan passed, the trampoline flag 0),
# and pksvisor printed vCPU 0's statistics at power-off, no FATAL line.
# apfail-vmxon (vCPU 1 fails VMXON): pksvisor said CPU 1 was outside VMX
# root and refused to hand off; neither "guest running" nor any line of
# the app; pksvisor powered the machine off instead of returning to the
# firmware, whose boot manager would start the next option (review3 F3).
# madt-extra (the MADT lists one startable CPU more than MP services
# report): pksvisor refused before virtualizing anything, naming both
# counts, and followed fallback=stop (the run's setting): pksvisor returned
# an error, no "guest running", no line of the app.  Exit 0 = pass.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
[ $# -ge 3 ] || { echo "usage: $0 SERIAL native|linux|efi|shoot|apfail-vmlaunch|apfail-vmxon|madt-extra CPUS [CYCLES [TESTS]]" >&2; exit 2; }
SERIAL=$1 MODE=$2 CPUS=$3 CYCLES=${4:-0} TESTS=${5:-smoke,cpus}
has_runner() {
	case ",$TESTS," in *,all,*|*,"$1",*) return 0 ;; esac
	return 1
}

# The AP-failure modes judge pksvisor's fail-closed start, nothing else.
case "$MODE" in
apfail-vmlaunch)
	exec "$HERE/check-serial.sh" "$SERIAL" --tap \
		--expect "PKSV-FW: installed FACS DSDT FACP APIC \\(MADT: $CPUS CPUs\\)" \
		--expect 'pksvisor: TEST BUILD' \
		--expect 'pksvisor: MP: CPU 1 \(APIC ID [0-9]+\) is NOT virtualized: VMLAUNCH failed: VM-instruction error 7; parked in VMX root, where INIT is blocked' \
		--expect "pksvisor: MP: booting with $((CPUS - 1)) of $CPUS CPUs" \
		--expect 'pksvisor: guest running' \
		--expect '^ok [0-9]+ - an AP in the MP services list' \
		--expect '^ok [0-9]+ - the AP \(APIC ID [0-9]+\) did not run the guest.s trampoline' \
		--expect 'PKSV-APSTART: trampoline flag 0x00000000' \
		--expect 'PKSV-APSTART: done, 0 of 2 failed' \
		--expect 'pksvisor: stats vcpu=0 ' \
		--forbid 'not ok ' \
		--forbid 'pksvisor: FATAL' \
		--forbid 'could run natively' \
		--forbid 'run as guests' ;;
apfail-vmxon)
	exec "$HERE/check-serial.sh" "$SERIAL" \
		--expect "PKSV-FW: installed FACS DSDT FACP APIC \\(MADT: $CPUS CPUs\\)" \
		--expect 'pksvisor: TEST BUILD' \
		--expect 'pksvisor: MP: CPU 1 \(APIC ID [0-9]+\) is NOT virtualized: VMXON failed .*; it is outside VMX root' \
		--expect 'pksvisor: MP: 1 CPU\(s\) outside pksvisor could run natively: not booting anything' \
		--expect 'pksvisor: powering off \(nothing may boot' \
		--forbid 'PKSV-FW: .*returned EFI status' \
		--forbid 'pksvisor: guest running' \
		--forbid 'PKSV-APSTART' \
		--forbid 'pksvisor: FATAL' \
		--forbid 'run as guests' ;;
madt-extra)
	exec "$HERE/check-serial.sh" "$SERIAL" \
		--expect "PKSV-FW: installed FACS DSDT FACP APIC \\(MADT: $((CPUS + 1)) CPUs\\)" \
		--expect "pksvisor: MP: $CPUS CPUs \\($CPUS enabled\\)" \
		--expect "pksvisor: VMX unavailable: the MADT lets the OS start $((CPUS + 1)) CPUs, pksvisor would run on $CPUS" \
		--expect 'pksvisor: fallback=stop: not booting anything' \
		--expect 'PKSV-FW: .*pksvisor.efi returned EFI status 0x8' \
		--forbid 'pksvisor: guest running' \
		--forbid 'PKSV-MP' \
		--forbid 'pksvisor: FATAL' ;;
esac

expect=(--expect "PKSV-FW: installed FACS DSDT FACP APIC \\(MADT: $CPUS CPUs\\)"
	--forbid 'not ok '
	--forbid 'Kernel panic')
if [ "$MODE" = efi ]; then
	for ((i = 0; i < CPUS; i++)); do
		expect+=(--expect "^ok [0-9]+ - cpu $i \\(APIC ID [0-9]+\\): CPUID 0x40000000 is pksvisor's"
			 --expect "^ok [0-9]+ - cpu $i \\(APIC ID [0-9]+\\): the reservation reads all-ones")
	done
	expect+=(--expect "PKSV-MP: $CPUS CPUs" --expect 'PKSV-MP: done, 0 of')
elif [ "$MODE" = shoot ]; then
	expect+=(--expect 'PKSV-SHOOT: protect rounds=[0-9]+ .* stale_writes=0 stale_rounds=0 '
		 --forbid 'PKSV-SHOOT: .* stale_(writes|rounds)=[1-9]'
		 --expect 'PKSV-SHOOT: done, 0 of'
		 --expect 'pksvisor: stats vcpu=0 .* shootdowns_sent=[1-9][0-9]* '
		 --expect 'pksvisor: stats vcpu=1 .* shootdowns_taken=[1-9][0-9]*( |$)')
else
	expect+=(--expect 'PKSV-GUEST: userspace up'
	--expect "ok 1 cpus_all_online # $CPUS CPUs"
	--expect "ok 2 cpus_run_pinned # $CPUS CPUs"
	--expect 'PKSV-GUEST: done')
fi
if [ "$CYCLES" -gt 0 ]; then
	if [ "$MODE" = linux ]; then
		expect+=(--expect "^ok 4 cpus_offline_online # $CYCLES cycles of CPUs 1\.\.$((CPUS - 1)), $CPUS online, PKRS default and stray write blocked after each, under kmap\(\) load: .*no lost update.*unprotected_pages=0\$")
	else
		expect+=(--expect "^ok [0-9]+ cpus_offline_online # $CYCLES cycles")
	fi
fi
if [ "$MODE" = linux ]; then
	expect+=(--expect "^ok 3 cpus_stats_every_cpu # $CPUS vCPU directories for $CPUS CPUs")
fi
# The runners exist only where Linux runs (not in the efi and shoot apps).
linux_guest=0
if [ "$MODE" = linux ] || [ "$MODE" = native ]; then linux_guest=1; fi
if [ "$linux_guest" = 1 ] && has_runner pinned; then
	for ((i = 0; i < CPUS; i++)); do
		expect+=(--expect "^    ok 1 this_cpu # on CPU $i, PKRS [0-9a-f]+, CR4.PKS set"
			 --expect "^ok [0-9]+ pinned_cpu$i # [0-9]+ cases on CPU $i,")
	done
	expect+=(--forbid "pinned_cpu$CPUS ")
	if [ "$MODE" = linux ]; then
		expect+=(--expect "^ok [0-9]+ kmap_stress # $CPUS threads on bound CPUs, [0-9]+ writes, no lost update, .*unprotected_pages=0\$")
	else
		expect+=(--expect "^ok [0-9]+ kmap_stress")
	fi
fi
if [ "$linux_guest" = 1 ] && has_runner strict; then
	expect+=(--expect '^ok 1 strict_oops # oopsed'
		 --expect '^ok 2 strict_copy_mc # oopsed'
		 --expect '^ok 3 strict_then_usable')
fi
if [ "$MODE" != native ]; then
	expect+=(--expect "pksvisor: MP: all $CPUS CPUs run as guests"
		 --expect 'pksvisor: guest running'
		 --expect 'pksvisor: statistics \(power-off'
		 --forbid 'pksvisor: FATAL'
		 --forbid 'is NOT virtualized')
	for ((i = 0; i < CPUS; i++)); do
		expect+=(--expect "pksvisor: stats vcpu=$i ")
	done
	expect+=(--forbid "pksvisor: stats vcpu=$CPUS ")
fi
if [ "$MODE" = shoot ] && grep -aq '^# backend hw' "$SERIAL"; then
	expect+=(--expect 'PKSV-SHOOT: lock rounds=15 .* stale_writes=0 stale_rounds=0 ')
elif [ "$MODE" = shoot ]; then
	# soft: LOCK_KEY rebuilt the view the AP VMFUNCs to while it wrote
	expect+=(--expect 'PKSV-SHOOT: pinned lock_calls=60 writes=[1-9][0-9]* faults=[1-9][0-9]* stale_writes=0 bad_faults=0$')
fi
check=0
"$HERE/check-serial.sh" "$SERIAL" --tap "${expect[@]}" || check=1
[ "$MODE" = efi ] || [ "$MODE" = shoot ] || "$HERE/check-linux-guest.sh" "$SERIAL" || check=1
exit "$check"
