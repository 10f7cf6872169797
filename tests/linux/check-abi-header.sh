#!/bin/bash
# Check that the Linux guest patches carry the pksvisor hypercall ABI header
# as a byte-identical copy of include/pksvisor/hypercall.h.
#
#   tests/linux/check-abi-header.sh
#
# Extracts arch/x86/include/asm/pksvisor_hypercall.h (a new file) from the
# patch in guest-patches/linux-6.1/ that adds it and diffs it with
# include/pksvisor/hypercall.h.  Exit 0 when identical, 1 (with the diff)
# when they differ, 2 when no patch adds the file.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
HDR=${PKSV_ABI_HEADER:-$TOP/include/pksvisor/hypercall.h}	# env: for testing the check
KPATH=arch/x86/include/asm/pksvisor_hypercall.h
PATCHDIR=$TOP/guest-patches/linux-6.1

patch=$(grep -l "^+++ b/$KPATH\$" "$PATCHDIR"/*.patch | tail -n 1 || true)
[ -n "$patch" ] || { echo "check-abi-header: no patch in $PATCHDIR adds $KPATH" >&2; exit 2; }

TMP=$(mktemp)
trap 'rm -f "$TMP"' EXIT
# The file is new (--- /dev/null): its content is every '+' line of its
# single hunk, up to the next file header of the patch.
awk -v f="b/$KPATH" '
	/^diff --git / { inside = 0; inhunk = 0 }
	$0 == "+++ " f { inside = 1; next }
	inside && /^@@ / { inhunk = 1; next }
	inside && inhunk && /^\+/ { print substr($0, 2); next }
	inside && inhunk && /^-- $/ { inside = 0 }
' "$patch" >"$TMP"
[ -s "$TMP" ] || { echo "check-abi-header: could not extract $KPATH from $patch" >&2; exit 2; }

if diff -u --label "include/pksvisor/hypercall.h" --label "$(basename "$patch"):$KPATH" \
	"$HDR" "$TMP"; then
	echo "check-abi-header: $KPATH in $(basename "$patch") is identical to include/pksvisor/hypercall.h"
else
	echo "check-abi-header: FAIL: the Linux copy of the ABI header differs (diff above);" >&2
	echo "check-abi-header: update it in the patch development tree and regenerate the patches" >&2
	exit 1
fi
