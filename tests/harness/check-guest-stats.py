#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
"""check-guest-stats.py SERIAL TREE [--stat TOOL]

The guest's view of pksvisor's statistics against pksvisor's own
(issue 14 item 4).  From a Linux guest's serial log
(run-linux-pks-bochs.sh) it takes the debugfs tree that
tests/linux/initramfs/tests/20-pksvisor.sh dumped between
"PKSV-STATS-TREE: begin/end" ("PKSV-STATS-FILE: vcpuN <line>"), rebuilds
it under TREE (TREE/vcpuN/stats, the layout of docs/statistics.md) and
checks, for every vCPU file, against the last "pksvisor: stats vcpu=N"
line of the log (printed at power-off, after the dump):

 - the file's vcpu= is its directory's N, backend= is pksvisor's;
 - every key of the file is in the power-off line and no counter is
   larger than at power-off (counters only grow; unprotected_pages is a
   snapshot of a table and exempt), and exits grew (the guest kept running);
 - the file is consistent in itself: exits is the sum of exit.*,
   hypercalls the sum of hc.*, exits >= hypercalls >= hc.get_stats >= 1
   (the read counts itself);
 - with --stat, tools/pksvisor-stat's live mode (--sysfs TREE -b -n 1)
   shows the summed exits and hypercalls of the tree.

Prints one line per check and "N passed, N failed"; exit 1 on a failure.
"""
import os
import re
import subprocess
import sys

SNAPSHOT_KEYS = {"unprotected_pages"}


def parse(line):
    kv = {}
    for tok in line.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            kv[k] = v
    return kv


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    serial, tree = argv[1], argv[2]
    stat = argv[4] if len(argv) > 4 and argv[3] == "--stat" else None
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        print("%s: %s" % ("ok" if ok else "FAIL", what))
        if ok:
            passed += 1
        else:
            failed += 1
        return ok

    text = open(serial, "rb").read().decode("utf-8", "replace").replace("\r", "")
    files, final, inside = {}, {}, False
    for raw in text.splitlines():
        line = re.sub(r"^\[ *[0-9]+\.[0-9]+\] ", "", raw)
        if line.startswith("PKSV-STATS-TREE: begin"):
            inside, files = True, {}
        elif line.startswith("PKSV-STATS-TREE: end"):
            inside = False
        elif inside and line.startswith("PKSV-STATS-FILE: "):
            parts = line[len("PKSV-STATS-FILE: "):].split(" ", 1)
            if len(parts) == 2:
                files[parts[0]] = parts[1].strip()
        m = re.search(r"pksvisor: stats (vcpu=([0-9]+) .*)$", line)
        if m:
            final[int(m.group(2))] = parse(m.group(1))

    if not check(files, "guest dumped its debugfs tree (%d vCPU file(s))" % len(files)):
        print("%d passed, %d failed" % (passed, failed))
        return 1
    for d, line in sorted(files.items()):
        os.makedirs(os.path.join(tree, d), exist_ok=True)
        with open(os.path.join(tree, d, "stats"), "w") as f:
            f.write(line + "\n")

    sums = {"exits": 0, "hypercalls": 0}
    for d, line in sorted(files.items()):
        g = parse(line)
        n = d[len("vcpu"):] if d.startswith("vcpu") else "?"
        check(g.get("vcpu") == n, "%s: vcpu=%s matches the directory" % (d, g.get("vcpu")))
        fin = final.get(int(n)) if n.isdigit() else None
        if not check(fin is not None, "%s: pksvisor printed a stats line for vCPU %s" % (d, n)):
            continue
        check(g.get("backend") == fin.get("backend"),
              "%s: backend %s is pksvisor's (%s)" % (d, g.get("backend"), fin.get("backend")))
        nums = {k: int(v) for k, v in g.items() if k not in ("vcpu", "backend") and v.isdigit()}
        check(len(nums) == len(g) - 2, "%s: every counter is a decimal number" % d)
        missing = [k for k in nums if k not in fin]
        check(not missing, "%s: every key is in the power-off line%s" %
              (d, " (missing: %s)" % " ".join(missing) if missing else ""))
        grew = [k for k in nums if k in fin and k not in SNAPSHOT_KEYS and nums[k] > int(fin[k])]
        check(not grew, "%s: no counter above its power-off value%s" %
              (d, " (%s)" % " ".join("%s %d>%s" % (k, nums[k], fin[k]) for k in grew) if grew else ""))
        check(int(fin["exits"]) > nums.get("exits", -1),
              "%s: exits %s at the read < %s at power-off" % (d, nums.get("exits"), fin["exits"]))
        ex = sum(v for k, v in nums.items() if k.startswith("exit."))
        hc = sum(v for k, v in nums.items() if k.startswith("hc."))
        check(nums.get("exits") == ex, "%s: exits %s = sum of exit.* %d" % (d, nums.get("exits"), ex))
        check(nums.get("hypercalls") == hc, "%s: hypercalls %s = sum of hc.* %d" % (d, nums.get("hypercalls"), hc))
        check(nums.get("exits", 0) >= nums.get("hypercalls", 0) >= nums.get("hc.get_stats", 0) >= 1,
              "%s: exits %s >= hypercalls %s >= hc.get_stats %s >= 1" %
              (d, nums.get("exits"), nums.get("hypercalls"), nums.get("hc.get_stats")))
        sums["exits"] += nums.get("exits", 0)
        sums["hypercalls"] += nums.get("hypercalls", 0)

    if stat:
        r = subprocess.run([stat, "--sysfs", tree, "-b", "-n", "1"],
                           capture_output=True, text=True)
        check(r.returncode == 0, "pksvisor-stat --sysfs %s -b -n 1: exit status %d %s" %
              (tree, r.returncode, r.stderr.strip()[:200]))
        for k, v in sums.items():
            check(re.search(r"^ %s +%d +0 " % (re.escape(k), v), r.stdout, re.M) is not None,
                  "pksvisor-stat live shows %s %d for the tree" % (k, v))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
