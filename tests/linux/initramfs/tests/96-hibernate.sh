#!/bin/sh
# PKRS after S4 (hibernation): the image is written to a swap area on the
# virtio disk /dev/vda and the machine powers off; a second boot with
# resume=/dev/vda restores it and this very shell continues after the
# "echo disk": every CPU must then run with the default PKRS
# (lib/test_pks.c defaults_all_cpus).  The restored CPUs come out of the
# restore kernel and the resume path (syscore resume, CPU bring-up), not
# out of a normal boot.  Runs only when pksv_tests= names "hibernate"
# (tests/linux/run-tests.sh does, on QEMU, as two boots: run-qemu.sh
# --hibernating, then --resumed-from).  The resumed boot also passes
# pksv_s4=resume: if this runner starts there, the image was not restored.
D=/sys/kernel/debug/pks_test
case " $(cat /proc/cmdline) " in
*" pksv_tests="*hibernate*) ;;
*) echo "PKSV-GUEST: hibernate runner not selected (pksv_tests= must name it)"; exit 0 ;;
esac
echo "KTAP version 1"
echo "1..1"
case " $(cat /proc/cmdline) " in
*" pksv_s4=resume "*)
	echo "not ok 1 hibernate_resume # booted afresh: the S4 image was not restored"
	exit 0 ;;
esac
if ! grep -q '^available: 1' /sys/kernel/debug/pks/keys 2>/dev/null; then
	echo "ok 1 hibernate_resume # SKIP PKS not supported by this CPU"
	exit 0
fi
if ! grep -qw disk /sys/power/state 2>/dev/null; then
	echo "not ok 1 hibernate_resume # no S4 (/sys/power/state: $(cat /sys/power/state 2>/dev/null))"
	exit 0
fi
if [ ! -b /dev/vda ]; then
	echo "not ok 1 hibernate_resume # no /dev/vda for the swap area"
	exit 0
fi
if ! mkswap /dev/vda >/dev/null 2>&1 || ! swapon /dev/vda; then
	echo "not ok 1 hibernate_resume # mkswap/swapon /dev/vda failed"
	exit 0
fi
# "shutdown": power off once the image is written (no ACPI S4 state)
echo shutdown >/sys/power/disk
token=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$token" >/tmp/s4-token
echo "PKSV-GUEST: hibernating (token $token)"
if ! echo disk >/sys/power/state; then
	echo "not ok 1 hibernate_resume # echo disk >/sys/power/state failed: $(dmesg | grep -i 'PM: ' | tail -n1)"
	exit 0
fi
# Here only after the restore: writing the image ends in a power-off.
swapoff /dev/vda 2>/dev/null
echo defaults_all_cpus >$D/run
r=$(cat $D/result)
if [ "$(cat /tmp/s4-token)" != "$token" ]; then
	echo "not ok 1 hibernate_resume # the tmpfs token changed across S4"
elif [ "$r" = ok ]; then
	echo "ok 1 hibernate_resume # S4 image on /dev/vda restored, defaults on every CPU"
else
	echo "not ok 1 hibernate_resume # ${r#fail }"
fi
