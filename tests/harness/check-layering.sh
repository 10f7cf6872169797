#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# check-layering.sh [ROOT]: the include rules of pksvisor's layers
# (docs/architecture.md), checked on every C file and header under ROOT
# (default: this checkout).  Each #include is resolved to a file of the
# tree ("..." relative to the including file, <pksvisor/...> to
# include/pksvisor/), then:
#
#   include/, lib/, ept/   may include nothing from vmm/ or pks/ (the
#                          ground floor: no upward arrows)
#   pks/                   may include vmm/seam.h and no other vmm/ header
#   boot/                  may include vmm/build.h and no other vmm/
#                          header, nothing from pks/
#
# Prints one line per violation and a closing count; exits 1 on any
# violation, 2 when ROOT is not a pksvisor tree.  Run by the run-all
# stage "layering"; tests/harness/test-judge-layering.sh shows it failing.
set -uo pipefail
ROOT="$(realpath "${1:-$(dirname "$0")/../..}")"
for d in include vmm pks; do
	[ -d "$ROOT/$d" ] || { echo "layering: $ROOT is not a pksvisor tree (no $d/)"; exit 2; }
done

# The first path component of a resolved include, or "" outside ROOT.
layer_of() {
	case "$1" in
	"$ROOT"/*) local rel=${1#"$ROOT"/}; echo "${rel%%/*}" ;;
	*) echo "" ;;
	esac
}

# rule FILE_LAYER TARGET_LAYER TARGET_REL: empty when allowed, else why not.
rule() {
	case "$1" in
	include | lib | ept)
		case "$2" in vmm | pks) echo "$1/ may not include $2/ headers (ground floor)" ;; esac ;;
	pks)
		[ "$2" = vmm ] && [ "$3" != vmm/seam.h ] &&
			echo "pks/ reaches vmm/ only through vmm/seam.h" ;;
	boot)
		case "$2" in
		vmm) [ "$3" != vmm/build.h ] && echo "boot/ reaches vmm/ only through vmm/build.h" ;;
		pks) echo "boot/ may not include pks/ headers (vmm/build.h is its entry)" ;;
		esac ;;
	esac
}

files=0 bad=0
while IFS= read -r f; do
	files=$((files + 1))
	src_layer=$(layer_of "$f")
	while IFS=: read -r line inc; do
		case "$inc" in
		\"*\") name=${inc#\"}; name=${name%\"}; target=$(realpath -m "$(dirname "$f")/$name") ;;
		\<pksvisor/*\>) name=${inc#<}; name=${name%>}; target=$(realpath -m "$ROOT/include/$name") ;;
		*) continue ;;	# libc, efi.h, cmocka: outside the tree
		esac
		dst_layer=$(layer_of "$target")
		[ -n "$dst_layer" ] || continue
		why=$(rule "$src_layer" "$dst_layer" "${target#"$ROOT"/}")
		if [ -n "$why" ]; then
			echo "layering: ${f#"$ROOT"/}:$line includes ${target#"$ROOT"/}: $why"
			bad=$((bad + 1))
		fi
	done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*([<"][^>"]+[>"]).*/\1/; T; =; p' "$f" |
		 paste -d: - -)
done < <(find "$ROOT/include" "$ROOT/lib" "$ROOT/ept" "$ROOT/pks" "$ROOT/boot" \
	      -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)

echo "layering: $files files checked, $bad violations"
[ "$bad" -eq 0 ]
