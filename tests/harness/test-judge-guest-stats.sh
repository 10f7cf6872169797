#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# Judge test: check-guest-stats.py (run-linux-pks-bochs.sh), which compares
# the Linux guest's /sys/kernel/debug/pksvisor/vcpuN/stats dump with
# pksvisor's power-off statistics and runs pksvisor-stat live on the tree.
# A real log (judges/logs/guest-stats.serial: the dump and the power-off
# lines of a run-linux-pks-bochs.sh run) must pass; every doctored one fails.
set -uo pipefail
. "$(dirname "$0")/judges/lib.sh"
jt_init guest-stats
L="$JT_BUILD/logs"
mkdir -p "$L"
J="$JT_HARNESS/check-guest-stats.py"
S="$JT_ROOT/tools/pksvisor-stat"
G="$JT_LOGS/guest-stats.serial"

jt_case pass good-log "$J" "$G" "$L/t-good" --stat "$S"
grep -v '^PKSV-STATS-' "$G" >"$L/no-dump"
jt_case fail no-tree-dumped "$J" "$L/no-dump" "$L/t1"
# The guest saw more exits than pksvisor counted by power-off.
sed -E '/^PKSV-STATS-FILE:/s/ exits=([0-9]+)/ exits=9\1/' "$G" >"$L/above"
jt_case fail counter-above-power-off "$J" "$L/above" "$L/t2"
# A directory that names another vCPU than its line.
sed -E '/^PKSV-STATS-FILE:/s/^PKSV-STATS-FILE: vcpu0 /PKSV-STATS-FILE: vcpu1 /' "$G" >"$L/dir"
jt_case fail directory-not-vcpu "$J" "$L/dir" "$L/t3"
# hc.* do not add up to hypercalls.
sed -E '/^PKSV-STATS-FILE:/s/ hc\.get_stats=([0-9]+)/ hc.get_stats=1\1/' "$G" >"$L/hcsum"
jt_case fail hypercall-sum "$J" "$L/hcsum" "$L/t4"
# A key the guest shows that pksvisor never printed.
sed -E '/^PKSV-STATS-FILE:/s/$/ bogus_counter=1/' "$G" >"$L/key"
jt_case fail unknown-key "$J" "$L/key" "$L/t5"
# pksvisor-stat must agree with the tree: a tool that prints nothing fails.
printf '#!/bin/sh\nexit 0\n' >"$L/silent-stat"; chmod +x "$L/silent-stat"
jt_case fail stat-tool-disagrees "$J" "$G" "$L/t6" --stat "$L/silent-stat"
jt_done
