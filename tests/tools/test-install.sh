#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# test-install.sh: tools/pksvisor-install and `make install` on a scratch
# ESP directory, with efibootmgr replaced by tests/tools/fake-efibootmgr
# (which keeps the "NVRAM" in a file) and the UEFI marker directory faked
# through PKSVISOR_EFI_SYSFS.  Checks: the dry run prints every step and
# changes nothing; install creates exactly the files and one boot entry;
# a second install changes nothing; --uninstall removes both; the refusals
# (non-UEFI system, missing ESP, not an ESP, configurations pksvisor would
# reject, next= not on the ESP) exit 1 with a clear message and change
# nothing.  Exit 0 when every check passed.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="$(realpath -m "${BUILD:-$ROOT/build}")"
T="$BUILD/test-install"
INST="$ROOT/tools/pksvisor-install"
. "$HERE/check-lib.sh"

make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/pksvisor.efi" "$BUILD/host/pksvisor-cfgcheck" >&2 || exit 1

rm -rf "$T"; mkdir -p "$T/esp/EFI/debian" "$T/efi-sysfs"
printf 'MZ fake grub' >"$T/esp/EFI/debian/grubx64.efi"
export PKSVISOR_EFI_SYSFS="$T/efi-sysfs" PKSVISOR_EFIBOOTMGR="$HERE/fake-efibootmgr"
export PKSVISOR_CFGCHECK="$BUILD/host/pksvisor-cfgcheck" FAKE_EFIVARS="$T/efivars"
printf '0001\tdebian\t\\EFI\\debian\\shimx64.efi\n' >"$FAKE_EFIVARS"
COMMON=(--esp "$T/esp" --image "$BUILD/pksvisor.efi" --disk /dev/sda --part 1)
CFGARGS=(--next '\EFI\debian\grubx64.efi' -o pks=soft -o stats=30)
tree() { (cd "$T/esp" && find . | sort; cat "$FAKE_EFIVARS"); }

# 1. dry run: every step printed, nothing changed.
before=$(tree)
check "dry run exits 0" 0 "$INST" "${COMMON[@]}" "${CFGARGS[@]}" --dry-run
expect_out "dry run announces itself" "dry run: nothing will be changed"
expect_out "dry run: mkdir" "mkdir -p $T/esp/EFI/pksvisor"
expect_out "dry run: copy image" "install -m 0644 $BUILD/pksvisor.efi $T/esp/EFI/pksvisor/pksvisor.efi"
expect_out "dry run: writes the config" "install -m 0644 /dev/stdin $T/esp/EFI/pksvisor/pksvisor.cfg <<'PKSVISOR_CFG_EOF'"
expect_out "dry run: shows the config" 'next="\EFI\debian\grubx64.efi"'
expect_out "dry run: boot entry" "fake-efibootmgr --quiet --create --disk /dev/sda --part 1 --label pksvisor --loader \\\\EFI\\\\pksvisor\\\\pksvisor.efi"
same "dry run changes nothing" "$before" "$(tree)"
cp "$OUT" "$T/dry-run.txt"
# The dry run's output is a shell script doing what the install does.
cp -r "$T/esp" "$T/esp-backup"
check "dry-run output replays in a shell" 0 bash -e "$T/dry-run.txt"
same "replayed: image" "$(cmp "$BUILD/pksvisor.efi" "$T/esp/EFI/pksvisor/pksvisor.efi" && echo same)" same
same "replayed: config valid for pksvisor" "$("$PKSVISOR_CFGCHECK" --get pks "$T/esp/EFI/pksvisor/pksvisor.cfg")" soft
same "replayed: boot entry" "$(cut -f2,3 "$FAKE_EFIVARS" | tail -n 1)" 'pksvisor	\EFI\pksvisor\pksvisor.efi'
rm -rf "$T/esp"; mv "$T/esp-backup" "$T/esp"
printf '0001\tdebian\t\\EFI\\debian\\shimx64.efi\n' >"$FAKE_EFIVARS"

# 2. install.
check "install exits 0" 0 "$INST" "${COMMON[@]}" "${CFGARGS[@]}"
same "image copied" "$(cmp "$BUILD/pksvisor.efi" "$T/esp/EFI/pksvisor/pksvisor.efi" && echo same)" same
check "installed config is one pksvisor accepts" 0 "$PKSVISOR_CFGCHECK" "$T/esp/EFI/pksvisor/pksvisor.cfg"
expect_out "installed config: pks=soft" "pks=soft"
expect_out "installed config: stats=30" "stats=30"
same "one boot entry added" "$(grep -c pksvisor "$FAKE_EFIVARS")" 1
expect_file "entry points at the loader" "$FAKE_EFIVARS" 'pksvisor	\\EFI\\pksvisor\\pksvisor.efi'

# 3. idempotent.
after=$(tree); calls=$(wc -l <"$FAKE_EFIVARS.calls")
check "second install exits 0" 0 "$INST" "${COMMON[@]}" "${CFGARGS[@]}"
expect_re "second install finds the entry" "boot entry Boot0002 'pksvisor' .* already exists"
expect_out "second install: up to date" "is up to date"
same "second install changes nothing" "$after" "$(tree)"
same "second install only lists entries" "$(tail -n +$((calls + 1)) "$FAKE_EFIVARS.calls")" ""
check "dry run after install exits 0" 0 "$INST" "${COMMON[@]}" "${CFGARGS[@]}" --dry-run
expect_no_out "dry run after install has nothing to run" "^[^#]"
check "keeping the installed config" 0 "$INST" "${COMMON[@]}"
same "kept config unchanged" "$after" "$(tree)"

# 4. refusals: exit 1, a clear message, nothing changed.
check "non-UEFI system refused" 1 env PKSVISOR_EFI_SYSFS="$T/no-such-dir" "$INST" "${COMMON[@]}" "${CFGARGS[@]}"
expect_out "non-UEFI message" "not booted through UEFI"
check "missing ESP refused" 1 "$INST" --esp "$T/no-esp" --disk /dev/sda --part 1 "${CFGARGS[@]}"
expect_out "missing ESP message" "ESP '$T/no-esp' does not exist"
mkdir -p "$T/not-esp"
check "directory without EFI/ refused" 1 "$INST" --esp "$T/not-esp" --disk /dev/sda --part 1 "${CFGARGS[@]}"
expect_out "not-an-ESP message" "is not an EFI System Partition"
check "bad pks= refused" 1 "$INST" "${COMMON[@]}" --next '\EFI\debian\grubx64.efi' -o pks=bogus
expect_out "bad pks= message is pksvisor's" "bad option 'pks=bogus': accepted values are auto|hw|soft|off"
check "unknown option refused" 1 "$INST" "${COMMON[@]}" --next '\EFI\debian\grubx64.efi' -o colour=red
expect_out "unknown option message" "unknown option 'colour=red'"
check "stats out of range refused" 1 "$INST" "${COMMON[@]}" --next '\EFI\debian\grubx64.efi' -o stats=86401
printf 'next=\\EFI\\debian\\grubx64.efi\nargs="console=ttyS0\n' >"$T/unterminated.cfg"
check "unterminated quote refused" 1 "$INST" "${COMMON[@]}" --config "$T/unterminated.cfg"
expect_out "unterminated quote message" "unterminated quote"
{ echo 'next=\EFI\debian\grubx64.efi'; head -c 8200 /dev/zero | tr '\0' '#'; } >"$T/long.cfg"
check "config longer than pksvisor reads refused" 1 "$INST" "${COMMON[@]}" --config "$T/long.cfg"
check "next= missing on the ESP refused" 1 "$INST" "${COMMON[@]}" --next '\EFI\debian\nothere.efi'
expect_out "next= message" "is not on the ESP"
check "config without next= refused" 1 "$INST" "${COMMON[@]}" -o pks=soft
expect_out "no next= message" "no next= image"
check "no disk known refused" 1 "$INST" --esp "$T/esp" --image "$BUILD/pksvisor.efi" "${CFGARGS[@]}" --label other
expect_out "no disk message" "give --disk DEV --part N"
check "missing efibootmgr refused" 1 env PKSVISOR_EFIBOOTMGR=/nonexistent/efibootmgr "$INST" "${COMMON[@]}" "${CFGARGS[@]}" --label other
expect_out "missing efibootmgr message" "efibootmgr not found"
same "refusals changed nothing" "$after" "$(tree)"
check "--no-bootentry works without UEFI" 0 env PKSVISOR_EFI_SYSFS="$T/no-such-dir" "$INST" "${COMMON[@]}" --no-bootentry

# 5. uninstall.
check "uninstall dry run" 0 "$INST" "${COMMON[@]}" --uninstall --dry-run
expect_out "uninstall dry run: entry" "fake-efibootmgr --quiet --bootnum 0002 --delete-bootnum"
same "uninstall dry run changes nothing" "$after" "$(tree)"
check "uninstall exits 0" 0 "$INST" "${COMMON[@]}" --uninstall
same "files removed" "$(ls -A "$T/esp/EFI")" debian
same "entry removed, others kept" "$(cut -f2 "$FAKE_EFIVARS" | paste -sd, -)" debian
check "second uninstall exits 0" 0 "$INST" "${COMMON[@]}" --uninstall
expect_out "second uninstall: nothing to do" "nothing to do"

# 5b. --removable: the fallback path, no boot entry, even without UEFI.
check "--removable" 0 env PKSVISOR_EFI_SYSFS="$T/no-such-dir" "$INST" --esp "$T/esp" --image "$BUILD/pksvisor.efi" --removable "${CFGARGS[@]}"
same "--removable: BOOTX64.EFI and its cfg" "$(cd "$T/esp/EFI/BOOT" && ls | paste -sd' ' -)" "BOOTX64.EFI pksvisor.cfg"
same "--removable: no boot entry" "$(cut -f2 "$FAKE_EFIVARS" | paste -sd, -)" debian
check "--removable --uninstall" 0 "$INST" --esp "$T/esp" --removable --uninstall
same "--removable --uninstall removes both" "$(ls -A "$T/esp/EFI")" debian
mkdir -p "$T/esp/EFI/BOOT"; printf 'MZ another loader' >"$T/esp/EFI/BOOT/BOOTX64.EFI"
check "--removable over another loader refused" 1 "$INST" --esp "$T/esp" --image "$BUILD/pksvisor.efi" --removable "${CFGARGS[@]}"
expect_out "says it is another loader" "is another boot loader, not pksvisor"
check "--removable --uninstall leaves another loader" 0 "$INST" --esp "$T/esp" --removable --uninstall
same "other loader kept" "$(cat "$T/esp/EFI/BOOT/BOOTX64.EFI")" "MZ another loader"
rm -rf "$T/esp/EFI/BOOT"

# 6. make install: files under DESTDIR, then the ESP step (dry run).
rm -rf "$T/dest"
check "make install DESTDIR= ESP=" 0 make -s -C "$ROOT" BUILD="$BUILD" install DESTDIR="$T/dest" PREFIX=/usr \
	ESP="$T/esp" INSTALL_ARGS="--dry-run --disk /dev/sda --part 1 --next \\\\EFI\\\\debian\\\\grubx64.efi"
for f in lib/pksvisor/pksvisor.efi lib/pksvisor/pksvisor-cfgcheck sbin/pksvisor-install \
	 bin/pksvisor-stat share/man/man8/pksvisor.8 share/man/man5/pksvisor.cfg.5 \
	 share/man/man8/pksvisor-install.8 share/man/man1/pksvisor-stat.1; do
	same "make install: /usr/$f" "$([ -f "$T/dest/usr/$f" ] && echo yes)" yes
done
expect_out "make install runs pksvisor-install" "install -m 0644 $T/dest/usr/lib/pksvisor/pksvisor.efi $T/esp/EFI/pksvisor/pksvisor.efi"
check "installed pksvisor-install finds its own image and parser" 0 env -u PKSVISOR_CFGCHECK \
	"$T/dest/usr/sbin/pksvisor-install" --esp "$T/esp" --disk /dev/sda --part 1 --dry-run "${CFGARGS[@]}"
expect_out "... the image under its prefix" "install -m 0644 $T/dest/usr/sbin/../lib/pksvisor/pksvisor.efi"

finish test-install
