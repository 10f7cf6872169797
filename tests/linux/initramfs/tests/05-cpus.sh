#!/bin/sh
# Every CPU the firmware reports is up (all-CPU runs: tests/harness/
# run-smp-bochs.sh passes pksv_cpus=N on the command line; without it the
# runner only prints the count, no KTAP: the 1-CPU runs stay as they were).
# A CPU that Linux left offline at boot (maxcpus=) is brought online here
# first: PKS set up on a CPU that arrives late.  Under pksvisor every CPU
# then has its statistics in debugfs.  Then each CPU but CPU 0 is taken
# offline and brought back pksv_cpu_cycles= times (default 0) while the
# kmap() stress of lib/test_pks.c runs as background load (kmap_load):
# Linux re-sends INIT-SIPI on every online, so under pksvisor this
# exercises its INIT/SIPI path; after each online the CPU must run with
# PKS on and the default PKRS (this_cpu) and a stray PMEM write on it must
# fault (pmem_stray_write_blocked), both run pinned to that CPU.  The load
# ends with the stress's checks: no lost update, every page protected
# again, pksvisor's unprotect references balanced.
want=""
cycles=0
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	pksv_cpus=*) want=${arg#pksv_cpus=} ;;
	pksv_cpu_cycles=*) cycles=${arg#pksv_cpu_cycles=} ;;
	esac
done
D=/sys/kernel/debug/pks_test
online=$(cat /sys/devices/system/cpu/online)
present=$(cat /sys/devices/system/cpu/present)
n=$(grep -c '^processor' /proc/cpuinfo)
# Guest time since boot when userspace runs this (the first runner after
# smoke): the SMP runs report it as boot time to userspace.
up=$(cut -d' ' -f1 /proc/uptime)
echo "PKSV-GUEST: cpus online=$online present=$present count=$n uptime=$up"
[ -n "$want" ] || exit 0
# Under pksvisor (the kernel found its signature) one more case: the
# statistics directories.
pksv=0
dmesg | grep -q 'pksvisor: ABI' && pksv=1
echo "KTAP version 1"
echo "1..$((2 + pksv + (cycles > 0)))"

# Run debugfs case $2 pinned to CPU $1; prints its result line.
pinned_case() {
	taskset -c "$1" sh -c "echo $2 >$D/run && cat $D/result" 2>&1
}

# CPUs present but offline (maxcpus=): online them now.
late=""
for f in /sys/devices/system/cpu/cpu[0-9]*/online; do
	[ "$(cat "$f")" = 0 ] || continue
	c=${f%/online}; c=${c##*/cpu}
	if echo 1 >"$f" 2>/dev/null && [ "$(cat "$f")" = 1 ]; then
		late="$late $c"
	else
		late="$late $c(failed)"
	fi
done
n=$(grep -c '^processor' /proc/cpuinfo)
online=$(cat /sys/devices/system/cpu/online)
note=""
[ -z "$late" ] || note=", onlined after boot:$late"
if [ "$n" = "$want" ]; then
	echo "ok 1 cpus_all_online # $n CPUs ($online)$note"
else
	echo "not ok 1 cpus_all_online # $n CPUs online ($online), firmware has $want$note"
fi
# Each CPU runs code: a shell pinned to it reads its own CPU number.
bad=""
i=0
while [ "$i" -lt "$n" ]; do
	got=$(taskset -c "$i" sh -c 'cut -d" " -f39 /proc/self/stat' 2>/dev/null)
	[ "$got" = "$i" ] || bad="$bad $i(ran on '${got}')"
	i=$((i + 1))
done
if [ -z "$bad" ]; then
	echo "ok 2 cpus_run_pinned # $n CPUs"
else
	echo "not ok 2 cpus_run_pinned # CPU$bad"
fi
# pksvisor's statistics in debugfs: one vcpuN directory per online CPU,
# also for a CPU that came up after boot.
S=/sys/kernel/debug/pksvisor
k=2
if [ $pksv = 1 ]; then
	k=3
	dirs=0 why=""
	for f in $S/vcpu*/stats; do
		[ -r "$f" ] || continue
		d=${f%/stats}; d=${d##*/}
		case "$(cat "$f" 2>/dev/null)" in
		"vcpu=${d#vcpu} "*) dirs=$((dirs + 1)) ;;
		*) why="$why $d unreadable" ;;
		esac
	done
	if [ "$dirs" = "$n" ] && [ -z "$why" ]; then
		echo "ok $k cpus_stats_every_cpu # $dirs vCPU directories for $n CPUs"
	else
		echo "not ok $k cpus_stats_every_cpu # $dirs vCPU directories for $n CPUs:$why ($(ls $S | tr '\n' ' '))"
	fi
fi
[ "$cycles" -gt 0 ] || exit 0

# Offline/online cycles under load (CPU hotplug, INIT-SIPI on each online).
pks=0
grep -q '^available: 1' /sys/kernel/debug/pks/keys 2>/dev/null && pks=1
load=""
if [ $pks = 1 ] && [ -w $D/kmap_load ]; then
	echo start >$D/kmap_load && load=kmap_load
fi
fail=""
c=0
while [ "$c" -lt "$cycles" ]; do
	i=1
	while [ "$i" -lt "$n" ]; do
		f=/sys/devices/system/cpu/cpu$i/online
		echo 0 >"$f" 2>/dev/null || fail="$fail off$i@$c"
		echo 1 >"$f" 2>/dev/null || fail="$fail on$i@$c"
		[ "$(cat "$f")" = 1 ] || fail="$fail down$i@$c"
		if [ $pks = 1 ]; then
			r=$(pinned_case "$i" this_cpu)
			case "$r" in
			"ok # on CPU $i,"*) ;;
			*) fail="$fail this_cpu$i@$c($r)" ;;
			esac
			r=$(pinned_case "$i" pmem_stray_write_blocked)
			case "$r" in
			ok|skip*) ;;
			*) fail="$fail stray$i@$c($r)" ;;
			esac
		fi
		i=$((i + 1))
	done
	c=$((c + 1))
done
verdict=""
if [ -n "$load" ]; then
	echo stop >$D/kmap_load
	verdict=$(cat $D/kmap_load)
	case "$verdict" in
	ok*) ;;
	*) fail="$fail kmap_load($verdict)" ;;
	esac
	verdict=", under kmap() load: ${verdict#ok # }"
fi
after=$(grep -c '^processor' /proc/cpuinfo)
if [ -z "$fail" ] && [ "$after" = "$n" ]; then
	what="no PKS: hotplug only"
	[ $pks = 0 ] || what="PKRS default and stray write blocked after each"
	echo "ok $((k + 1)) cpus_offline_online # $cycles cycles of CPUs 1..$((n - 1)), $after online, $what$verdict"
else
	echo "not ok $((k + 1)) cpus_offline_online # failed:$fail; $after of $n online"
fi
