# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Shared helpers for the harness scripts (sourced, not executed).

# need_pkg PKG...: install the Debian packages that are missing, without
# their recommended packages (idempotent: nothing runs when all are there).
# Recommends are left out on purpose: a test bed must not depend on what
# apt happens to pull in (ALSA, GUI toolkits); what it needs is listed.
# The package lists are refreshed first: a new machine's lists are as old
# as its image (a debootstrapped Debian 12 offered linux-source-6.1
# 6.1.176-1 from them while the archive had 6.1.192-3), and installing
# from them succeeds with old versions.  A failed refresh (an unreachable
# third-party source) is reported, not fatal: the install decides.
need_pkg() {
	local sudo="" pkg missing=()
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" ||
			missing+=("$pkg")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "harness: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q >&2 ||
		echo "harness: WARNING: apt-get update failed; installing from the lists there are" >&2
	$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# cache_dir: where generated inputs shared by runs live (OVMF ROM images).
cache_dir() {
	local d="${PKSV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pksvisor}"
	mkdir -p "$d"
	echo "$d"
}

# now_ms: wall clock in milliseconds.
now_ms() {
	date +%s%3N
}

# kill_group PID: stop a process group started with setsid, TERM then KILL.
kill_group() {
	local pid=$1
	kill -TERM -- "-$pid" 2>/dev/null || return 0
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 -- "-$pid" 2>/dev/null || return 0
		sleep 0.2
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
}

# run_watched PID SERIAL TIMEOUT UNTIL GRACE: wait for PID (a setsid group
# leader) to end, for TIMEOUT seconds to pass, or for SERIAL to match the
# extended regex UNTIL (then give it GRACE seconds to end by itself) on
# WATCH_UNTIL_COUNT lines (default 1).
# Sets WATCH_RESULT to exited|until|timeout|fatal and WATCH_STATUS to the
# exit status of PID when it exited.
# A line matching WATCH_FATAL_RE (default 'pksvisor: FATAL'; empty turns
# the watch off) ends the run at once with WATCH_RESULT=fatal: pksvisor
# halts after its fatal dump, so waiting for the timeout only hides the
# failure behind minutes of nothing.  The dump follows the FATAL line, so
# the emulator gets 2 s to write it first.
# shellcheck disable=SC2034  # WATCH_* are read by the caller
run_watched() {
	local pid=$1 serial=$2 timeout=$3 until=$4 grace=$5
	local deadline=$(( $(now_ms) + timeout * 1000 )) matched_at="" fatal_at=""
	local fatal_re=${WATCH_FATAL_RE-pksvisor: FATAL}
	WATCH_RESULT=""
	WATCH_STATUS=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ -n "$fatal_re" ] && [ -z "$fatal_at" ] && [ -f "$serial" ] &&
		   grep -aEq -- "$fatal_re" "$serial"; then
			fatal_at=$(now_ms)
		fi
		if [ -n "$fatal_at" ] && [ $(( $(now_ms) - fatal_at )) -ge 2000 ]; then
			WATCH_RESULT=fatal
			kill_group "$pid"
			break
		fi
		if [ -n "$until" ] && [ -z "$matched_at" ] && [ -f "$serial" ] &&
		   [ "$(grep -acE -- "$until" "$serial")" -ge "${WATCH_UNTIL_COUNT:-1}" ]; then
			matched_at=$(now_ms)
		fi
		if [ -n "$matched_at" ] && [ $(( $(now_ms) - matched_at )) -ge $((grace * 1000)) ]; then
			WATCH_RESULT=until
			kill_group "$pid"
			break
		fi
		if [ "$(now_ms)" -ge "$deadline" ]; then
			WATCH_RESULT=timeout
			kill_group "$pid"
			break
		fi
		sleep 0.25
	done
	wait "$pid" 2>/dev/null && WATCH_STATUS=0 || WATCH_STATUS=$?
	[ -n "$WATCH_RESULT" ] || WATCH_RESULT=exited
	# A FATAL line written just before the emulator ended is still fatal.
	if [ -n "$fatal_re" ] && [ "$WATCH_RESULT" != fatal ] &&
	   grep -aEq -- "$fatal_re" "$serial" 2>/dev/null; then
		WATCH_RESULT=fatal
	fi
	# A marker that shows up while the emulator powers off still counts.
	if [ "$WATCH_RESULT" = timeout ] && [ -n "$until" ] &&
	   [ "$(grep -acE -- "$until" "$serial" 2>/dev/null)" -ge "${WATCH_UNTIL_COUNT:-1}" ]; then
		WATCH_RESULT=until
	fi
}

# emulator_start_cause OUTPUT...: the best one-line reason an emulator gave
# for ending, from its stdout/log files: Bochs's closing "exiting with the
# following message", a libc abort ("*** buffer overflow detected ***"), a
# PANIC/FATAL line, QEMU's "qemu-system-x86_64: ..." error, or else the
# last line that is not Bochs's info chatter.
emulator_start_cause() {
	local f cause=""
	for f in "$@"; do
		[ -s "$f" ] || continue
		cause=$(awk '/exiting with the following message/ { getline; print; exit }' "$f")
		[ -n "$cause" ] && break
		cause=$(grep -aE '^\*\*\* .* \*\*\*|Aborted|Segmentation fault' "$f" | tail -n1)
		[ -n "$cause" ] && break
		cause=$(grep -aE '>>PANIC<<|\[.*\] *(PANIC|FATAL)|^qemu-system[^:]*: ' "$f" | tail -n1)
		[ -n "$cause" ] && break
	done
	if [ -z "$cause" ]; then
		for f in "$@"; do
			[ -s "$f" ] || continue
			cause=$(grep -avE '^[0-9]+i\[|^ *$|^=+$|lt_dlhandle' "$f" | tail -n1)
			[ -n "$cause" ] && break
		done
	fi
	echo "${cause:-no message (see $*)}" | tr -s ' \t' ' ' | cut -c1-300
}

# exit_status_name STATUS: "exit status 1" or "killed by SIGABRT".
exit_status_name() {
	if [ "$1" -gt 128 ] && [ "$1" -lt 160 ]; then
		echo "killed by SIG$(kill -l $(( $1 - 128 )) 2>/dev/null || echo $(( $1 - 128 )))"
	else
		echo "exit status $1"
	fi
}

# serial_has_output SERIAL: the firmware wrote anything at all to COM1.
# OVMF's first bytes are its console's escape sequences, well before any
# test output; an emulator that dies before them never ran the firmware.
serial_has_output() {
	[ -s "$1" ]
}

# EMU_NEVER_RAN: the status run-bochs.sh and run-qemu.sh return when the
# emulator ended before the firmware wrote anything to COM1 (it aborted at
# start: a bad config, a missing library, a crash).  They print the cause.
EMU_NEVER_RAN=125

# EMU_FATAL: the status run-bochs.sh and run-qemu.sh return when pksvisor
# printed "pksvisor: FATAL" (they stop the emulator 2 s later; a test that
# provokes the fatal dump on purpose expects this status).
EMU_FATAL=123

# stop_if_emulator_never_ran STATUS WHO: end the calling script with a
# failure when STATUS says the emulator never ran, so a stage reports the
# cause run-bochs/run-qemu printed rather than "no TAP output".
stop_if_emulator_never_ran() {
	[ "$1" -eq "$EMU_NEVER_RAN" ] || return 0
	echo "$2: FAILED: the emulator aborted at start (cause above); nothing was tested" >&2
	exit 1
}
