#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
# The main job: build everything, boot pksvisor + the Linux guest in Bochs
# and show the serial console (pksvisor's lines, the guest's, statistics).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
tests/install-deps.sh
make -s -j2 all
status=0
PKSV_STATS=${PKSV_STATS:-off} tests/harness/run-linux-bochs.sh || status=$?
echo "===== serial console (build/test-linux-bochs/serial.txt)"
# Drop the firmware's terminal escape sequences, keep everything else.
sed -e 's/\x1b\[[0-9;=]*[A-Za-z]//g' build/test-linux-bochs/serial.txt | grep -av '^\s*$'
exit $status
