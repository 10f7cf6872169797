#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# run-grub-bochs.sh [grub|shim]: the distribution boot chain in Bochs 2.7
#
#  grub (default):
#   OVMF -> \EFI\BOOT\BOOTX64.EFI (pksvisor, put there by
#           tools/pksvisor-install --removable)
#        -> next=\EFI\debian\grubx64.efi (Debian's GRUB, grub-mkstandalone)
#        -> /vmlinuz + /initrd.img from the ext4 partition 2 ("/boot")
#        -> the Linux guest's PKS suite (tests/linux/initramfs)
#  shim: the Secure Boot layout of docs/install.md, with Debian's signed
#        shim (shim-signed, unpacked from its .deb, not installed):
#   OVMF -> \EFI\BOOT\BOOTX64.EFI (shim) -> \EFI\BOOT\grubx64.efi (pksvisor,
#           the name shim loads) -> next=\EFI\debian\shimx64.efi (shim again)
#        -> \EFI\debian\grubx64.efi (GRUB) -> Linux from ext4, as above.
#        Bochs' OVMF has Secure Boot off, so the signatures are not
#        checked; what this shows is that shim starts pksvisor and that a
#        second shim started under pksvisor boots GRUB.
#
# The disk is made by mkgrubdisk.sh without root.  The kernel and the
# initramfs are only on ext4, which the firmware cannot read: the guest
# can only have come through GRUB, and GRUB says so on serial (PKSV-GRUB
# lines: the partition and file system it loaded them from).  Passes when
# pksvisor ran GRUB as its guest, GRUB loaded the kernel from ext4, the
# PKS suite passed (the checks of run-linux-pks-bochs.sh bochs), and the
# guest powered off with pksvisor's statistics and no FATAL.
# Environment: BUILD, PKSV_TIMEOUT (default 600).
# Output in $BUILD/test-grub-bochs/: disk.img, serial.txt, bochs.log.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
. "$HERE/lib.sh"
MODE=${1:-grub}
case "$MODE" in grub|shim) ;; *) echo "usage: $0 [grub|shim]" >&2; exit 2 ;; esac
need_pkg grub-efi-amd64-bin grub-common

BUILD="$(realpath -m "${BUILD:-$ROOT/build}")"
HV="$BUILD/pksvisor.efi"
[ -f "$HV" ] || { echo "run-grub-bochs: $HV missing: run make" >&2; exit 1; }
make -s -C "$ROOT" BUILD="$BUILD" host-tools >&2
OUT="$BUILD/test-$MODE-bochs"
rm -rf "$OUT/esp" "$OUT/boot"; mkdir -p "$OUT/esp/EFI/debian" "$OUT/boot"

KERNEL=$("$ROOT/guest-patches/build-kernel.sh" | tail -n 1)
INITRD=$("$ROOT/tests/linux/build-initramfs.sh" "$OUT/initrd.img" | tail -n 1)
# The harness command line without the EFI stub's initrd= (GRUB loads it).
ARGS="$(tr -s ' \n' ' ' <"$ROOT/tests/linux/cmdline" | sed -E 's/(^| )initrd=[^ ]*//g')"
ARGS="${ARGS% }"; ARGS="${ARGS# }"

# /boot on ext4, as a distribution has it.
cp "$KERNEL" "$OUT/boot/vmlinuz"
cp "$INITRD" "$OUT/boot/initrd.img"

# GRUB: Debian's modules, one EFI image with its grub.cfg in a memdisk.
cat >"$OUT/grub.cfg" <<EOG
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
search --no-floppy --label pksvboot --set=root
probe --fs --set=fs \$root
echo "PKSV-GRUB: loading /vmlinuz and /initrd.img from (\$root), file system \$fs"
linux /vmlinuz $ARGS
initrd /initrd.img
echo "PKSV-GRUB: booting"
boot
EOG
grub-mkstandalone -O x86_64-efi --locales= --fonts= --themes= \
	--modules="part_msdos ext2 fat search search_label probe linux serial terminal echo" \
	-o "$OUT/esp/EFI/debian/grubx64.efi" "boot/grub/grub.cfg=$OUT/grub.cfg"

if [ "$MODE" = grub ]; then
	# pksvisor as a user installs it (fallback path: Bochs has no boot entries).
	"$ROOT/tools/pksvisor-install" --esp "$OUT/esp" --image "$HV" --removable \
		--next '\EFI\debian\grubx64.efi' -o pks=soft -o pks_mode=strict -o stats=off >&2
	NEXT='\EFI\debian\grubx64.efi'
else
	# Debian's signed shim, unpacked (installing shim-signed would run its
	# maintainer scripts against this machine's ESP).
	SHIMDIR="$(cache_dir)/shim-signed"
	if [ ! -f "$SHIMDIR/usr/lib/shim/shimx64.efi.signed" ]; then
		rm -rf "$SHIMDIR"; mkdir -p "$SHIMDIR/deb"
		(cd "$SHIMDIR/deb" && apt-get download -q shim-signed) >&2
		dpkg-deb -x "$SHIMDIR"/deb/shim-signed_*.deb "$SHIMDIR"
	fi
	SHIM="$SHIMDIR/usr/lib/shim/shimx64.efi.signed"
	mkdir -p "$OUT/esp/EFI/BOOT"
	cp "$SHIM" "$OUT/esp/EFI/BOOT/BOOTX64.EFI"
	cp "$SHIM" "$OUT/esp/EFI/debian/shimx64.efi"
	cp "$HV" "$OUT/esp/EFI/BOOT/grubx64.efi"
	printf '%s\n' 'next=\EFI\debian\shimx64.efi' pks=soft pks_mode=strict stats=off >"$OUT/esp/EFI/BOOT/pksvisor.cfg"
	"$BUILD/host/pksvisor-cfgcheck" "$OUT/esp/EFI/BOOT/pksvisor.cfg" >/dev/null
	NEXT='\EFI\debian\shimx64.efi'
fi

"$HERE/mkgrubdisk.sh" "$OUT/disk.img" "$OUT/esp" "$OUT/boot"
# The firmware-readable partition must not hold a kernel.
if MTOOLS_SKIP_CHECK=1 mdir -/ -b -i "$OUT/disk.img@@1M" :: | grep -iE 'vmlinuz|initrd|bzimage'; then
	echo "run-grub-bochs: a kernel is on the ESP: the test would prove nothing" >&2; exit 1
fi

SERIAL="$OUT/serial.txt"
START=$(now_ms)
status=0
"$HERE/run-bochs.sh" "$OUT/disk.img" "$SERIAL" "${PKSV_TIMEOUT:-600}" --megs 512 || status=$?
stop_if_emulator_never_ran "$status" run-grub-bochs
ms=$(( $(now_ms) - START ))
echo "run-grub-bochs: Bochs run took $((ms / 1000)).$(printf %03d $((ms % 1000)))s" >&2

check=0
"$HERE/check-serial.sh" "$SERIAL" --tap \
	--expect "pksvisor: .* starting: pks=soft .*next=${NEXT//\\/\\\\}" \
	--expect 'pksvisor: guest running' \
	--expect "pksvisor: starting ${NEXT//\\/\\\\}" \
	--expect 'PKSV-GRUB: loading /vmlinuz and /initrd\.img from \(hd0,msdos2\), file system ext2' \
	--expect 'PKSV-GRUB: booting' \
	--expect 'PKSV-GUEST: dmesg: pksvisor: ABI 1\.[0-9]+, features .*, PKS backend soft' \
	--expect 'PKSV-GUEST: userspace up' \
	--expect '^ok [0-9]+ pks_available$' \
	--expect '^ok [0-9]+ pmem_dax_file' \
	--expect '^ok [0-9]+ pksv_kmap_workqueue' \
	--expect '^ok 1 strict_oops # oopsed' \
	--expect 'PKSV-GUEST: done' \
	--expect 'pksvisor: statistics \(power-off' \
	--expect 'pksvisor: stats vcpu=0 .* unprotected_pages=0 ' \
	--forbid 'pksvisor: FATAL' \
	--forbid 'Kernel panic' >&2 || check=$?
# GRUB reports failures as "error: ..." lines.  One is expected: the
# harness' Bochs has no graphics output protocol, so GRUB's linux loader
# says "no suitable video mode found" and boots in text (blind) mode, as
# on a headless server.  Any other GRUB error fails the run.
if tr -d '\r' <"$SERIAL" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' | grep -a '^error: ' |
	grep -av '^error: no suitable video mode found\.$' >&2; then
	echo "run-grub-bochs: GRUB reported an error (above)" >&2
	check=1
fi
if [ "$status" -ne 0 ] || [ "$check" -ne 0 ]; then
	[ "$status" -ne 124 ] || echo "run-grub-bochs: timed out" >&2
	echo "run-grub-bochs: FAILED (serial: $SERIAL)" >&2
	exit 1
fi
echo "run-grub-bochs: $MODE: passed: the chain booted Linux from ext4, PKS suite ok" >&2
