// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-workload dax FILE N | blk DEVICE N: the guest workload of make bench.
 *
 *   dax: 4 KiB pwrite()s, then 4 KiB pread()s, to a file on a DAX-mounted
 *        filesystem (every one goes through dax_iomap_rw(), which opens the
 *        pgmap key around the copy: two PKRS switches per call);
 *   blk: the same with O_DIRECT on a pmem block device (pmem_submit_bio()
 *        opens the key around each bio).
 *
 * N calls each, cycling over 64 pages (allocated by a first, untimed
 * pass).  Prints "PKSV-WORKLOAD: <kind>_<write|read>_4k n=N tsc_per_op=T"
 * per phase: TSC ticks per call, which in Bochs with clock: sync=none are
 * emulated instructions (guest and pksvisor).  Under pksvisor the line
 * also gives "exits_per_op=E" from the test module's counter file
 * (EXITS below: each read is a system call and a hypercall, whose own
 * exits are measured and subtracted).  Exit status 1 on any failed or
 * short call.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE	4096
#define PAGES	64
#define EXITS	"/sys/kernel/debug/pks_test/pksv_exits"

/* pksvisor's VM-exit count for this vCPU, -1 without pksvisor. */
static long exits(void)
{
	char buf[32];
	long n = -1;
	int fd = open(EXITS, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		n = atol(buf);
	close(fd);
	return n;
}

static unsigned long long tsc(void)
{
	unsigned int lo, hi;

	__asm__ volatile("rdtsc" : "=a" (lo), "=d" (hi));
	return (unsigned long long)hi << 32 | lo;
}

static int pass(int fd, char *buf, long n, int write, const char *kind)
{
	long e0 = exits(), cal = exits() - e0, i;
	unsigned long long t0;

	e0 = exits();
	t0 = tsc();

	for (i = 0; i < n; i++) {
		off_t off = (off_t)(i % PAGES) * PAGE;
		ssize_t r = write ? pwrite(fd, buf, PAGE, off) : pread(fd, buf, PAGE, off);

		if (r != PAGE) {
			printf("PKSV-WORKLOAD: %s_%s_4k failed at call %ld (%zd)\n",
			       kind, write ? "write" : "read", i, r);
			return 1;
		}
	}
	if (n > 0) {
		unsigned long long t = (tsc() - t0) / n;
		long e = exits() - e0 - cal;

		printf("PKSV-WORKLOAD: %s_%s_4k n=%ld tsc_per_op=%llu", kind,
		       write ? "write" : "read", n, t);
		if (e0 >= 0)
			printf(" exits_per_op=%ld.%02ld", e / n, e * 100 / n % 100);
		printf("\n");
	}
	return 0;
}

int main(int argc, char **argv)
{
	int blk, fd, i;
	char *buf;
	long n;

	if (argc != 4 || (strcmp(argv[1], "dax") && strcmp(argv[1], "blk"))) {
		fprintf(stderr, "usage: pksv-workload dax FILE N | blk DEVICE N\n");
		return 2;
	}
	blk = !strcmp(argv[1], "blk");
	n = atol(argv[3]);
	fd = open(argv[2], blk ? O_RDWR | O_DIRECT : O_RDWR | O_CREAT, 0644);
	if (fd < 0 || posix_memalign((void **)&buf, PAGE, PAGE)) {
		printf("PKSV-WORKLOAD: %s: cannot open %s\n", argv[1], argv[2]);
		return 1;
	}
	memset(buf, 0x6b, PAGE);
	/* Untimed: allocate the file's blocks, warm the caches. */
	for (i = 0; i < PAGES; i++)
		if (pwrite(fd, buf, PAGE, (off_t)i * PAGE) != PAGE) {
			printf("PKSV-WORKLOAD: %s: first pass failed at page %d\n",
			       argv[1], i);
			return 1;
		}
	if (pass(fd, buf, n, 1, argv[1]) || pass(fd, buf, n, 0, argv[1]))
		return 1;
	close(fd);
	return 0;
}
