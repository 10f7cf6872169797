# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Shared helpers for the harness scripts (sourced, not executed).

# need_pkg PKG...: install Debian packages that are missing (idempotent).
need_pkg() {
	local sudo="" pkg missing=()
	for pkg in "$@"; do
		dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "harness: installing ${missing[*]}" >&2
	$sudo apt-get install -y "${missing[@]}" >&2 ||
		{ $sudo apt-get update >&2 && $sudo apt-get install -y "${missing[@]}" >&2; }
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
# extended regex UNTIL (then give it GRACE seconds to end by itself).
# Sets WATCH_RESULT to exited|until|timeout and WATCH_STATUS to the exit
# status of PID when it exited.
# shellcheck disable=SC2034  # WATCH_* are read by the caller
run_watched() {
	local pid=$1 serial=$2 timeout=$3 until=$4 grace=$5
	local deadline=$(( $(now_ms) + timeout * 1000 )) matched_at=""
	WATCH_RESULT=""
	WATCH_STATUS=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ -n "$until" ] && [ -z "$matched_at" ] && [ -f "$serial" ] &&
		   grep -aEq -- "$until" "$serial"; then
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
	# A marker that shows up while the emulator powers off still counts.
	if [ "$WATCH_RESULT" = timeout ] && [ -n "$until" ] && grep -aEq -- "$until" "$serial" 2>/dev/null; then
		WATCH_RESULT=until
	fi
}
