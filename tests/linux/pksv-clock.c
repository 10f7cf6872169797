// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-clock LABEL: print "PKSV-CLOCK: LABEL tsc=<TSC> monotonic_ns=<ns>"
 * and, under pksvisor, " exits=<VM exits so far>" (lib/test_pks.c's
 * debugfs counter; debugfs is mounted by /init before).
 *
 * /init runs it first thing, so that make bench can compare the boot to
 * guest user space with and without pksvisor.  In Bochs with
 * `clock: sync=none` (tests/harness/run-bochs.sh) the TSC advances about
 * one tick per emulated instruction from power-on, firmware and pksvisor
 * included, and CLOCK_MONOTONIC counts emulated time from the kernel's
 * start: both are deterministic instruction counts, not wall time.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned int lo, hi;
	struct timespec ts;
	char buf[32];
	int fd;

	__asm__ volatile("rdtsc" : "=a" (lo), "=d" (hi));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("PKSV-CLOCK: %s tsc=%llu monotonic_ns=%llu",
	       argc > 1 ? argv[1] : "now",
	       (unsigned long long)hi << 32 | lo,
	       (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec);
	fd = open("/sys/kernel/debug/pks_test/pksv_exits", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		if (n > 0) {
			buf[n] = 0;
			if (atol(buf) >= 0)
				printf(" exits=%ld", atol(buf));
		}
		close(fd);
	}
	printf("\n");
	return 0;
}
