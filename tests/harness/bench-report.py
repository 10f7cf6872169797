#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
"""bench-report.py: the `make bench` report (docs/benchmarks.md).

    bench-report.py --soft SOFT_BENCH_TXT --hw HW_BENCH_TXT --out DIR [--no-png]
                    [--native NATIVE_BENCH_TXT] [--memory MEMORY_TXT...]
                    [--linux LINUX_DIR [--linux-short]]

Reads the PKSV-BENCH lines of run-bench.sh soft (Bochs 2.7 tigerlake,
pks=soft) and run-bench.sh hw (patched upstream Bochs sapphire_rapids,
pks=hw), prints a table of VM exits per operation side by side, writes
DIR/bench.csv and DIR/bench.png (matplotlib, Debian python3-matplotlib)
and checks every exit count against its bound.  Exit status 0 when all
bounds hold, 1 when one is broken or a line is missing, 2 on usage errors.

With --native (run-bench.sh native: the same app in Bochs 2.7 without
pksvisor) it also prints pksvisor instructions per hot exit under
pks=soft = (TSC per op under pksvisor - TSC per op native) / (TSC per
instruction from the native calibration loop), writes DIR/instructions.csv,
reports each against the issue's target and fails when one exceeds its
regression ceiling (INSTRUCTION_BOUNDS).  With --memory (run-bench.sh's
memory.txt of runs at several guest sizes) it prints pksvisor's resident
memory and the EPT memory per view, writes DIR/memory.csv and fails when
a view costs more than VIEW_EXTRA_KIB over the base EPT.

With --linux, the Linux guest's numbers of run-linux-bench.sh too
(bench_linux.py: exits per kernel operation, workload and boot ratios to
native; DIR/bench-linux.csv).
"""
import argparse
import csv
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_linux  # noqa: E402

# (operation, label, bound under soft, bound under hw); None: the backend
# has no such operation (it must say "unsupported").  The bounds are the
# invariants of run-bench.sh: equal, not "at most", because any change
# means pksvisor changed how it handles the operation.
OPERATIONS = [
    ("pkrs_wrmsr", "PKRS switch by WRMSR", 1.0, 0.0),
    ("pkrs_vmfunc", "PKRS switch by VMFUNC", 0.0, None),
    ("pkrs_rdmsr", "RDMSR PKRS", 1.0, 0.0),
    ("unprotect_protect_pair", "UNPROTECT+PROTECT pair", 2.0, 2.0),
    ("unprotect_page", "UNPROTECT_PAGE alone", 1.0, 1.0),
    ("protect_page", "PROTECT_PAGE alone", 1.0, 1.0),
    ("pk_fault", "PK fault (#PF injected)", 1.0, 1.0),
    ("cpuid", "CPUID (reference)", 1.0, 1.0),
    ("hypercall_nop", "hypercall NOP (reference)", 1.0, 1.0),
    ("empty_loop", "empty loop (sanity)", 0.0, 0.0),
]

LINE = re.compile(r"^PKSV-BENCH: ([a-z_]+) exits_per_op=([-0-9.]+) n=(\d+) tsc_per_op=(\d+)")
UNSUPPORTED = re.compile(r"^PKSV-BENCH: ([a-z_]+) unsupported")


def parse(path):
    """{op: (exits_per_op, tsc_per_op) or 'unsupported'}"""
    ops = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            m = LINE.match(line)
            if m:
                ops[m.group(1)] = (float(m.group(2)), int(m.group(4)))
                continue
            m = UNSUPPORTED.match(line)
            if m:
                ops[m.group(1)] = "unsupported"
    return ops


def check(op, got, bound, backend, problems):
    if bound is None:
        if got != "unsupported":
            problems.append(f"{backend} {op}: {got!r}, want unsupported")
        return "n/a"
    if got is None or got == "unsupported":
        problems.append(f"{backend} {op}: {'missing' if got is None else 'unsupported'}, want {bound:.2f}")
        return "MISSING"
    if abs(got[0] - bound) > 0.005:
        problems.append(f"{backend} {op}: {got[0]:.2f} exits per op, want {bound:.2f}")
        return "BROKEN"
    return "ok"


def fmt(got):
    if got is None:
        return "-"
    if got == "unsupported":
        return "n/a"
    return f"{got[0]:.2f}"


def chart(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r["label"] for r in rows]
    soft = [r["soft_exits"] if r["soft_exits"] != "" else 0 for r in rows]
    hw = [r["hw_exits"] if r["hw_exits"] != "" else 0 for r in rows]
    x = range(len(rows))
    width = 0.38
    fig, ax = plt.subplots(figsize=(10, 4.8))
    b1 = ax.bar([i - width / 2 for i in x], soft, width, label="pks=soft (Bochs 2.7 tigerlake)")
    b2 = ax.bar([i + width / 2 for i in x], hw, width, label="pks=hw (upstream Bochs sapphire_rapids)")
    for bars, col in ((b1, "soft_exits"), (b2, "hw_exits")):
        for bar, r in zip(bars, rows):
            text = "n/a" if r[col] == "" else f"{r[col]:.2f}"
            ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("VM exits per operation")
    ax.set_title("pksvisor: VM exits per guest operation (make bench)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---- pksvisor instructions per hot exit (--native) -----------------------
# (operation, label, target from the issue or None, regression ceiling).
# The target is reported (met / MISSED, docs/benchmarks.md says why and
# what would close it); the ceiling is asserted: about 15 % above the
# measured value, so that a change making a hot exit noticeably dearer
# fails make bench.
INSTRUCTION_BOUNDS = [
    ("cpuid", "CPUID exit", None, 284),
    ("hypercall_nop", "hypercall (NOP)", 600, 297),
    ("pkrs_wrmsr", "PKRS write exit (soft)", 400, 397),
    ("pkrs_rdmsr", "PKRS read exit (soft)", None, 282),
    ("unprotect_page", "UNPROTECT_PAGE", 600, 481),
    ("protect_page", "PROTECT_PAGE", 600, 570),
    ("pk_fault", "PK fault exit (soft)", None, 1189),
]

NATIVE_LINE = re.compile(r"^PKSV-BENCH: native ([a-z_]+) n=(\d+) tsc_per_op=(\d+)")
CALIBRATE = re.compile(r"^PKSV-BENCH: native calibrate instructions=(\d+) tsc=(\d+)")


def parse_native(path):
    """({op: tsc_per_op}, tsc per instruction or None)"""
    ops, per_insn = {}, None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            m = NATIVE_LINE.match(line)
            if m:
                ops[m.group(1)] = int(m.group(3))
                continue
            m = CALIBRATE.match(line)
            if m and int(m.group(1)) > 0:
                per_insn = int(m.group(2)) / int(m.group(1))
    return ops, per_insn


def instructions_report(soft, native_path, out_dir, problems):
    """Print and write pksvisor instructions per hot exit; add broken ceilings."""
    native, per_insn = parse_native(native_path)
    if per_insn is None or not 0.5 <= per_insn <= 2.0:
        problems.append(f"native: calibration missing or implausible ({per_insn!r} TSC per instruction)")
        return
    print()
    print(f"pksvisor instructions per operation (pks=soft, Bochs 2.7; "
          f"native calibration {per_insn:.4f} TSC per instruction)")
    print(f"{'operation':<26} {'TSC pksv':>8} {'native':>6} {'instr':>6} {'target':>6} {'ceiling':>7}  check")
    rows = []
    for op, label, target, ceiling in INSTRUCTION_BOUNDS:
        got, base = soft.get(op), native.get(op)
        if not isinstance(got, tuple) or base is None:
            problems.append(f"instructions {op}: {'pksvisor' if not isinstance(got, tuple) else 'native'} line missing")
            continue
        insns = round((got[1] - base) / per_insn)
        verdict = "ok" if insns <= ceiling else "BROKEN"
        if insns > ceiling:
            problems.append(f"instructions {op}: {insns} pksvisor instructions, ceiling {ceiling}")
        goal = "-" if target is None else ("met" if insns <= target else "MISSED")
        print(f"{label:<26} {got[1]:>8} {base:>6} {insns:>6} {target if target else '-':>6} {ceiling:>7}  {verdict} (target {goal})")
        rows.append({"operation": op, "label": label, "tsc_pksvisor": got[1], "tsc_native": base,
                     "instructions": insns, "target": "" if target is None else target,
                     "target_met": "" if target is None else insns <= target,
                     "ceiling": ceiling, "check": verdict})
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "instructions.csv")
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["operation", "label", "tsc_pksvisor", "tsc_native",
                                          "instructions", "target", "target_met", "ceiling", "check"])
        w.writeheader()
        w.writerows(rows)
    print(f"bench-report: {path}", file=sys.stderr)
# ---- end of pksvisor instructions per hot exit ----------------------------


# ---- pksvisor memory per guest size (--memory) ----------------------------
# run-bench.sh's memory.txt: "megs=N keyed_mib=K pksvisor: memory
# reserved_kib=.. used_kib=.. base_ept_kib=.. views=.. view_ept_kib=..
# max_view_ept_kib=..", taken after the app keyed its largest free RAM
# region (key 2) and built a view restricting it.  Bound: that view costs
# at most VIEW_EXTRA_KIB over the clone of the base EPT (4 edge tables
# for each of the two keyed ranges the app registered; a view splitting
# the range to 4 KiB would cost 2 KiB per MiB keyed).
VIEW_EXTRA_KIB = 32
MEMORY = re.compile(r"^megs=(\d+) keyed_mib=(\d+) pksvisor: memory (.*)$")


def memory_report(paths, out_dir, problems):
    """Print and write pksvisor's memory per guest size; add broken bounds."""
    rows = []
    for path in paths:
        line = ""
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                line = f.readline().strip()
        m = MEMORY.match(line)
        if not m:
            problems.append(f"memory: {path}: no pksvisor memory line")
            continue
        kv = dict(p.split("=", 1) for p in m.group(3).split())
        try:
            row = {"guest_mib": int(m.group(1)), "keyed_mib": int(m.group(2)),
                   **{k: int(kv[k]) for k in ("reserved_kib", "used_kib", "base_ept_kib",
                                              "views", "view_ept_kib", "max_view_ept_kib")}}
        except (KeyError, ValueError):
            problems.append(f"memory: {path}: incomplete line {line!r}")
            continue
        extra = row["max_view_ept_kib"] - row["base_ept_kib"]
        row["check"] = "ok" if extra <= VIEW_EXTRA_KIB else "BROKEN"
        if extra > VIEW_EXTRA_KIB:
            problems.append(f"memory: guest {row['guest_mib']} MiB: a view costs {extra} KiB over "
                            f"the base EPT, bound {VIEW_EXTRA_KIB}")
        rows.append(row)
    if not rows:
        return
    print()
    print("pksvisor memory (pks=soft, Bochs 2.7; the largest free RAM region keyed, key 2)")
    print(f"{'guest MiB':>9} {'keyed MiB':>9} {'reserved KiB':>12} {'used KiB':>8} "
          f"{'base EPT KiB':>12} {'largest view KiB':>16} {'4K split KiB':>12}  check")
    for r in rows:
        print(f"{r['guest_mib']:>9} {r['keyed_mib']:>9} {r['reserved_kib']:>12} {r['used_kib']:>8} "
              f"{r['base_ept_kib']:>12} {r['max_view_ept_kib']:>16} {r['keyed_mib'] * 2:>12}  {r['check']}")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "memory.csv")
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    print(f"bench-report: {path}", file=sys.stderr)
# ---- end of pksvisor memory per guest size --------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--soft", required=True)
    ap.add_argument("--hw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-png", action="store_true")
    ap.add_argument("--native", help="run-bench.sh native output: pksvisor instructions per exit")
    ap.add_argument("--memory", nargs="+", default=[],
                    help="run-bench.sh memory.txt files: pksvisor memory per guest size")
    ap.add_argument("--linux", metavar="DIR",
                    help="run-linux-bench.sh output (native.txt, off.txt, wrmsr.txt, vmfunc.txt)")
    ap.add_argument("--linux-short", action="store_true",
                    help="only wrmsr.txt and vmfunc.txt are required (the invariants)")
    try:
        args = ap.parse_args()
    except SystemExit:
        return 2
    for p in (args.soft, args.hw) + ((args.native,) if args.native else ()):
        if not os.path.isfile(p):
            print(f"bench-report: {p}: no such file", file=sys.stderr)
            return 1
    soft, hw = parse(args.soft), parse(args.hw)
    problems = []
    rows = []
    for op, label, soft_bound, hw_bound in OPERATIONS:
        s, h = soft.get(op), hw.get(op)
        rows.append({
            "operation": op, "label": label,
            "soft_exits": s[0] if isinstance(s, tuple) else "",
            "soft_tsc": s[1] if isinstance(s, tuple) else "",
            "soft_bound": "" if soft_bound is None else soft_bound,
            "soft_check": check(op, s, soft_bound, "soft", problems),
            "hw_exits": h[0] if isinstance(h, tuple) else "",
            "hw_tsc": h[1] if isinstance(h, tuple) else "",
            "hw_bound": "" if hw_bound is None else hw_bound,
            "hw_check": check(op, h, hw_bound, "hw", problems),
        })

    print(f"{'operation':<28} {'soft exits':>10} {'hw exits':>9} {'soft TSC':>9} {'hw TSC':>7}  check")
    for r, (op, _, _, _) in zip(rows, OPERATIONS):
        check_text = "ok" if r["soft_check"] in ("ok", "n/a") and r["hw_check"] in ("ok", "n/a") \
            else f"soft {r['soft_check']}, hw {r['hw_check']}"
        print(f"{r['label']:<28} {fmt(soft.get(op)):>10} {fmt(hw.get(op)):>9} "
              f"{r['soft_tsc']!s:>9} {r['hw_tsc']!s:>7}  {check_text}")

    os.makedirs(args.out, exist_ok=True)
    csv_path = os.path.join(args.out, "bench.csv")
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    print(f"bench-report: {csv_path}", file=sys.stderr)
    if not args.no_png:
        png_path = os.path.join(args.out, "bench.png")
        chart(rows, png_path)
        print(f"bench-report: {png_path}", file=sys.stderr)

    if args.native:
        instructions_report(soft, args.native, args.out, problems)
    if args.memory:
        memory_report(args.memory, args.out, problems)
    if args.linux:
        runs = {}
        for cfg in bench_linux.CONFIGS:
            path = os.path.join(args.linux, f"{cfg}.txt")
            if os.path.isfile(path):
                runs[cfg] = bench_linux.parse(path)
        linux_rows = bench_linux.report(runs, problems, short=args.linux_short)
        linux_csv = os.path.join(args.out, "bench-linux.csv")
        with open(linux_csv, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=["section", "item", "config", "value", "tsc", "bound", "check"])
            w.writeheader()
            w.writerows(linux_rows)
        print(f"bench-report: {linux_csv}", file=sys.stderr)
        if not args.no_png and not args.linux_short:
            linux_png = os.path.join(args.out, "bench-linux.png")
            bench_linux.chart(linux_rows, linux_png)
            print(f"bench-report: {linux_png}", file=sys.stderr)

    for p in problems:
        print(f"bench-report: BOUND: {p}", file=sys.stderr)
    if problems:
        print(f"bench-report: FAILED ({len(problems)} bounds broken)", file=sys.stderr)
        return 1
    print("bench-report: every bound holds", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
