#!/bin/sh
# pks_mode=strict: a PKS violation oopses, also inside an MCE-safe copy
# (copy_mc_to_kernel() must not turn a missing grant into "bytes not
# copied").  The test module makes each violation in a kthread of its own,
# so the oops kills that kthread; the module restores the mode, frees the
# key and stays usable, which the last case checks by running key_rw again.
D=/sys/kernel/debug/pks_test
echo "KTAP version 1"
echo "1..3"
if ! grep -q '^available: 1' /sys/kernel/debug/pks/keys 2>/dev/null; then
	echo "ok 1 strict_oops # SKIP PKS not supported by this CPU"
	echo "ok 2 strict_copy_mc # SKIP PKS not supported by this CPU"
	echo "ok 3 strict_then_usable # SKIP PKS not supported by this CPU"
	exit 0
fi
echo "PKSV-GUEST: oops expected"
i=0
for c in strict_oops strict_copy_mc; do
	i=$((i + 1))
	n0=$(dmesg | grep -c 'Oops:')
	echo $c >$D/run
	r=$(cat $D/result)
	# The oops made the console verbose (console_verbose()): back to the
	# quiet level, or the module's pr_info lines land in the middle of the
	# KTAP lines the harness compares.
	echo 4 >/proc/sys/kernel/printk
	n1=$(dmesg | grep -c 'Oops:')
	# The oops must show the violating context's PKRS, not the handler's.
	pkrs=$(echo "$r" | sed -n 's/.*context PKRS \([0-9a-f]*\).*/\1/p')
	case "$r" in
	ok*)
		if [ "$n1" -le "$n0" ] ||
			! dmesg | grep -q 'PKS: key [0-9]* blocked a .*pks_mode=strict'; then
			echo "not ok $i $c # module says ok but no new Oops in dmesg"
		elif ! dmesg | awk -v n="$n0" '/Oops:/ { c++ } c > n' |
			grep -q "PKRS: $pkrs (faulting context"; then
			echo "not ok $i $c # the oops does not show the context's PKRS $pkrs: $(dmesg | grep 'PKRS:' | tail -n1)"
		else
			echo "ok $i $c # ${r#ok # }"
		fi ;;
	skip*) echo "ok $i $c # SKIP ${r#skip }" ;;
	*) echo "not ok $i $c # ${r#fail }" ;;
	esac
done
echo "PKSV-GUEST: oops done"
echo key_rw >$D/run
r=$(cat $D/result)
if [ "$r" = ok ] && [ "$(cat /sys/kernel/pks/mode)" != strict ]; then
	echo "ok 3 strict_then_usable # key_rw passes after the oopses, mode $(cat /sys/kernel/pks/mode)"
else
	echo "not ok 3 strict_then_usable # key_rw: $r, mode $(cat /sys/kernel/pks/mode)"
fi
