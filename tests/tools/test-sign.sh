#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# test-sign.sh: `make sign KEY= CERT=` with a throwaway key made by
# openssl.  The signed image must pass sbverify against its certificate;
# the unsigned image, and the signed one against another certificate, must
# fail it; `make sign` without KEY/CERT must refuse.  That the signed image
# still boots is tests/harness/run-signed-bochs.sh (stage sign-bochs).
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="$(realpath -m "${BUILD:-$ROOT/build}")"
T="$BUILD/test-sign"
. "$HERE/check-lib.sh"
. "$ROOT/tests/harness/lib.sh"
need_pkg sbsigntool openssl

rm -rf "$T"; mkdir -p "$T"
newkey() {
	openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 1 \
		-subj "/CN=pksvisor throwaway test key $1/" \
		-keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null
}
newkey test && newkey other || { echo "test-sign: openssl failed"; exit 1; }

check "make sign without KEY/CERT refuses" 2 make -s -C "$ROOT" BUILD="$BUILD" sign
expect_out "and says what to give" "give KEY="
check "make sign" 0 make -s -C "$ROOT" BUILD="$BUILD" sign KEY="$T/test.key" CERT="$T/test.crt"
S="$BUILD/pksvisor.signed.efi"
check "signed image passes sbverify" 0 sbverify --cert "$T/test.crt" "$S"
expect_out "sbverify says OK" "Signature verification OK"
check "unsigned image fails sbverify" 1 sbverify --cert "$T/test.crt" "$BUILD/pksvisor.efi"
expect_out "unsigned: no signature" "No signature table present"
check "signed image fails sbverify against another certificate" 1 sbverify --cert "$T/other.crt" "$S"
check "sbverify --list shows one signature" 0 sbverify --list "$S"
expect_out "signed by the throwaway key" "pksvisor throwaway test key test"
# A flipped byte in the signed image must break the signature.
cp "$S" "$T/tampered.efi"
printf '\x90' | dd of="$T/tampered.efi" bs=1 seek=4096 conv=notrunc status=none
check "tampered image fails sbverify" 1 sbverify --cert "$T/test.crt" "$T/tampered.efi"
finish test-sign
