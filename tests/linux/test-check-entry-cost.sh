#!/bin/bash
# Test of the judge tests/linux/check-entry-cost.py: it must pass a kernel
# whose PKS entry work sits behind a static-key NOP and fail one that calls
# into PKS code or writes an MSR on the PKS-off path.
#
#   tests/linux/test-check-entry-cost.sh
#
# Builds small ELF images (as + ld) with the functions the judge walks:
#   good        every PKS call is behind a 5-byte NOP (a static key that is
#               off at build time) and so unreachable: exit 0
#   call        irqentry_enter calls pks_irq_enter unconditionally: exit 1
#   wrmsr       exc_page_fault reaches a WRMSR through a conditional
#               branch: exit 1
#   tail        __switch_to tail-jumps to pks_switch_to: exit 1
#   aux         a static_cpu_has()-style jump to .altinstr_aux whose test
#               jumps back to a PKS call: exit 1
#   missing     no irqentry_exit: exit 2
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JUDGE=$HERE/check-entry-cost.py
TMP=$(mktemp -d /tmp/check-entry-cost.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
ROOTS="irqentry_enter irqentry_exit irqentry_nmi_enter irqentry_nmi_exit
irqentry_exit_to_user_mode syscall_exit_to_user_mode exc_page_fault __switch_to"

# fn NAME BODY: a global function with a size (nm -S needs it).
fn() {
	printf '\t.globl %s\n\t.type %s, @function\n%s:\n%s\n\t.size %s, .-%s\n' \
		"$1" "$1" "$1" "$2" "$1" "$1"
}
# The PKS work behind a static key that is off: NOP, return, then the
# out-of-line part that only a patched jump would reach.
GUARDED='	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00
	ret
	call pks_irq_enter
	wrmsr
	ret'

image() {	# image NAME SKIP-ROOT OVERRIDE-ROOT OVERRIDE-BODY
	local name=$1 skip=$2 oroot=$3 obody=$4 r
	{
		echo '	.text'
		for r in $ROOTS; do
			[ "$r" = "$skip" ] && continue
			if [ "$r" = "$oroot" ]; then fn "$r" "$obody"; else fn "$r" "$GUARDED"; fi
		done
		for r in pks_irq_enter pks_switch_to pks_setup_cpu; do fn "$r" '	ret'; done
		fn _start '	ret'
		# A static_cpu_has() test in .altinstr_aux that jumps back.
		[ "$name" = aux ] && printf '%s\n' '	.section .altinstr_aux, "ax"' \
			'aux_test:' '	testb $1, 0x10(%rip)' '	jnz aux_back' '	ret'
	} >"$TMP/$name.s"
	as --64 -o "$TMP/$name.o" "$TMP/$name.s"
	ld -o "$TMP/$name" "$TMP/$name.o"
}

image good "" "" ""
image call "" irqentry_enter '	call pks_irq_enter
	ret'
image wrmsr "" exc_page_fault '	test %eax, %eax
	jne 1f
	ret
1:	wrmsr
	ret'
image tail "" __switch_to '	jmp pks_switch_to'
image aux "" irqentry_nmi_exit '	jmp aux_test
	.globl aux_back
aux_back:
	call pks_irq_enter
	ret'
image missing irqentry_exit "" ""

fails=0
expect() {	# expect NAME STATUS PATTERN
	local out rc=0
	out=$(python3 "$JUDGE" "$TMP/$1" 2>&1) || rc=$?
	if [ $rc -eq "$2" ] && grep -qE -- "$3" <<<"$out"; then
		echo "test-check-entry-cost: $1: exit $rc as expected"
	else
		echo "test-check-entry-cost: FAIL: $1: exit $rc (want $2, /$3/):"; echo "$out"
		fails=$((fails + 1))
	fi
}
expect good 0 'no PKS call and no WRMSR'
expect call 1 'irqentry_enter\+0x0: call pks_irq_enter'
expect wrmsr 1 'exc_page_fault\+0x[0-9a-f]+: wrmsr'
expect tail 1 '__switch_to\+0x0: tail-jump pks_switch_to'
expect aux 1 'irqentry_nmi_exit\(\.altinstr_aux 0x[0-9a-f]+\): |irqentry_nmi_exit\+0x[0-9a-f]+: call pks_irq_enter'
expect missing 2 'no function irqentry_exit'
[ $fails -eq 0 ] && echo "test-check-entry-cost: all cases passed" || exit 1
