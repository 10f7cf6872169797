#!/bin/sh
# pksvisor-only cases (issue 5, guest side): lib/test_pks.c's pksv_* cases,
# a user-space VMCALL and a user-space VMFUNC.  Without pksvisor (no CPUID signature: QEMU, bare
# metal) the whole set is skipped with a KTAP "1..0 # SKIP" plan.
D=/sys/kernel/debug/pks_test
CASES="pksv_available pksv_kmap_workqueue pksv_kmap_nested
pksv_stray_write_neighbour pksv_read_only pksv_hc_errors pksv_exit_costs
pksv_vmfunc_views pksv_nmi_cost pksv_mode_agrees pksv_kmap_table_full
pksv_get_stats"
STATS=/sys/kernel/debug/pksvisor
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
echo "1..$((n + 3))"
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

# VMFUNC works at CPL 3: a process switches to the most open pinned view,
# then enters the kernel, whose first act is a stray PMEM write
# (pksv-vmfunc-user.c, lib/test_pks.c pmem_stray_write_entry).
i=$((i + 1))
r=$(/bin/pksv-vmfunc-user 2>&1)
case "$r" in
"ok #"*) echo "ok $i pksv_user_vmfunc_reassert ${r#ok }" ;;
skip*) echo "ok $i pksv_user_vmfunc_reassert # SKIP ${r#skip }" ;;
*) echo "not ok $i pksv_user_vmfunc_reassert # ${r#fail }" ;;
esac

# /sys/kernel/debug/pksvisor/vcpuN/stats (docs/statistics.md, "Guest
# interface"): one line per vCPU whose vcpu= is N, read twice (two
# snapshots: exits grow).  Every file is then dumped between markers so
# that the harness rebuilds the tree on the host, compares it with the
# power-off statistics and runs pksvisor-stat's live mode on it
# (tests/harness/check-guest-stats.sh).
i=$((i + 1))
why=""
nfiles=0
for f in $STATS/vcpu*/stats; do
	[ -r "$f" ] || { why="no $STATS/vcpu*/stats"; break; }
	d=${f%/stats}; d=${d##*/}
	a=$(cat "$f"); b=$(cat "$f")
	case "$a" in
	"vcpu=${d#vcpu} "*) ;;
	*) why="$f: '$(echo "$a" | cut -c1-40)' does not start with vcpu=${d#vcpu}"; break ;;
	esac
	ea=$(echo "$a" | sed -n 's/.* exits=\([0-9]*\).*/\1/p')
	eb=$(echo "$b" | sed -n 's/.* exits=\([0-9]*\).*/\1/p')
	if [ -z "$ea" ] || [ -z "$eb" ] || [ "$eb" -le "$ea" ]; then
		why="$f: exits '$ea' then '$eb' (a read is a hypercall: must grow)"; break
	fi
	nfiles=$((nfiles + 1))
done
if [ -z "$why" ]; then
	echo "ok $i pksv_debugfs_stats # $nfiles vCPU file(s)"
else
	echo "not ok $i pksv_debugfs_stats # $why"
fi
echo "PKSV-STATS-TREE: begin"
for f in $STATS/vcpu*/stats; do
	[ -r "$f" ] || continue
	d=${f%/stats}; d=${d##*/}
	echo "PKSV-STATS-FILE: $d $(cat "$f")"
done
echo "PKSV-STATS-TREE: end"
