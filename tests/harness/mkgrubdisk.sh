#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# mkgrubdisk.sh OUT.img ESPDIR BOOTDIR
#
# A disk the way a distribution installs one, built without root or loop
# devices: an MBR partition table written by sfdisk on the image file with
#   partition 1  type 0xEF, FAT16, the EFI System Partition: ESPDIR's tree
#   partition 2  type 0x83, ext4 labelled "pksvboot": BOOTDIR's tree (/boot)
# Each file system is made in a file of its own (mkfs.vfat + mcopy,
# mke2fs -d) and copied into its partition with dd.  The size is a whole
# number of 16x63 cylinders (run-bochs.sh derives the geometry from it).
# UEFI cannot read ext4 (it reads only FAT, UEFI 2.10 section 13.3): the
# kernel on partition 2 is reachable only through GRUB.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/lib.sh"
[ $# -eq 3 ] || { echo "usage: $0 OUT.img ESPDIR BOOTDIR" >&2; exit 2; }
OUT=$1 ESPDIR=$2 BOOTDIR=$3
need_pkg mtools dosfstools e2fsprogs fdisk

CYL=$((16 * 63))			# sectors per cylinder
ESP_LBA=2048
ESP_MIB=40
# /boot: its contents plus 50% and 8 MiB for ext4's own structures.
BOOT_MIB=$(( $(du -sm "$BOOTDIR" | cut -f1) * 3 / 2 + 8 ))
ESP_SECTORS=$((ESP_MIB * 2048))
BOOT_LBA=$((ESP_LBA + ESP_SECTORS))
BOOT_SECTORS=$((BOOT_MIB * 2048))
TOTAL=$(( (BOOT_LBA + BOOT_SECTORS + CYL - 1) / CYL * CYL ))

TMP="$OUT.tmp.$$"
trap 'rm -f "$TMP" "$TMP.esp" "$TMP.boot"' EXIT
rm -f "$TMP"; truncate -s $((TOTAL * 512)) "$TMP"
sfdisk --quiet --no-reread --no-tell-kernel "$TMP" <<EOT
label: dos
unit: sectors
start=$ESP_LBA, size=$ESP_SECTORS, type=ef
start=$BOOT_LBA, size=$BOOT_SECTORS, type=83
EOT

truncate -s $((ESP_SECTORS * 512)) "$TMP.esp"
mkfs.vfat -F 16 -n PKSVESP "$TMP.esp" >/dev/null
export MTOOLS_SKIP_CHECK=1
mcopy -s -i "$TMP.esp" "$ESPDIR"/* ::/

mke2fs -q -t ext4 -L pksvboot -d "$BOOTDIR" "$TMP.boot" "${BOOT_MIB}M"

dd if="$TMP.esp" of="$TMP" bs=512 seek=$ESP_LBA conv=notrunc status=none
dd if="$TMP.boot" of="$TMP" bs=512 seek=$BOOT_LBA conv=notrunc status=none
mv -f "$TMP" "$OUT"
