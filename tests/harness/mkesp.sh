#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# mkesp.sh OUT.img SRC:DEST ...
#
# Build a bootable ESP disk image without root or loop devices: an MBR disk
# with one FAT16 partition of type 0xEF at LBA 2048.  The disk size follows
# the CHS geometry Bochs wants for its ata0-master line (default 65
# cylinders x 16 heads x 63 sectors = 65520 sectors, ~32 MiB); run-bochs.sh
# derives the cylinder count from the image size, so --cyls N makes bigger
# disks (e.g. for a Linux kernel with an initramfs).  QEMU boots the same
# image as -drive file=OUT.img,format=raw.
#
# Each SRC is copied to DEST inside the partition (DEST is an absolute DOS
# path such as /EFI/BOOT/BOOTX64.EFI); missing directories are created.
# A SRC of "-" reads the file contents from stdin (handy for configs).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/lib.sh"

usage() {
	echo "usage: $0 [--cyls N] OUT.img SRC:DEST ..." >&2
	exit 2
}

CYLS=65
while [ $# -gt 0 ]; do
	case "$1" in
	--cyls) CYLS="$2"; shift 2 ;;
	--cyls=*) CYLS="${1#--cyls=}"; shift ;;
	-h|--help) usage ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
OUT="$1"; shift

need_pkg mtools dosfstools

HEADS=16
SPT=63
PART_LBA=2048
TOTAL=$((CYLS * HEADS * SPT))
PART_SECTORS=$((TOTAL - PART_LBA))
[ "$PART_SECTORS" -gt 32768 ] || { echo "mkesp: disk too small" >&2; exit 2; }

# LBA -> 3 CHS bytes as the MBR stores them (head, sector|cyl_hi, cyl_lo).
chs_bytes() {
	local lba=$1 c h s
	c=$((lba / (HEADS * SPT)))
	[ "$c" -le 1023 ] || { c=1023; h=254; s=63; }
	h=${h:-$(((lba / SPT) % HEADS))}
	s=${s:-$((lba % SPT + 1))}
	printf '\\x%02x\\x%02x\\x%02x' "$h" $(((s & 63) | ((c >> 2) & 0xc0))) $((c & 255))
}

le32() {
	printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) \
		$((($1 >> 16) & 255)) $((($1 >> 24) & 255))
}

TMP="$OUT.tmp.$$"
trap 'rm -f "$TMP"' EXIT
rm -f "$TMP"
truncate -s $((TOTAL * 512)) "$TMP"

# Partition entry 1 at offset 446: inactive, type 0xEF (EFI system).
ENTRY="\\x00$(chs_bytes $PART_LBA)\\xef$(chs_bytes $((TOTAL - 1)))"
ENTRY="$ENTRY$(le32 $PART_LBA)$(le32 $PART_SECTORS)"
printf '%b' "$ENTRY" | dd of="$TMP" bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of="$TMP" bs=1 seek=510 conv=notrunc status=none

# mkfs.vfat counts BLOCKS in KiB.
mkfs.vfat -F 16 -n PKSVESP -g "$HEADS/$SPT" -h "$PART_LBA" \
	--offset "$PART_LBA" "$TMP" $((PART_SECTORS / 2)) >/dev/null

IMG="$TMP@@$((PART_LBA * 512))"
export MTOOLS_SKIP_CHECK=1
declare -A made=()
for spec in "$@"; do
	src="${spec%%:*}"
	dest="${spec#*:}"
	if [ "$src" = "$spec" ] || [ -z "$dest" ]; then
		echo "mkesp: bad spec '$spec' (want SRC:DEST)" >&2
		exit 2
	fi
	case "$dest" in /*) ;; *) dest="/$dest" ;; esac
	dest="${dest//\\//}"
	# Create each parent directory once, top-down.
	dir="${dest%/*}"
	path=""
	IFS=/ read -ra parts <<<"${dir#/}"
	for p in "${parts[@]}"; do
		[ -n "$p" ] || continue
		path="$path/$p"
		if [ -z "${made[$path]:-}" ]; then
			mmd -i "$IMG" "::$path" 2>/dev/null || true
			made[$path]=1
		fi
	done
	if [ "$src" = "-" ]; then
		mcopy -o -i "$IMG" - "::$dest"
	else
		[ -f "$src" ] || { echo "mkesp: $src: no such file" >&2; exit 1; }
		mcopy -o -i "$IMG" "$src" "::$dest"
	fi
done

mv -f "$TMP" "$OUT"
trap - EXIT
