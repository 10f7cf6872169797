#!/bin/sh
# pksvisor-only cases (issue 5, guest side): lib/test_pks.c's pksv_* cases
# and a user-space VMCALL.  Without pksvisor (no CPUID signature: QEMU, bare
# metal) the whole set is skipped with a KTAP "1..0 # SKIP" plan.
D=/sys/kernel/debug/pks_test
CASES="pksv_available pksv_kmap_workqueue pksv_kmap_nested
pksv_stray_write_neighbour pksv_read_only pksv_hc_errors pksv_exit_costs"
echo "KTAP version 1"
if [ ! -d $D ]; then
	echo "1..0 # SKIP no $D (CONFIG_PKS_TEST?)"
	exit 0
fi
echo pksv_available >$D/run
r=$(cat $D/result)
case "$r" in
skip*) echo "1..0 # SKIP ${r#skip }"; exit 0 ;;
esac
n=0
for c in $CASES; do n=$((n + 1)); done
echo "1..$((n + 1))"
# Results 1..n from the series' kselftest runner (pks_test.sh).
pks_test.sh -n $CASES
i=$n

# A VMCALL from user space gets #UD: the process dies of SIGILL (128 + 4).
i=$((i + 1))
/bin/pksv-vmcall >/tmp/vmcall.out 2>&1
rc=$?
if [ $rc -eq 132 ] && [ -r /proc/version ]; then
	echo "ok $i pksv_user_vmcall_sigill # exit status $rc, the kernel lives"
else
	echo "not ok $i pksv_user_vmcall_sigill # exit status $rc: $(cat /tmp/vmcall.out)"
fi
