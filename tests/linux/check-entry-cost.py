#!/usr/bin/env python3
"""Check that the guest kernel's entry/exit paths cost nothing without PKS.

    tests/linux/check-entry-cost.py VMLINUX [--verbose]

Issue 11 item 7: on a CPU without PKS (or with pks_mode=off) interrupt,
exception, NMI and system-call entry/exit must not make an out-of-line call
into the PKS code and must not execute WRMSR: the PKS work sits behind the
`pks_enabled` static key.

How: a static key that is false at build time is a NOP in the image
(objtool turns the `jmp` of arch_static_branch() into a NOP; the kernel
only patches it into a jump when static_branch_enable() runs).  So the
instructions reachable from a function's entry in the *unpatched* vmlinux,
following both sides of every conditional branch, every direct jump and
the fall-through of every NOP, are everything the function can execute
while PKS is off.  On that graph this script fails if it finds

  - a WRMSR, or
  - a direct call or tail-jump to a function whose name matches PKS_CALLEE
    (pks_*, __pks_*, pgmap access helpers).

Functions named in FOLLOW are walked too when reached by a direct call (the
static helpers of kernel/entry/common.c the compiler may keep out of line).

Exit 0 when every path is clean, 1 on a finding (printed with the address
and the path of functions), 2 on a usage error or a missing function.
"""
import re
import subprocess
import sys

# The entry/exit functions of the generic entry code and the x86 handlers
# that carry PKS hooks.  All must exist in a CONFIG_X86_PKS kernel.
ROOTS = [
    "irqentry_enter",
    "irqentry_exit",
    "irqentry_nmi_enter",
    "irqentry_nmi_exit",
    "irqentry_exit_to_user_mode",
    "syscall_exit_to_user_mode",
    "exc_page_fault",
    "__switch_to",
]
# Out-of-line helpers the walk enters when a root calls them.
FOLLOW = {
    "exit_to_user_mode_prepare",
    "exit_to_user_mode_loop",
    "syscall_exit_to_user_mode_prepare",
    "irqentry_enter_from_user_mode",
    "exit_to_user_mode",
    "__syscall_exit_to_user_mode_work",
}
PKS_CALLEE = re.compile(r"^(__)?pks_|^pgmap_access|^__pgmap_access")

INSN = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")
TARGET = re.compile(r"^([0-9a-f]+)\s+<([^>+]+)(\+0x[0-9a-f]+)?>")
COND_JUMP = re.compile(r"^j(?!mp)[a-z]+$")


def symbols(vmlinux):
    """name -> (start, size) of every text symbol with a size."""
    out = subprocess.run(["nm", "-S", "--defined-only", vmlinux],
                         check=True, capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tT":
            syms.setdefault(parts[3], (int(parts[0], 16), int(parts[1], 16)))
    return syms


def disassemble(vmlinux, start, size):
    """address -> (mnemonic, operands) for [start, start + size)."""
    out = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", "-M", "att",
         "--start-address=%#x" % start, "--stop-address=%#x" % (start + size),
         vmlinux], check=True, capture_output=True, text=True).stdout
    insns = {}
    for line in out.splitlines():
        m = INSN.match(line)
        if not m:
            continue
        text = m.group(2).split("#")[0].strip()
        if not text or text.startswith("(bad)"):
            continue
        fields = text.split(None, 1)
        mnem = fields[0]
        ops = fields[1] if len(fields) > 1 else ""
        # Prefixes (lock, rep, cs, ds, notrack, bnd) precede the mnemonic.
        while mnem in ("lock", "rep", "repz", "repnz", "cs", "ds", "notrack", "bnd") and ops:
            fields = ops.split(None, 1)
            mnem = fields[0]
            ops = fields[1] if len(fields) > 1 else ""
        insns[int(m.group(1), 16)] = (mnem, ops)
    return insns


def section(vmlinux, name):
    """(start, size) of section @name, or None."""
    out = subprocess.run(["objdump", "-h", vmlinux], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) > 3 and f[1] == name:
            return int(f[3], 16), int(f[2], 16)
    return None


def walk(vmlinux, syms, aux, name, path, findings, seen_funcs, verbose):
    """Walk function @name; append (address, text, path) findings.

    @aux holds the decoded .altinstr_aux section: an unpatched
    static_cpu_has() jumps there, tests the feature bit and jumps back
    into the function, so the walk follows it like the function's own code.
    """
    if name in seen_funcs:
        return
    seen_funcs.add(name)
    start, size = syms[name]
    insns = disassemble(vmlinux, start, size)
    addrs = sorted(insns)
    nxt = {a: b for a, b in zip(addrs, addrs[1:] + [start + size])}
    insns.update(aux[0])
    nxt.update(aux[1])
    todo, seen = [start], set()
    while todo:
        addr = todo.pop()
        while addr in insns and addr not in seen:
            seen.add(addr)
            mnem, ops = insns[addr]
            where = ("%s+%#x" % (name, addr - start) if start <= addr < start + size
                     else "%s(.altinstr_aux %#x)" % (name, addr))
            tgt = TARGET.match(ops)
            if mnem == "wrmsr":
                findings.append((where, "wrmsr", path))
            if mnem.startswith("call") and tgt:
                callee = tgt.group(2)
                if PKS_CALLEE.search(callee):
                    findings.append((where, "call " + callee, path))
                elif callee in FOLLOW and callee in syms:
                    walk(vmlinux, syms, aux, callee, path + [callee], findings,
                         seen_funcs, verbose)
            if mnem.startswith("jmp"):
                if tgt and int(tgt.group(1), 16) in insns:
                    addr = int(tgt.group(1), 16)
                    continue
                if tgt and PKS_CALLEE.search(tgt.group(2)):
                    findings.append((where, "tail-jump " + tgt.group(2), path))
                break		# indirect jump, return thunk or tail call
            if mnem.startswith("ret") or mnem in ("ud2", "int3", "hlt", "iretq", "sysretq"):
                break
            if COND_JUMP.match(mnem) and tgt:
                t = int(tgt.group(1), 16)
                if t in insns:
                    todo.append(t)
            addr = nxt.get(addr)
    if verbose:
        print("check-entry-cost: %s: %d reachable instructions with PKS off"
              % (" -> ".join(path), len(seen)))


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("-")]
    verbose = "--verbose" in argv
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    vmlinux = args[0]
    try:
        syms = symbols(vmlinux)
    except (OSError, subprocess.CalledProcessError) as err:
        print("check-entry-cost: cannot read symbols of %s: %s" % (vmlinux, err),
              file=sys.stderr)
        return 2
    missing = [r for r in ROOTS if r not in syms]
    if missing:
        print("check-entry-cost: %s: no function %s" % (vmlinux, ", ".join(missing)),
              file=sys.stderr)
        return 2
    if "pks_setup_cpu" not in syms:
        print("check-entry-cost: %s is not a CONFIG_X86_PKS kernel" % vmlinux,
              file=sys.stderr)
        return 2
    aux_sec = section(vmlinux, ".altinstr_aux")
    aux_insns = disassemble(vmlinux, *aux_sec) if aux_sec else {}
    aux_addrs = sorted(aux_insns)
    aux = (aux_insns, dict(zip(aux_addrs, aux_addrs[1:] + [None])))
    findings, seen_funcs = [], set()
    for root in ROOTS:
        walk(vmlinux, syms, aux, root, [root], findings, seen_funcs, verbose)
    for where, what, path in findings:
        print("check-entry-cost: FAIL: %s: %s on the PKS-off path (%s)"
              % (where, what, " -> ".join(path)))
    if findings:
        return 1
    print("check-entry-cost: %d entry/exit functions, no PKS call and no WRMSR "
          "reachable with the pks_enabled static key off" % len(seen_funcs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
