#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# fresh-machine.sh [--keep-cache] [--root DIR] [COMMAND...]
#
# Run a README command the way a new user's fresh Debian 12 machine would:
# in a minimal Debian 12 (bookworm) root made with debootstrap, on a clean
# clone of this repository's HEAD, with nothing installed but what the
# command installs itself.  A machine that already has the packages hides
# missing install steps (issue [fresh-machine]: Bochs's ALSA abort came in
# with packages a developer's machine already had); this is the check to
# run before submitting a change to installation or the harness.
#
#   COMMAND        what to run inside, from the clone's top directory
#                  (default: tests/run-all.sh; e.g. tests/demo.sh)
#   --keep-cache   bind the host's $PKSV_CACHE (~/.cache/pksvisor) into the
#                  root so the guest kernel is not rebuilt (its cache key
#                  includes the linux-source version, so a different version
#                  still rebuilds); without it the run is cold (+5 minutes)
#   --root DIR     where the Debian root lives (default
#                  /var/tmp/pksvisor-fresh/root); it is made once with
#                  debootstrap --variant=minbase and copied for every run,
#                  so each run starts from the same untouched root
#
# Needs root (chroot, bind mounts) and the debootstrap package (installed
# when missing).  The exit status is the command's.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
. "$HERE/harness/lib.sh"

BASE=/var/tmp/pksvisor-fresh/root
KEEP_CACHE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--keep-cache) KEEP_CACHE=1; shift ;;
	--root) BASE=$2; shift 2 ;;
	-h|--help) sed -n '4,27p' "$0"; exit 0 ;;
	--) shift; break ;;
	-*) echo "fresh-machine: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || set -- tests/run-all.sh
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine: needs root (chroot and bind mounts)" >&2; exit 2; }
need_pkg debootstrap git

if [ ! -x "$BASE/usr/bin/apt-get" ]; then
	echo "fresh-machine: debootstrap --variant=minbase bookworm $BASE" >&2
	rm -rf "$BASE.tmp"
	mkdir -p "$(dirname "$BASE")"
	debootstrap --variant=minbase bookworm "$BASE.tmp" "${PKSV_DEBIAN_MIRROR:-http://deb.debian.org}/debian" >&2
	mv "$BASE.tmp" "$BASE"
fi

RUN="$(dirname "$BASE")/run-$$"
rm -rf "$RUN"
cp -a "$BASE" "$RUN"
cleanup() {
	local m
	for m in root/.cache/pksvisor dev/pts dev sys proc; do
		mountpoint -q "$RUN/$m" 2>/dev/null && umount -l "$RUN/$m"
	done
	rm -rf "$RUN"
}
trap cleanup EXIT

# The package sources of a fresh Debian 12 (the main archive with
# -updates, and -security) and the host's name resolution; nothing else of
# the host (its third-party sources, its installed packages, its caches).
cp /etc/resolv.conf "$RUN/etc/resolv.conf"
MIRROR=${PKSV_DEBIAN_MIRROR:-http://deb.debian.org}
rm -f "$RUN/etc/apt/sources.list.d/"*
cat >"$RUN/etc/apt/sources.list" <<SOURCES
deb $MIRROR/debian bookworm main
deb $MIRROR/debian bookworm-updates main
deb $MIRROR/debian-security bookworm-security main
SOURCES

REV=$(git -C "$ROOT" rev-parse HEAD)
git clone -q --no-hardlinks --no-checkout "$ROOT" "$RUN/work/pksvisor"
git -C "$RUN/work/pksvisor" checkout -q "$REV"
mount --bind /proc "$RUN/proc"
mount --bind /sys "$RUN/sys"
mount --bind /dev "$RUN/dev"
mount --bind /dev/pts "$RUN/dev/pts"
if [ "$KEEP_CACHE" -eq 1 ]; then
	mkdir -p "$RUN/root/.cache/pksvisor"
	mount --bind "$(cache_dir)" "$RUN/root/.cache/pksvisor"
fi

echo "fresh-machine: running '$*' in a fresh Debian 12 root ($RUN), clone of ${REV:0:12}" >&2
status=0
chroot "$RUN" /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	CI="${CI:-}" PKSV_STAGES="${PKSV_STAGES:-}" \
	/bin/bash -c 'cd /work/pksvisor && [ -n "$PKSV_STAGES" ] || unset PKSV_STAGES; exec "$@"' bash "$@" || status=$?
echo "fresh-machine: '$*' exited with status $status" >&2
exit "$status"
