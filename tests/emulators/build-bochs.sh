#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Build the patched upstream Bochs that is pksvisor's hardware-PKS test bed
# (VMX *and* PKS: CPU model sapphire_rapids).
#
#   tests/emulators/build-bochs.sh [--force]
#
# Source, first found wins:
#   1. $PKSV_BOCHS_SRC: the snapshot tarball (or an unpacked bochs/ tree);
#   2. ../shared/vendor/bochs-783b58f.tar.xz next to the repository;
#   3. online only: a git clone of github.com/bochs-emu/Bochs at the pinned
#      commit (its bochs/ directory).
# A tarball must have the sha256 of the vendor README; a clone must be at the
# pinned commit.  No source is a hard error (exit 1), never a silent skip.
#
# The snapshot is always extracted fresh (Bochs's makefiles miss header
# dependencies: only a clean build is trustworthy), patched with
# tests/emulators/bochs-783b58f-pks.patch (the three PKS deviations from the
# SDM), configured with the flags below and built with -j$PKSV_JOBS.  The
# binary is cached outside the tree at
#   $PKSV_CACHE/bochs-<sha256(tarball sha, patch, flags, this script)>/bochs
# (PKSV_CACHE defaults to ~/.cache/pksvisor).  The last line of stdout is the
# binary's path, everything else goes to stderr:
#   BOCHS=$(tests/emulators/build-bochs.sh | tail -n1)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PATCH=$HERE/bochs-783b58f-pks.patch
CACHE=${PKSV_CACHE:-$HOME/.cache/pksvisor}
JOBS=${PKSV_JOBS:-2}
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

PIN_COMMIT=783b58fd6d9bae598a07c59719122322fa0edce6
PIN_SHA256=cdf1d93069697e67a43e92b26985600f934c1f6fa73bd50c62f997cbe9f2c7b9
PIN_URL=https://github.com/bochs-emu/Bochs.git
FLAGS=(--enable-x86-64 --enable-vmx=2 --enable-protection-keys --enable-avx
       --enable-evex --enable-cpu-level=6 --enable-all-optimizations
       --enable-smp --with-nogui --disable-docbook)

log() { echo "build-bochs: $*" >&2; }
die() { echo "build-bochs: ERROR: $*" >&2; exit 1; }

. "$REPO/tests/harness/lib.sh"
need_pkg build-essential xz-utils patch

[ -f "$PATCH" ] || die "missing $PATCH"

# --- cache key: every input ----------------------------------------------------
# The snapshot enters the key through its pinned sha256 (verified below
# before any build), so a lookup needs no source at all.
KEY=$( {
	echo "bochs-src-sha256=$PIN_SHA256 commit=$PIN_COMMIT"
	echo "--- patch"; cat "$PATCH"
	echo "--- flags"; printf '%s\n' "${FLAGS[@]}"
	echo "--- build-bochs.sh"; cat "${BASH_SOURCE[0]}"
} | sha256sum | cut -c1-16)
OUT=$CACHE/bochs-$KEY
mkdir -p "$CACHE"

exec 9>"$CACHE/build-bochs.lock"
flock 9		# one build at a time (stages may call us concurrently)

if [ $FORCE -eq 0 ] && [ -x "$OUT/bochs" ]; then
	log "cached: $OUT/bochs"
	echo "$OUT/bochs"
	exit 0
fi

# --- find the source -----------------------------------------------------------
WORK=$CACHE/bochs-build-$KEY
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
START=$(date +%s)

extract_tarball() {	# TARBALL: verify and unpack into $WORK/src
	local tb=$1 sum
	sum=$(sha256sum "$tb" | cut -d' ' -f1)
	[ "$sum" = "$PIN_SHA256" ] ||
		die "$tb has sha256 $sum, want $PIN_SHA256 (see ../shared/vendor/README.md)"
	log "extracting $tb (sha256 ok)"
	mkdir -p "$WORK/x"
	tar -C "$WORK/x" -xf "$tb"
	local top
	top=$(dirname "$(find "$WORK/x" -maxdepth 2 -name configure.ac -print -quit)")
	[ -n "$top" ] && [ -f "$top/cpu/vmx.cc" ] || die "$tb holds no bochs/ source tree"
	mv "$top" "$WORK/src"
}

VENDOR=$REPO/../shared/vendor/bochs-783b58f.tar.xz
SRC_DESC=""
if [ -n "${PKSV_BOCHS_SRC:-}" ]; then
	if [ -d "$PKSV_BOCHS_SRC" ]; then
		[ -f "$PKSV_BOCHS_SRC/cpu/vmx.cc" ] || die "PKSV_BOCHS_SRC=$PKSV_BOCHS_SRC is not a bochs/ tree"
		log "copying the tree $PKSV_BOCHS_SRC (no sha256 to check: trusted as given)"
		cp -a "$PKSV_BOCHS_SRC" "$WORK/src"
		rm -rf "$WORK/src/.git"
	else
		[ -f "$PKSV_BOCHS_SRC" ] || die "PKSV_BOCHS_SRC=$PKSV_BOCHS_SRC does not exist"
		extract_tarball "$PKSV_BOCHS_SRC"
	fi
	SRC_DESC="PKSV_BOCHS_SRC=$PKSV_BOCHS_SRC"
elif [ -f "$VENDOR" ]; then
	extract_tarball "$VENDOR"
	SRC_DESC=$(cd "$(dirname "$VENDOR")" && pwd)/$(basename "$VENDOR")
elif command -v git >/dev/null && timeout 20 git ls-remote "$PIN_URL" HEAD >/dev/null 2>&1; then
	log "no snapshot found: cloning $PIN_URL at $PIN_COMMIT"
	git init -q "$WORK/git"
	git -C "$WORK/git" fetch -q --depth 1 "$PIN_URL" "$PIN_COMMIT" ||
		die "cannot fetch commit $PIN_COMMIT from $PIN_URL"
	git -C "$WORK/git" checkout -q FETCH_HEAD
	[ "$(git -C "$WORK/git" rev-parse HEAD)" = "$PIN_COMMIT" ] || die "clone is not at $PIN_COMMIT"
	mv "$WORK/git/bochs" "$WORK/src"
	SRC_DESC="git $PIN_URL $PIN_COMMIT"
else
	die "no Bochs source: set PKSV_BOCHS_SRC, or provide $VENDOR, or go online (git clone of $PIN_URL)"
fi

# --- patch, configure, build ---------------------------------------------------
cd "$WORK/src"
log "applying $(basename "$PATCH")"
patch -p1 --batch --forward --quiet <"$PATCH" >&2 || die "the patch does not apply"
log "configuring: ${FLAGS[*]} (log: configure.log)"
./configure "${FLAGS[@]}" >configure.log 2>&1 ||
	{ tail -n 30 configure.log >&2; die "configure failed"; }
log "building with -j$JOBS (a cold build takes 3-10 minutes on 2 shared cores)"
if ! make -j"$JOBS" >build.log 2>&1; then
	tail -n 40 build.log >&2
	die "build failed"
fi
[ -x bochs ] || die "build produced no bochs binary"

mkdir -p "$OUT.tmp"
cp bochs "$OUT.tmp/"
{
	echo "source: $SRC_DESC"
	echo "commit: $PIN_COMMIT sha256: $PIN_SHA256"
	echo "patch: $(sha256sum "$PATCH" | cut -d' ' -f1)"
	echo "flags: ${FLAGS[*]}"
	echo "built $(date -u +%FT%TZ) in $(( $(date +%s) - START )) s with -j$JOBS"
} >"$OUT.tmp/info"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
log "built in $(( $(date +%s) - START )) s: $OUT/bochs"
echo "$OUT/bochs"
