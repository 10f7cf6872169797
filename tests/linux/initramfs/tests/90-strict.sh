#!/bin/sh
# pks_mode=strict: a PKS violation oopses.  Runs last: the oops kills the
# writer and leaves the test module's lock held.
D=/sys/kernel/debug/pks_test
echo "KTAP version 1"
echo "1..1"
if ! grep -q '^available: 1' /sys/kernel/debug/pks/keys 2>/dev/null; then
	echo "ok 1 strict_oops # SKIP PKS not supported by this CPU"
	exit 0
fi
echo "PKSV-GUEST: oops expected"
sh -c "echo strict_oops >$D/run" 2>/dev/null
sleep 1
log=$(dmesg)
if echo "$log" | grep -q 'PKS: key [0-9]* blocked a write .*pks_mode=strict' &&
	echo "$log" | grep -q 'BUG: unable to handle page fault' &&
	echo "$log" | grep -q 'Oops:'; then
	echo "ok 1 strict_oops # oopsed: $(echo "$log" | grep -m1 'PKS: key')"
else
	echo "not ok 1 strict_oops # no PKS oops in dmesg"
fi
echo "PKSV-GUEST: oops done"
