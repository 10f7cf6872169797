#!/bin/bash
# Build the pksvisor Linux 6.1 guest kernel (bzImage with the EFI stub).
#
#   guest-patches/build-kernel.sh [--force] [--variant NAME]
#
# --variant NAME merges linux-6.1/variant-NAME.config after guest.config
# (a build-only configuration check, e.g. "nozonedevice": PKS and its test
# without ZONE_DEVICE); only the variant fragment's values are enforced then,
# since turning one option off may legitimately drop others of guest.config.
#
# Inputs: Debian's linux-source-6.1 (/usr/src/linux-source-6.1.tar.xz), the
# patch series guest-patches/linux-6.1/series (git format-patch files applied
# with `patch -p1`), the config fragment guest-patches/linux-6.1/guest.config
# and this script.  The result is cached outside the tree at
#   $PKSV_CACHE/kernel-<sha256 of all inputs>/bzImage
# (PKSV_CACHE defaults to ~/.cache/pksvisor); an unchanged input set is not
# rebuilt.  The last line of stdout is the path of bzImage; everything else
# goes to stderr, so `KERNEL=$(guest-patches/build-kernel.sh | tail -n1)`
# works.  Env: PKSV_JOBS (default 2), PKSV_KEEP_BUILD=1 keeps the build tree.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PATCHDIR=$HERE/linux-6.1
SERIES=$PATCHDIR/series
FRAGMENT=$PATCHDIR/guest.config
SRC_TAR=/usr/src/linux-source-6.1.tar.xz
CACHE=${PKSV_CACHE:-$HOME/.cache/pksvisor}
JOBS=${PKSV_JOBS:-2}
FORCE=0
VARIANT=
while [ $# -gt 0 ]; do
	case "$1" in
	--force) FORCE=1; shift ;;
	--variant) VARIANT=${2:?--variant needs a name}; shift 2 ;;
	*) echo "build-kernel: unknown argument $1" >&2; exit 2 ;;
	esac
done
VARIANT_FRAG=
if [ -n "$VARIANT" ]; then
	VARIANT_FRAG=$PATCHDIR/variant-$VARIANT.config
	[ -f "$VARIANT_FRAG" ] || { echo "build-kernel: no $VARIANT_FRAG" >&2; exit 2; }
fi

log() { echo "build-kernel: $*" >&2; }
die() { echo "build-kernel: ERROR: $*" >&2; exit 1; }

# --- packages (idempotent) ---------------------------------------------------
# need_pkg: the harness helper (apt-get install --no-install-recommends).
. "$HERE/../tests/harness/lib.sh"
need_pkg linux-source-6.1 build-essential flex bison bc libelf-dev lz4 \
	xz-utils patch python3

# --- the source version the series was made for ------------------------------
WANT_VER=$(tr -d ' \n' <"$PATCHDIR/source-version")
HAVE_VER=$(dpkg-query -W -f='${Version}' linux-source-6.1)
if [ "$HAVE_VER" != "$WANT_VER" ]; then
	log "WARNING: linux-source-6.1 is $HAVE_VER but the series was made for $WANT_VER;"
	log "WARNING: patches may not apply (see guest-patches/linux-6.1/source-version)"
fi

# --- cache key: every input --------------------------------------------------
mapfile -t PATCHES < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$SERIES" | awk '{print $1}')
KEY=$( {
	echo "linux-source-6.1=$HAVE_VER"
	echo "--- series"; cat "$SERIES"
	for p in "${PATCHES[@]}"; do
		[ -f "$PATCHDIR/$p" ] || die "series lists $p but $PATCHDIR/$p is missing"
		echo "--- $p"; cat "$PATCHDIR/$p"
	done
	echo "--- guest.config"; cat "$FRAGMENT"
	[ -z "$VARIANT_FRAG" ] || { echo "--- variant $VARIANT"; cat "$VARIANT_FRAG"; }
	echo "--- build-kernel.sh"; cat "${BASH_SOURCE[0]}"
} | sha256sum | cut -c1-16)
OUT=$CACHE/kernel-$KEY
mkdir -p "$CACHE"

exec 9>"$CACHE/build-kernel.lock"
flock 9		# one build at a time (other scripts may call us concurrently)

if [ $FORCE -eq 0 ] && [ -s "$OUT/bzImage" ]; then
	log "cached: $OUT/bzImage"
	echo "$OUT/bzImage"
	exit 0
fi

# --- extract and patch -------------------------------------------------------
WORK=$CACHE/build-$KEY
rm -rf "$WORK"
mkdir -p "$WORK"
START=$(date +%s)
log "extracting $SRC_TAR ($HAVE_VER) into $WORK"
tar -C "$WORK" -xf "$SRC_TAR"
KSRC=$WORK/linux-source-6.1
for p in "${PATCHES[@]}"; do
	log "applying $p"
	patch -d "$KSRC" -p1 --batch --forward --quiet <"$PATCHDIR/$p" >&2 ||
		die "patch $p does not apply"
done

# --- configure ---------------------------------------------------------------
cd "$KSRC"
MK=(make -s ARCH=x86_64 -j"$JOBS")
log "configuring: tinyconfig + guest.config (log: $KSRC/config.log)"
{
	"${MK[@]}" tinyconfig &&
	scripts/kconfig/merge_config.sh -m .config "$FRAGMENT" $VARIANT_FRAG &&
	"${MK[@]}" olddefconfig
} >config.log 2>&1 || { tail -n 30 config.log >&2; die "configuration failed"; }

# Every option of the fragment must have the value the fragment gives it.
bad=0
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		opt=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
		got=$(grep -E "^$opt=" .config | cut -d= -f2- || true)
		if [ "$got" != "$val" ]; then
			log "config: $opt wanted $val, got '${got:-not set}'"; bad=1
		fi
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
		opt=${BASH_REMATCH[1]}
		if grep -qE "^$opt=" .config; then
			log "config: $opt wanted unset, got $(grep -E "^$opt=" .config)"; bad=1
		fi
	fi
done <"${VARIANT_FRAG:-$FRAGMENT}"
[ $bad -eq 0 ] || die "kernel config does not match ${VARIANT_FRAG:-guest.config} (missing dependency?)"

# --- build -------------------------------------------------------------------
log "building bzImage with -j$JOBS (a cold build takes several minutes)"
if ! "${MK[@]}" bzImage >build.log 2>&1; then
	tail -n 40 build.log >&2
	die "kernel build failed (log: $KSRC/build.log)"
fi

mkdir -p "$OUT.tmp"
cp arch/x86/boot/bzImage .config build.log "$OUT.tmp/"
cp System.map "$OUT.tmp/" 2>/dev/null || true
# vmlinux: tests/linux/check-entry-cost.py disassembles the entry paths.
cp vmlinux "$OUT.tmp/"
{
	echo "linux-source-6.1 $HAVE_VER"
	echo "built $(date -u +%FT%TZ) in $(( $(date +%s) - START )) s"
	printf '%s\n' "${PATCHES[@]}"
} >"$OUT.tmp/info"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
cd "$CACHE"
[ "${PKSV_KEEP_BUILD:-0}" = 1 ] || rm -rf "$WORK"
log "built in $(( $(date +%s) - START )) s: $OUT/bzImage"
echo "$OUT/bzImage"
