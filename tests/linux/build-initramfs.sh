#!/bin/bash
# Build the busybox-static initramfs for the pksvisor Linux guest.
#
#   tests/linux/build-initramfs.sh [OUTPUT]
#
# OUTPUT defaults to $PKSV_CACHE/initramfs/initrd.img (PKSV_CACHE defaults
# to ~/.cache/pksvisor).  The image is an uncompressed cpio (newc) archive
# that the EFI stub loads via initrd=\initrd.img (see tests/linux/cmdline),
# so test changes never require a kernel rebuild.  Contents: busybox,
# /bin/pksv-poweroff, pksv-vmcall, pksv-vmfunc-user, pksv-workload and
# pksv-clock (built here from pksv-*.c), /init
# and the test runners of tests/linux/initramfs/.  Prints the image path as the last line.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${PKSV_CACHE:-$HOME/.cache/pksvisor}
OUT=${1:-$CACHE/initramfs/initrd.img}

# shellcheck source=../harness/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../harness/lib.sh"
need_pkg busybox-static cpio gcc libc6-dev

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
cp -a "$HERE/initramfs/." "$ROOT/"
chmod 755 "$ROOT/init" "$ROOT"/tests/* 2>/dev/null || true

mkdir -p "$(dirname "$OUT")"
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc --owner=0:0 --reproducible) >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "build-initramfs: $(du -k "$OUT" | cut -f1) KiB" >&2
echo "$OUT"
