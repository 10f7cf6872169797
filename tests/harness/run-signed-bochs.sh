#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# run-signed-bochs.sh: the Secure Boot signed image still boots.  Signs
# build/pksvisor.efi with a throwaway openssl key (make sign), checks it
# with sbverify, and runs the EFI test app under the *signed* image in
# Bochs with every check of run-efi-test.sh bochs.  Bochs' OVMF has
# Secure Boot disabled, so this proves that the signature (an appended
# certificate table and a PE header change) leaves a loadable, working
# image; the firmware's verification itself is covered by sbverify, which
# computes the same Authenticode hash.  Output in $BUILD/test-signed/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
. "$HERE/lib.sh"
need_pkg sbsigntool openssl

BUILD="$(realpath -m "${BUILD:-$ROOT/build}")"
T="$BUILD/test-signed"
mkdir -p "$T"
openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 1 \
	-subj "/CN=pksvisor throwaway boot test key/" \
	-keyout "$T/test.key" -out "$T/test.crt" 2>/dev/null
make -s -C "$ROOT" BUILD="$BUILD" sign KEY="$T/test.key" CERT="$T/test.crt" >&2
sbverify --cert "$T/test.crt" "$BUILD/pksvisor.signed.efi" >&2

# run-efi-test.sh boots $BUILD/pksvisor.efi: give it a build directory of
# its own whose pksvisor.efi is the signed image.
mkdir -p "$T/build"
cp "$BUILD/pksvisor.signed.efi" "$T/build/pksvisor.efi"
sbverify --list "$T/build/pksvisor.efi" | grep -q "boot test key" ||
	{ echo "run-signed-bochs: the image under test is not the signed one" >&2; exit 1; }
BUILD="$T/build" "$HERE/run-efi-test.sh" bochs
echo "run-signed-bochs: the signed image booted and passed" >&2
