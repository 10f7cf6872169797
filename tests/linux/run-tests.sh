#!/bin/bash
# Run every Linux-guest test under QEMU TCG; exit non-zero on any failure.
# Called by the project's `make test`.  See docs/guest-linux.md.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
set -e
KERNEL=$("$TOP/guest-patches/build-kernel.sh" | tail -n1)
INITRD=$("$HERE/build-initramfs.sh" | tail -n1)
set +e
fails=0
run() {
	local name=$1; shift
	if "$HERE/run-qemu.sh" --name "$name" --kernel "$KERNEL" --initrd "$INITRD" "$@"; then
		echo "run-tests: $name: PASS"
	else
		echo "run-tests: $name: FAIL"; fails=$((fails + 1))
	fi
}
run pks --cpu max
run nopks --cpu max,-pks
[ $fails -eq 0 ] && echo "run-tests: all Linux guest runs passed" || echo "run-tests: $fails run(s) failed"
exit $((fails != 0))
