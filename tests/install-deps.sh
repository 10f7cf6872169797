#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Install the Debian 12 packages every build and test needs, and nothing
# else: `--no-install-recommends`, so this list must be complete on its own
# (docs/testing.md, "A fresh machine", says how that is checked).
# Idempotent: when nothing is missing nothing runs; otherwise the package
# lists are refreshed and only the missing packages are installed.  The harness scripts call the same need_pkg
# for their own subsets, so each also works when run alone.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/harness/lib.sh"
PKGS=(
	gcc make binutils libc6-dev nasm gnu-efi	# pksvisor and the EFI test apps
	libcmocka-dev clang libclang-rt-14-dev llvm	# host unit tests; fuzzing (the libFuzzer and
						# ASan runtimes, a recommend of clang;
						# llvm-profdata/llvm-cov for coverage)
	bochs bochs-term bochsbios vgabios		# Bochs 2.7 (bochs-term: the smallest
							# bochs-gui; the runs use rfb)
	qemu-system-x86 ovmf				# QEMU TCG and the firmware
	mtools dosfstools				# ESP images without root
	linux-source-6.1 build-essential flex bison bc	# guest kernel
	libelf-dev libssl-dev cpio xz-utils lz4 patch python3
	busybox-static xfsprogs				# guest initramfs (xfsprogs: the XFS
						# image of the fsdax dedupe test)
	sbsigntool openssl				# make sign, its test
	groff-base man-db				# man --warnings on man/
	python3-matplotlib				# pksvisor-stat --png, make bench chart
	grub-efi-amd64-bin grub-common e2fsprogs fdisk	# GRUB-chain disk image
)
need_pkg "${PKGS[@]}"
