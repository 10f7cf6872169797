#!/bin/sh
# Every CPU the firmware reports is up (all-CPU runs: tests/harness/
# run-smp-bochs.sh passes pksv_cpus=N on the command line; without it the
# runner only prints the count, no KTAP: the 1-CPU runs stay as they were).  Then each CPU but CPU 0 is taken offline and
# brought back pksv_cpu_cycles= times (default 0): Linux re-sends INIT-SIPI
# on every online, so under pksvisor this exercises its INIT/SIPI path.
want=""
cycles=0
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	pksv_cpus=*) want=${arg#pksv_cpus=} ;;
	pksv_cpu_cycles=*) cycles=${arg#pksv_cpu_cycles=} ;;
	esac
done
online=$(cat /sys/devices/system/cpu/online)
present=$(cat /sys/devices/system/cpu/present)
n=$(grep -c '^processor' /proc/cpuinfo)
# Guest time since boot when userspace runs this (the first runner after
# smoke): the SMP runs report it as boot time to userspace.
up=$(cut -d' ' -f1 /proc/uptime)
echo "PKSV-GUEST: cpus online=$online present=$present count=$n uptime=$up"
[ -n "$want" ] || exit 0
echo "KTAP version 1"
if [ "$cycles" -gt 0 ]; then echo "1..3"; else echo "1..2"; fi
if [ "$n" = "$want" ]; then
	echo "ok 1 cpus_all_online # $n CPUs ($online)"
else
	echo "not ok 1 cpus_all_online # $n CPUs online ($online), firmware has $want"
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
# Offline/online cycles (CPU hotplug, INIT-SIPI on each online).
fail=""
c=0
while [ "$c" -lt "$cycles" ]; do
	i=1
	while [ "$i" -lt "$n" ]; do
		f=/sys/devices/system/cpu/cpu$i/online
		echo 0 >"$f" 2>/dev/null || fail="$fail off$i@$c"
		echo 1 >"$f" 2>/dev/null || fail="$fail on$i@$c"
		[ "$(cat "$f")" = 1 ] || fail="$fail down$i@$c"
		i=$((i + 1))
	done
	c=$((c + 1))
done
after=$(grep -c '^processor' /proc/cpuinfo)
if [ "$cycles" -eq 0 ]; then
	:
elif [ -z "$fail" ] && [ "$after" = "$n" ]; then
	echo "ok 3 cpus_offline_online # $cycles cycles of CPUs 1..$((n - 1)), $after online"
else
	echo "not ok 3 cpus_offline_online # failed:$fail; $after of $n online"
fi
