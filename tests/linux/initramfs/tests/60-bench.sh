#!/bin/sh
# make bench, guest side (tests/harness/run-linux-bench.sh): VM exits per
# PKS operation from lib/test_pks.c's pksv_bench case, then the workload
# (tests/linux/pksv-workload.c): 4 KiB writes and reads to a file on a
# DAX-mounted filesystem and to a pmem block device.  Prints
# "PKSV-LINUX-BENCH: ..." lines (not KTAP: the numbers are judged by
# bench-report.py).  Runs only when pksv_tests= names "bench".
D=/sys/kernel/debug/pks_test
N=${PKSV_BENCH_CALLS:-64}
case " $(cat /proc/cmdline) " in
*" pksv_tests="*bench*) ;;
*) echo "PKSV-GUEST: bench runner not selected (pksv_tests= must name it)"; exit 0 ;;
esac
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	pksv_bench_calls=*) N=${arg#pksv_bench_calls=} ;;
	esac
done
echo "PKSV-LINUX-BENCH: start"
views=$(cat /sys/kernel/debug/pks_views 2>/dev/null | tr '\n' ',')
echo "PKSV-LINUX-BENCH: pinned_views=${views:-none}"

# Exits per operation (hundredths in the result line: "op=exits/tsc").
if echo pksv_bench >$D/run 2>/dev/null; then
	r=$(cat $D/result)
	case "$r" in
	"ok #"*)
		for kv in ${r#ok # }; do
			op=${kv%%=*} v=${kv#*=}
			e=${v%/*} t=${v#*/}
			printf 'PKSV-LINUX-BENCH: %s exits_per_op=%d.%02d tsc_per_op=%s\n' \
				"$op" $((e / 100)) $((e % 100)) "$t"
		done ;;
	*) echo "PKSV-LINUX-BENCH: ops ${r%% *}: ${r#* }" ;;
	esac
else
	echo "PKSV-LINUX-BENCH: ops skip: no $D"
fi

# The workload: DAX file on /dev/pmem0, block I/O on the first 64 pages of
# /dev/pmem1 (lib/test_pks.c uses its last pages).
if mke2fs -q -F -b 4096 /dev/pmem0 >/tmp/mkfs.log 2>&1 &&
	mount -t ext2 -o dax /dev/pmem0 /mnt; then
	/bin/pksv-workload dax /mnt/bench "$N" | sed 's/^PKSV-WORKLOAD/PKSV-LINUX-BENCH/'
	umount /mnt
else
	echo "PKSV-LINUX-BENCH: dax failed: $(cat /tmp/mkfs.log)"
fi
/bin/pksv-workload blk /dev/pmem1 "$N" | sed 's/^PKSV-WORKLOAD/PKSV-LINUX-BENCH/'
echo "PKSV-LINUX-BENCH: done"
