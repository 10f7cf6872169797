#!/bin/sh
# Every DAX path opens PMEM where it uses it (lib/test_pks.c's
# faults_mark/faults_since_mark around the workload: in relaxed mode a
# path without a grant still works, only its pardoned PK faults show):
#  - fsdax on XFS (reflink): file I/O, FIDEDUPERANGE (the fsdax compare)
#    and a copy-on-write overwrite of a deduplicated extent;
#  - device-dax made from the scratch namespace namespace0.0 (/dev/pmem0):
#    the page is protected, user space and kmap_local_page() reach it.
# Prints KTAP.  The XFS image (/xfs.img.gz) is made on the host by
# build-initramfs.sh: mkfs.xfs refuses file systems this small.
D=/sys/kernel/debug/pks_test
echo "KTAP version 1"
echo "1..3"

# run_case NAME: echo NAME to the test module; 0 ok, 2 skip ($why: the
# reason), 1 failure ($why)
run_case() {
	echo "$1" >$D/run 2>/dev/null || { why="write to $D/run failed"; return 1; }
	r=$(cat $D/result)
	case "$r" in
	ok*) return 0 ;;
	skip*) why=${r#skip }; return 2 ;;
	*) why="$1: $r"; return 1 ;;
	esac
}

# judged I NAME WORKLOAD: run WORKLOAD (a shell function) between the
# marks; without PKS the workload still runs (data path) and the case skips
judged() {
	i=$1; name=$2; fn=$3
	if [ ! -d $D ]; then echo "not ok $i $name # no $D"; return; fi
	run_case faults_mark; rc=$?
	if [ $rc -eq 1 ]; then echo "not ok $i $name # $why"; return; fi
	skip=; [ $rc -eq 2 ] && skip=$why
	note=
	if ! $fn; then echo "not ok $i $name # $why"; umount /mnt 2>/dev/null; return; fi
	if [ -n "$skip" ]; then echo "ok $i $name # SKIP $skip (data path checked: $note)"; return; fi
	if ! run_case faults_since_mark; then echo "not ok $i $name # $why"; return; fi
	echo "ok $i $name # $note"
}

xfs_io_test() {
	zcat /xfs.img.gz >/dev/pmem0 2>/tmp/err || { why="zcat: $(cat /tmp/err)"; return 1; }
	mount -t xfs -o dax /dev/pmem0 /mnt 2>/tmp/err || { why="mount -o dax: $(cat /tmp/err)"; return 1; }
	grep -q ' /mnt xfs .*dax' /proc/mounts || { why="not DAX: $(grep /mnt /proc/mounts)"; return 1; }
	dd if=/dev/urandom of=/tmp/ref bs=4096 count=256 2>/dev/null
	cp /tmp/ref /mnt/a && sync || { why="write failed"; return 1; }
	umount /mnt && mount -t xfs -o dax /dev/pmem0 /mnt || { why="remount failed"; return 1; }
	[ "$(sha256sum </mnt/a)" = "$(sha256sum </tmp/ref)" ] || { why="read back differs"; return 1; }
	note="1 MiB written and read back on XFS -o dax"
}

xfs_dedupe_test() {
	cp /mnt/a /mnt/b && cp /mnt/a /mnt/c && sync || { why="copies failed"; return 1; }
	printf 'X' | dd of=/mnt/c bs=1 seek=500000 conv=notrunc 2>/dev/null
	out=$(pksv-dedupe /mnt/a /mnt/b 1048576 2>&1) || { why="$out"; return 1; }
	[ "$out" = "same 1048576" ] || { why="a/b: $out"; return 1; }
	out=$(pksv-dedupe /mnt/a /mnt/c 1048576 2>&1) || { why="$out"; return 1; }
	[ "$out" = differs ] || { why="a/c: $out (one byte differs)"; return 1; }
	# b now shares a's blocks: overwriting b copies on write (fsdax CoW)
	dd if=/dev/urandom of=/tmp/patch bs=4096 count=2 2>/dev/null
	dd if=/tmp/patch of=/mnt/b bs=4096 seek=100 conv=notrunc 2>/dev/null
	umount /mnt && mount -t xfs -o dax /dev/pmem0 /mnt || { why="remount failed"; return 1; }
	[ "$(sha256sum </mnt/a)" = "$(sha256sum </tmp/ref)" ] || { why="CoW write to b changed a"; return 1; }
	dd if=/tmp/patch of=/tmp/ref bs=4096 seek=100 conv=notrunc 2>/dev/null
	[ "$(sha256sum </mnt/b)" = "$(sha256sum </tmp/ref)" ] || { why="b lost its CoW write"; return 1; }
	umount /mnt
	note="a=b deduplicated, a!=c found, CoW overwrite of b kept a"
}

if [ -b /dev/pmem0 ] && [ -r /xfs.img.gz ]; then
	judged 1 fsdax_xfs_io xfs_io_test
	judged 2 fsdax_xfs_dedupe xfs_dedupe_test
else
	echo "not ok 1 fsdax_xfs_io # no /dev/pmem0 or /xfs.img.gz"
	echo "not ok 2 fsdax_xfs_dedupe # no /dev/pmem0 or /xfs.img.gz"
fi

# Device-dax from namespace0.0, as `ndctl create-namespace -m devdax
# -a 4k --map=mem` does it through sysfs: unbind the namespace from the
# pmem driver, configure the region's dax seed, bind it to dax_pmem.
devdax_make() {
	N=/sys/bus/nd/devices
	ns=$(basename "$(readlink -f /sys/block/pmem0/device)")
	region=$(basename "$(readlink -f $N/$ns/..)")
	seed=$(cat $N/$region/dax_seed 2>/dev/null)
	[ -n "$seed" ] || { why="$region has no dax_seed"; return 1; }
	echo "$ns" >/sys/bus/nd/drivers/nd_pmem/unbind || { why="unbind $ns"; return 1; }
	# mode "ram": struct pages in RAM (ndctl's --map=mem)
	for a in uuid=6e0e5e5a-1d2b-4c3d-8e4f-5a6b7c8d9e0f align=4096 mode=ram \
		namespace="$ns"; do
		echo "${a#*=}" >$N/$seed/${a%%=*} 2>/dev/null ||
			{ why="$seed: cannot set ${a%%=*} to ${a#*=}"; return 1; }
	done
	echo "$seed" >/sys/bus/nd/drivers/dax_pmem/bind || { why="bind $seed to dax_pmem"; return 1; }
	dev=$(ls /sys/bus/dax/devices 2>/dev/null | head -n1)
	[ -n "$dev" ] && [ -c /dev/$dev ] || { why="no /dev/daxN.M after binding $seed"; return 1; }
	printf %s /dev/$dev >/sys/module/test_pks/parameters/devdax
}
if [ ! -d $D ]; then
	echo "not ok 3 devdax_mapping # no $D"
elif ! devdax_make; then
	echo "not ok 3 devdax_mapping # $why"
else
	run_case devdax_mapping
	case $? in
	0) echo "ok 3 devdax_mapping # $(cat /sys/module/test_pks/parameters/devdax): protected, mapped by user space" ;;
	2) echo "ok 3 devdax_mapping # SKIP $why" ;;
	*) echo "not ok 3 devdax_mapping # $why" ;;
	esac
fi
