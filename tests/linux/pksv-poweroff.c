// SPDX-License-Identifier: GPL-2.0
/*
 * pksv-poweroff: power the machine off in every emulator the guest runs in.
 *
 * Bochs 2.7 under OVMF has no ACPI tables, so Linux's ACPI power-off only
 * halts it; Bochs exits when the bytes of "Shutdown" are written one at a
 * time to its I/O port 0x8900.  QEMU ignores that port and powers off
 * through ACPI, which reboot(RB_POWER_OFF) triggers.  On real hardware
 * (under pksvisor) the port write is a no-op on an unused port.
 *
 * The last lines the init script echoed may still sit in the tty layer or
 * in the 8250's transmit FIFO: tcdrain() on the console waits until the
 * UART reports its transmitter empty.  Without it an emulator that stops at
 * the port write loses the tail of the log ("PKSV-GUEST: done" went missing
 * once on a 2-CPU run).
 *
 * Built with `gcc -static -Os` by build-initramfs.sh; needs
 * CONFIG_X86_IOPL_IOPERM for iopl(3).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/io.h>
#include <sys/reboot.h>
#include <termios.h>
#include <unistd.h>

/* Wait until everything written to the console left the UART. */
static void drain_console(void)
{
	int fd;

	fflush(NULL);
	tcdrain(STDOUT_FILENO);
	tcdrain(STDERR_FILENO);
	fd = open("/dev/console", O_WRONLY | O_NOCTTY);
	if (fd >= 0) {
		tcdrain(fd);
		close(fd);
	}
}

int main(void)
{
	static const char msg[] = "Shutdown";
	const char *p;

	sync();
	drain_console();
	if (iopl(3) == 0) {
		for (p = msg; *p; p++)
			outb((unsigned char)*p, 0x8900);
	} else {
		perror("pksv-poweroff: iopl");
	}
	reboot(RB_POWER_OFF);
	perror("pksv-poweroff: reboot");
	return 1;
}
