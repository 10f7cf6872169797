#!/bin/sh
# SPDX-License-Identifier: MIT
# Check that vmm/exit.c's exit_handlers[] has an entry for every exit reason
# pksvisor must handle, and that vmm/vmx.h numbers them as the SDM does
# (Vol. 3D Appendix C).  vmm/exit.c uses VMX instructions and cannot be
# linked on the host, so this is a text check; test_exit_table.c checks the
# same list against the exit-reason names of vmm/stats.c.
# Usage: check_exit_table.sh [TOP]   (TOP = repository root, default ../..)
top=${1:-../..}
exit_c=$top/vmm/exit.c
vmx_h=$top/vmm/vmx.h
fail=0
n=0

for f in "$exit_c" "$vmx_h"; do
	if [ ! -r "$f" ]; then
		echo "check_exit_table: FAIL: cannot read $f"
		exit 1
	fi
done

# name number
while read -r name nr; do
	[ -n "$name" ] || continue
	n=$((n + 1))
	if ! grep -Eq "^[[:space:]]*$name[[:space:]]*=[[:space:]]*$nr[[:space:]]*," "$vmx_h"; then
		echo "check_exit_table: FAIL: vmm/vmx.h does not define $name = $nr"
		fail=1
	fi
	if ! grep -Eq "^[[:space:]]*\[$name\][[:space:]]*=[[:space:]]*handle_[a-z0-9_]+[[:space:]]*,?[[:space:]]*$" "$exit_c"; then
		echo "check_exit_table: FAIL: vmm/exit.c exit_handlers[] has no handler for $name ($nr)"
		fail=1
	fi
done <<'LIST'
EXIT_EXCEPTION_NMI 0
EXIT_TRIPLE_FAULT 2
EXIT_INIT 3
EXIT_SIPI 4
EXIT_TASK_SWITCH 9
EXIT_CPUID 10
EXIT_GETSEC 11
EXIT_INVD 13
EXIT_VMCALL 18
EXIT_VMCLEAR 19
EXIT_VMLAUNCH 20
EXIT_VMPTRLD 21
EXIT_VMPTRST 22
EXIT_VMREAD 23
EXIT_VMRESUME 24
EXIT_VMWRITE 25
EXIT_VMXOFF 26
EXIT_VMXON 27
EXIT_CR_ACCESS 28
EXIT_IO 30
EXIT_RDMSR 31
EXIT_WRMSR 32
EXIT_MTF 37
EXIT_EPT_VIOLATION 48
EXIT_EPT_MISCONFIG 49
EXIT_INVEPT 50
EXIT_INVVPID 53
EXIT_XSETBV 55
LIST

# Each reason at most once in the table (a duplicate designated
# initializer silently overrides the first).
dups=$(grep -Eo '^[[:space:]]*\[EXIT_[A-Z0-9_]+\]' "$exit_c" | tr -d ' \t' | sort | uniq -d)
if [ -n "$dups" ]; then
	echo "check_exit_table: FAIL: duplicate entries in exit_handlers[]: $dups"
	fail=1
fi

if [ "$fail" -ne 0 ]; then
	echo "check_exit_table: FAILED"
	exit 1
fi
echo "check_exit_table: $n required exit reasons have handlers in vmm/exit.c"
