#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Judge test: check-layering.sh passes on this tree and fails on copies
# of it with one forbidden include added per layer rule (judges/lib.sh).
set -uo pipefail
. "$(dirname "$0")/judges/lib.sh"
jt_init layering
C="$JT_HARNESS/check-layering.sh"

# good/: the checked layers of this checkout, as they are.
good="$JT_BUILD/good"
mkdir -p "$good"
cp -r "$JT_ROOT"/{include,lib,ept,pks,boot,vmm} "$good"/

# bad_tree NAME FILE INCLUDE: a copy of good/ with INCLUDE added to FILE.
bad_tree() {
	rm -rf "$JT_BUILD/$1"
	cp -r "$good" "$JT_BUILD/$1"
	sed -i "1a #include $3" "$JT_BUILD/$1/$2"
}

# said NAME TEXT: the case's output names the offending include.
said() {
	grep -qF -- "$2" "$JT_BUILD/$1.out"
}

jt_case pass this-tree "$C" "$good"
jt_assert "this-tree: '0 violations'" said this-tree "0 violations"

bad_tree lib-vmm lib/serial.c '"../vmm/vmx.h"'
jt_case fail lib-includes-vmm "$C" "$JT_BUILD/lib-vmm"
jt_assert "lib-includes-vmm: names lib/serial.c:2" said lib-includes-vmm "lib/serial.c:2 includes vmm/vmx.h"

bad_tree include-vmm include/pksvisor/ept.h '"../../vmm/vcpu.h"'
jt_case fail include-includes-vmm "$C" "$JT_BUILD/include-vmm"

bad_tree ept-pks ept/ept.c '"../pks/pks_state.h"'
jt_case fail ept-includes-pks "$C" "$JT_BUILD/ept-pks"

bad_tree lib-pks-angle lib/format.c '<pksvisor/../../pks/pks_vmm.h>'
jt_case fail lib-includes-pks-by-angle-path "$C" "$JT_BUILD/lib-pks-angle"

bad_tree pks-exit pks/views.c '"../vmm/exit.h"'
jt_case fail pks-includes-exit-h "$C" "$JT_BUILD/pks-exit"
jt_assert "pks-includes-exit-h: names the seam" said pks-includes-exit-h "pks/ reaches vmm/ only through vmm/seam.h"

bad_tree pks-vcpu pks/pks_internal.h '"../vmm/vcpu.h"'
jt_case fail pks-header-includes-vcpu-h "$C" "$JT_BUILD/pks-vcpu"

bad_tree boot-vmx boot/efi_main.c '"../vmm/vmx.h"'
jt_case fail boot-includes-vmx-h "$C" "$JT_BUILD/boot-vmx"

bad_tree boot-pks boot/acpi.c '"../pks/pks_vmm.h"'
jt_case fail boot-includes-pks "$C" "$JT_BUILD/boot-pks"

# Allowed arrows stay allowed: pks/ through the seam, vmm/ anywhere.
bad_tree pks-seam pks/keymap.c '"../vmm/seam.h"'
jt_case pass pks-includes-seam "$C" "$JT_BUILD/pks-seam"
bad_tree vmm-pks vmm/dump.c '"../pks/pks_internal.h"'
jt_case pass vmm-includes-pks "$C" "$JT_BUILD/vmm-pks"

mkdir -p "$JT_BUILD/empty"
jt_case 2 not-a-tree "$C" "$JT_BUILD/empty"
jt_done
