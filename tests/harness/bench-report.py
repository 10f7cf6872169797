#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
"""bench-report.py: the `make bench` report (docs/benchmarks.md).

    bench-report.py --soft SOFT_BENCH_TXT --hw HW_BENCH_TXT --out DIR [--no-png]
                    [--linux LINUX_DIR [--linux-short]]

Reads the PKSV-BENCH lines of run-bench.sh soft (Bochs 2.7 tigerlake,
pks=soft) and run-bench.sh hw (patched upstream Bochs sapphire_rapids,
pks=hw), prints a table of VM exits per operation side by side, writes
DIR/bench.csv and DIR/bench.png (matplotlib, Debian python3-matplotlib)
and checks every exit count against its bound.  With --linux, the Linux
guest's numbers of run-linux-bench.sh too (bench_linux.py: exits per
kernel operation, workload and boot ratios to native; DIR/bench-linux.csv).
Exit status 0 when all bounds hold, 1 when one is broken or a line is
missing, 2 on usage errors.
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--soft", required=True)
    ap.add_argument("--hw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-png", action="store_true")
    ap.add_argument("--linux", metavar="DIR",
                    help="run-linux-bench.sh output (native.txt, off.txt, wrmsr.txt, vmfunc.txt)")
    ap.add_argument("--linux-short", action="store_true",
                    help="only wrmsr.txt and vmfunc.txt are required (the invariants)")
    try:
        args = ap.parse_args()
    except SystemExit:
        return 2
    for p in (args.soft, args.hw):
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
