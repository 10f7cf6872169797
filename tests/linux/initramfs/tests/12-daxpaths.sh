#!/bin/sh
# Every DAX path opens PMEM where it uses it (lib/test_pks.c's
# faults_mark/faults_since_mark around the workload: in relaxed mode a
# path without a grant still works, only its pardoned PK faults show):
#  - fsdax on XFS (reflink): file I/O, FIDEDUPERANGE (the fsdax compare)
#    and a copy-on-write overwrite of a deduplicated extent;
#  - dm-writecache in pmem mode, cache /dev/pmem0, origin the ram disk
#    /dev/ram0 (brd): buffered and O_DIRECT writes land in the pmem cache,
#    a reload finds them in its metadata, a "flush" message writes them back
#    to the origin, and the cache memory stays protected meanwhile
#    (dmwc_cache_protected: lib/test_pks.c reads its superblock); a
#    pmem-mode table whose cache has no DAX is refused (dmwc_cache_no_dax);
#  - device-dax made from the scratch namespace namespace0.0 (/dev/pmem0):
#    the page is protected, user space and kmap_local_page() reach it.
# Prints KTAP.  The XFS image (/xfs.img.gz) is made on the host by
# build-initramfs.sh: mkfs.xfs refuses file systems this small.
D=/sys/kernel/debug/pks_test
echo "KTAP version 1"
echo "1..8"

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

# dm-writecache: the target's stores into the pmem cache (metadata, cached
# blocks) and its loads (reads that hit, reload, writeback) are what the
# series grants; /dev/pmem0 is scratch, /dev/pmem1 stays the module's.
DMWC_NAME=pksv-dmwc
dmwc_fail() { why=$1; pksv-dmwc remove $DMWC_NAME 2>/dev/null; return 1; }

# dmwc_field N: field N of the writecache status line (2 blocks, 3 free,
# 4 under writeback, 7 writes)
dmwc_field() {
	pksv-dmwc status $DMWC_NAME 2>/tmp/err | cut -d' ' -f"$1"
}

# dmwc_create: the target over a blank cache (dm-writecache formats a cache
# whose superblock is zero) or, with "keep", over the cache as it is
dmwc_create() {
	if [ "$1" != keep ]; then
		dd if=/dev/zero of=/dev/pmem0 bs=4096 count=256 2>/dev/null ||
			{ why="cannot clear /dev/pmem0"; return 1; }
	fi
	dm=$(pksv-dmwc create $DMWC_NAME /dev/ram0 /dev/pmem0 4096 2>/tmp/err) ||
		{ why="$(cat /tmp/err); $(dmesg | grep -i 'device-mapper' | tail -n1)"; return 1; }
	[ -b "$dm" ] || dmwc_fail "no block device $dm"
}

dmwc_io_test() {
	dmwc_create || return 1
	dd if=/dev/urandom of=/tmp/ref bs=4096 count=256 2>/dev/null
	# the first half buffered (page cache, written back by the fsync), the
	# second half O_DIRECT (straight from the user buffer to the target)
	dd if=/tmp/ref of="$dm" bs=4096 count=128 conv=fsync 2>/dev/null ||
		dmwc_fail "buffered write to $dm failed" || return 1
	dd if=/tmp/ref of="$dm" bs=4096 skip=128 seek=128 count=128 oflag=direct 2>/dev/null ||
		dmwc_fail "O_DIRECT write to $dm failed" || return 1
	blocks=$(dmwc_field 2); free=$(dmwc_field 3)
	[ -n "$blocks" ] && [ -n "$free" ] || dmwc_fail "status: $(cat /tmp/err)" || return 1
	used=$((blocks - free))
	[ $used -ge 256 ] || dmwc_fail "only $used of 256 blocks in the cache" || return 1
	# not written back yet: the origin still reads as zeros
	cmp -s -n 1048576 /dev/zero /dev/ram0 ||
		dmwc_fail "the origin got the data before any writeback" || return 1
	dd if="$dm" of=/tmp/got bs=4096 count=256 iflag=direct 2>/dev/null
	cmp -s /tmp/got /tmp/ref || dmwc_fail "read back through $dm differs" || return 1
	note="1 MiB (buffered + O_DIRECT) in $used pmem cache blocks of $blocks, read back"
}

dmwc_reload_test() {
	pksv-dmwc remove $DMWC_NAME 2>/tmp/err || { why="remove: $(cat /tmp/err)"; return 1; }
	dmwc_create keep || return 1
	used=$(($(dmwc_field 2) - $(dmwc_field 3)))
	[ $used -ge 256 ] || dmwc_fail "reload found $used cached blocks, not 256" || return 1
	dd if="$dm" of=/tmp/got bs=4096 count=256 iflag=direct 2>/dev/null
	cmp -s /tmp/got /tmp/ref || dmwc_fail "read back after the reload differs" || return 1
	note="reload found $used cached blocks in the pmem metadata, read back"
}

dmwc_writeback_test() {
	pksv-dmwc message $DMWC_NAME flush 2>/tmp/err || dmwc_fail "flush: $(cat /tmp/err)" || return 1
	wb=$(dmwc_field 4); free=$(dmwc_field 3); blocks=$(dmwc_field 2)
	[ "$wb" = 0 ] || dmwc_fail "$wb blocks still under writeback after flush" || return 1
	# the origin, read around its page cache, has every block
	dd if=/dev/ram0 of=/tmp/got bs=4096 count=256 iflag=direct 2>/dev/null
	cmp -s /tmp/got /tmp/ref || dmwc_fail "origin differs after the flush" || return 1
	note="flush wrote 1 MiB back to /dev/ram0 ($free of $blocks blocks free)"
}

dmwc_ready=
if [ -b /dev/pmem0 ] && [ -b /dev/ram0 ] && [ -c /dev/mapper/control ]; then
	dmwc_ready=1
	judged 3 dmwc_pmem_io dmwc_io_test
	judged 4 dmwc_pmem_reload dmwc_reload_test
	judged 5 dmwc_pmem_writeback dmwc_writeback_test
else
	for c in "3 dmwc_pmem_io" "4 dmwc_pmem_reload" "5 dmwc_pmem_writeback"; do
		echo "not ok $c # no /dev/pmem0, /dev/ram0 or /dev/mapper/control"
	done
fi
# While the target is live: its cache (the superblock it wrote) is
# protected from a stray access by the test module.
if [ -z "$dmwc_ready" ] || [ ! -d $D ]; then
	echo "not ok 6 dmwc_cache_protected # no target or no $D"
elif ! printf %s /dev/pmem0 >/sys/module/test_pks/parameters/dmwc_cache; then
	echo "not ok 6 dmwc_cache_protected # cannot set test_pks.dmwc_cache"
else
	run_case dmwc_cache_protected
	case $? in
	0)
		# The judge itself: with PKS switched off at run time the
		# very same stray write lands (in a free metadata entry of a
		# cache that is removed next), and the case must say so.
		M=/sys/kernel/pks/mode; old=$(cat $M)
		echo off >$M; run_case dmwc_cache_protected; rc=$?; echo "$old" >$M
		if [ $rc -eq 1 ] && [ "${why#*stray write}" != "$why" ]; then
			echo "ok 6 dmwc_cache_protected # /dev/pmem0: writecache superblock, stray access blocked (and not with pks_mode off)"
		else
			echo "not ok 6 dmwc_cache_protected # with pks_mode off the case did not see the stray write land (rc $rc: $why)"
		fi ;;
	2) echo "ok 6 dmwc_cache_protected # SKIP $why" ;;
	*) echo "not ok 6 dmwc_cache_protected # $why" ;;
	esac
fi
[ -n "$dmwc_ready" ] && pksv-dmwc remove $DMWC_NAME 2>/dev/null

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
	echo "not ok 7 devdax_mapping # no $D"
elif ! devdax_make; then
	echo "not ok 7 devdax_mapping # $why"
else
	run_case devdax_mapping
	case $? in
	0) echo "ok 7 devdax_mapping # $(cat /sys/module/test_pks/parameters/devdax): protected, mapped by user space" ;;
	2) echo "ok 7 devdax_mapping # SKIP $why" ;;
	*) echo "not ok 7 devdax_mapping # $why" ;;
	esac
fi

# A pmem-mode table whose cache device has no DAX (here the ram disk, as
# origin and cache) must fail to load, not oops in the constructor (it
# dereferenced the missing dax_device).  Last: on a kernel without the
# fix the table load never returns cleanly.
if [ ! -b /dev/ram0 ] || [ ! -c /dev/mapper/control ]; then
	echo "not ok 8 dmwc_cache_no_dax # no /dev/ram0 or /dev/mapper/control"
elif out=$(pksv-dmwc create pksv-dmwc-nodax /dev/ram0 /dev/ram0 4096 2>&1); then
	pksv-dmwc remove pksv-dmwc-nodax
	echo "not ok 8 dmwc_cache_no_dax # a cache without DAX was accepted"
else
	case "$out" in
	*"Operation not supported"*)
		echo "ok 8 dmwc_cache_no_dax # refused: $(dmesg | grep -o 'writecache: Cache device does not support DAX.*' | tail -n1)" ;;
	*) echo "not ok 8 dmwc_cache_no_dax # not refused with EOPNOTSUPP: ${out:-the helper died (oops?)}" ;;
	esac
fi
