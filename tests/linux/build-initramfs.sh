#!/bin/bash
# Build the busybox-static initramfs for the pksvisor Linux guest.
#
#   tests/linux/build-initramfs.sh [OUTPUT]
#
# OUTPUT defaults to $PKSV_CACHE/initramfs/initrd.img (PKSV_CACHE defaults
# to ~/.cache/pksvisor).  The image is an uncompressed cpio (newc) archive
# that the EFI stub loads via initrd=\initrd.img (see tests/linux/cmdline),
# so test changes never require a kernel rebuild.  Contents: busybox,
# /bin/pksv-poweroff, pksv-vmcall, pksv-vmfunc-user, pksv-workload,
# pksv-clock, pksv-dedupe and pksv-dmwc (built here from pksv-*.c),
# /xfs.img.gz (an empty XFS made here), /bin/pks_test.sh (the series'
# kselftest runner), /init and the test runners of tests/linux/initramfs/.
# Prints the image path as the last line.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${PKSV_CACHE:-$HOME/.cache/pksvisor}
OUT=${1:-$CACHE/initramfs/initrd.img}

# shellcheck source=../harness/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../harness/lib.sh"
need_pkg busybox-static cpio gcc libc6-dev xfsprogs

ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,sbin,dev,proc,sys,tmp,mnt,etc,tests}
cp /bin/busybox "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
gcc -static -Os -Wall -Wextra -Werror -o "$ROOT/bin/pksv-poweroff" \
	"$HERE/pksv-poweroff.c"
strip "$ROOT/bin/pksv-poweroff"
gcc -static -Os -Wall -Wextra -Werror -o "$ROOT/bin/pksv-vmcall" \
	"$HERE/pksv-vmcall.c"
strip "$ROOT/bin/pksv-vmcall"
for prog in pksv-vmfunc-user pksv-workload pksv-clock; do
	gcc -static -O2 -Wall -Wextra -Werror -o "$ROOT/bin/$prog" "$HERE/$prog.c"
	strip "$ROOT/bin/$prog"
done
gcc -static -Os -Wall -Wextra -Werror -o "$ROOT/bin/pksv-dedupe" \
	"$HERE/pksv-dedupe.c"
strip "$ROOT/bin/pksv-dedupe"
gcc -static -Os -Wall -Wextra -Werror -o "$ROOT/bin/pksv-dmwc" \
	"$HERE/pksv-dmwc.c"
strip "$ROOT/bin/pksv-dmwc"
# An empty XFS (reflink, 4 KiB blocks) for /dev/pmem0 (64 MiB): the fsdax
# dedupe test needs reflink, which ext4 lacks.  mkfs.xfs refuses file
# systems under 300 MiB unless it believes it runs under xfstests
# (TEST_DIR/TEST_DEV/QA_CHECK_FS), which is what this small scratch
# file system is.  Stored gzipped (~70 KiB); the runner zcats it.
truncate -s 64M "$ROOT/xfs.img"
TEST_DIR=/tmp TEST_DEV="$ROOT/xfs.img" QA_CHECK_FS=1 \
	mkfs.xfs -q -f -m reflink=1 -b size=4096 "$ROOT/xfs.img"
gzip -9n "$ROOT/xfs.img"
# The kselftest-style runner of the PKS cases lives in the guest series
# (tools/testing/selftests/pks/pks_test.sh): take it from the patch that
# adds it, applied to an empty directory, so the runners use that very file.
PATCHDIR=$HERE/../../guest-patches/linux-6.1
SELFTEST_PATCH=$(grep -l '^+++ b/tools/testing/selftests/pks/pks_test.sh' "$PATCHDIR"/0*.patch | head -n1)
[ -n "$SELFTEST_PATCH" ] || { echo "build-initramfs: no patch adds pks_test.sh" >&2; exit 1; }
mkdir "$ROOT/.st"
patch -d "$ROOT/.st" -p1 --batch --quiet <"$SELFTEST_PATCH" >/dev/null 2>&1 || true
[ -s "$ROOT/.st/tools/testing/selftests/pks/pks_test.sh" ] ||
	{ echo "build-initramfs: $SELFTEST_PATCH did not give pks_test.sh" >&2; exit 1; }
install -m 755 "$ROOT/.st/tools/testing/selftests/pks/pks_test.sh" "$ROOT/bin/pks_test.sh"
rm -rf "$ROOT/.st"
cp -a "$HERE/initramfs/." "$ROOT/"
chmod 755 "$ROOT/init" "$ROOT"/tests/* 2>/dev/null || true

mkdir -p "$(dirname "$OUT")"
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc --owner=0:0 --reproducible) >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "build-initramfs: $(du -k "$OUT" | cut -f1) KiB" >&2
echo "$OUT"
