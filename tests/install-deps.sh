#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Install the Debian 12 packages every build and test needs (idempotent:
# only missing packages are installed; apt-get update only when needed).
set -euo pipefail
PKGS=(
	gcc make binutils nasm gnu-efi			# pksvisor and the EFI test app
	libcmocka-dev clang				# host unit tests, fuzzing
	bochs bochsbios vgabios qemu-system-x86 ovmf	# emulators and firmware
	mtools dosfstools				# ESP images without root
	linux-source-6.1 flex bison bc libelf-dev libssl-dev cpio xz-utils lz4
	busybox-static libc6-dev			# guest kernel and initramfs
)
missing=()
for p in "${PKGS[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q "${missing[@]}" >&2 ||
	{ $sudo apt-get update -q >&2 && $sudo apt-get install -y -q "${missing[@]}" >&2; }
