#!/bin/sh
# Smoke test: the guest userspace works and sees its persistent memory.
echo "KTAP version 1"
echo "1..2"
if [ -r /proc/version ]; then
	echo "ok 1 kernel_version # $(cut -d' ' -f1-3 /proc/version)"
else
	echo "not ok 1 kernel_version"
fi
if [ -b /dev/pmem0 ]; then
	echo "ok 2 pmem0_present"
else
	echo "not ok 2 pmem0_present # /dev/pmem0 missing (memmap=nn!ss?)"
fi
# Not KTAP: the kernel's own lines about PKS, pgmap protection and pksvisor
# (the console is "quiet"), for the harnesses' --expect checks.
dmesg | grep -E '(PKS|pgmap|pksvisor): ' |
	sed -E 's/^(\[[ 0-9.]*\] )?/PKSV-GUEST: dmesg: /'
# Not KTAP: whether the CPU flags list ERMS and FSRM.  FSRM depends on ERMS
# (guest patch 0001): with clearcpuid=erms both are gone (run-tests.sh).
flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { case " ${flags#*:} " in *" $1 "*) echo yes ;; *) echo no ;; esac; }
echo "PKSV-GUEST: cpu flags: erms=$(has erms) fsrm=$(has fsrm)"
