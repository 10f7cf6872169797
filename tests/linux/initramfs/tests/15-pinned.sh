#!/bin/sh
# The PKS KTAP suites on every CPU in turn (all-CPU runs: pksv_cpus= on the
# command line, as for the cpus runner; otherwise a line saying so, no
# KTAP).  For each online CPU one subtest: the shell that writes the case
# names to .../pks_test/run is pinned to that CPU (taskset), and a case
# runs in the writer's context, so the in-kernel cases execute there; the
# first case, this_cpu, reports smp_processor_id() and must name that CPU
# (and see CR4.PKS and the default PKRS on it).  Then kmap_stress: one
# thread per CPU kmap()s PMEM pages, writes, hands the mapping to the
# thread on the next CPU, which writes and kunmap()s (lib/test_pks.c):
# no lost update, every page protected again on every CPU, pksvisor's
# unprotect references (unprotected_pages) balanced.
D=/sys/kernel/debug/pks_test
# The pks and pksvisor runners' in-kernel cases (10-pks.sh, 20-pksvisor.sh).
CASES="defaults_all_cpus key_ad key_wd key_rw context_switch irq_default
exception_default relaxed_warns_once silent_quiet all_keys
pmem_stray_write_blocked pmem_kmap_local_write pmem_kmap_nesting
pmem_kmap_global pmem_kmap_per_page relaxed_pardon_work fork_access
key_free_overrides nmi_default mode_off_runtime"
PKSV_CASES="pksv_kmap_workqueue pksv_kmap_nested pksv_stray_write_neighbour
pksv_read_only pksv_hc_errors pksv_mode_agrees pksv_get_stats
pksv_vmfunc_views"
case " $(cat /proc/cmdline) " in
*" pksv_cpus="*) ;;
*) echo "PKSV-GUEST: pinned runner: not an all-CPU run (no pksv_cpus=)"; exit 0 ;;
esac
echo "KTAP version 1"
if [ ! -d $D ]; then
	echo "1..0 # SKIP no $D (CONFIG_PKS_TEST?)"
	exit 0
fi
# The pksvisor cases only where pksvisor runs (they skip elsewhere).
echo pksv_available >$D/run
case "$(cat $D/result)" in
ok) CASES="$CASES $PKSV_CASES" ;;
esac
# One line: the list goes into a "sh -c" command line below.
CASES=$(echo $CASES)
m=1
for c in $CASES; do m=$((m + 1)); done
cpus=""
for f in /sys/devices/system/cpu/cpu[0-9]*; do
	c=${f##*/cpu}
	[ ! -e "$f/online" ] || [ "$(cat "$f/online")" = 1 ] || continue
	cpus="$cpus $c"
done
cpus=$(echo $cpus | tr ' ' '\n' | sort -n | tr '\n' ' ')
n=0
for c in $cpus; do n=$((n + 1)); done
echo "1..$((n + 1))"
i=0
for cpu in $cpus; do
	i=$((i + 1))
	t0=$(cut -d' ' -f1 /proc/uptime)
	out=$(taskset -c "$cpu" sh -c "
		echo this_cpu >$D/run && cat $D/result
		pks_test.sh -n -s 2 $CASES" 2>&1)
	t1=$(cut -d' ' -f1 /proc/uptime)
	first=$(echo "$out" | head -n 1)
	rest=$(echo "$out" | tail -n +2)
	echo "    KTAP version 1"
	echo "    1..$m"
	case "$first" in
	"ok # on CPU $cpu,"*) echo "    ok 1 this_cpu ${first#ok }"; here=1 ;;
	"skip on CPU $cpu:"*) echo "    ok 1 this_cpu # SKIP ${first#skip }"; here=1 ;;
	*) echo "    not ok 1 this_cpu # wanted CPU $cpu: $first"; here=0 ;;
	esac
	echo "$rest" | sed 's/^/    /'
	got=$(echo "$rest" | grep -c '^ok \|^not ok ')
	if [ $here = 1 ] && [ "$got" = $((m - 1)) ] &&
		! echo "$rest" | grep -q '^not ok'; then
		echo "ok $i pinned_cpu$cpu # $m cases on CPU $cpu, $t0 s to $t1 s"
	else
		echo "not ok $i pinned_cpu$cpu # $got of $((m - 1)) results after this_cpu; a case failed, ran elsewhere or did not run"
	fi
done
i=$((i + 1))
echo kmap_stress >$D/run
r=$(cat $D/result)
case "$r" in
ok*) echo "ok $i kmap_stress ${r#ok }" ;;
skip*) echo "ok $i kmap_stress # SKIP ${r#skip }" ;;
*) echo "not ok $i kmap_stress # ${r#fail }" ;;
esac
