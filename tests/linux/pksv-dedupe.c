// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-dedupe: FIDEDUPERANGE of the first LEN bytes of SRC into DST.
 *
 *   pksv-dedupe SRC DST LEN
 *
 * Prints "same N" (N bytes deduplicated) or "differs" and exits 0, or
 * prints the error and exits 2.  busybox has no xfs_io; the tests use this
 * to drive the fsdax compare (dax_dedupe_file_range_compare()) on XFS.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct {
		struct file_dedupe_range r;
		struct file_dedupe_range_info info;
	} d;
	int src, dst;

	if (argc != 4) {
		fprintf(stderr, "usage: %s SRC DST LEN\n", argv[0]);
		return 2;
	}
	src = open(argv[1], O_RDONLY);
	dst = open(argv[2], O_RDWR);
	if (src < 0 || dst < 0) {
		fprintf(stderr, "pksv-dedupe: open: %s\n", strerror(errno));
		return 2;
	}
	memset(&d, 0, sizeof(d));
	d.r.src_offset = 0;
	d.r.src_length = strtoull(argv[3], NULL, 0);
	d.r.dest_count = 1;
	d.info.dest_fd = dst;
	d.info.dest_offset = 0;
	if (ioctl(src, FIDEDUPERANGE, &d) < 0) {
		fprintf(stderr, "pksv-dedupe: FIDEDUPERANGE: %s\n", strerror(errno));
		return 2;
	}
	if (d.info.status == FILE_DEDUPE_RANGE_DIFFERS) {
		printf("differs\n");
		return 0;
	}
	if (d.info.status != FILE_DEDUPE_RANGE_SAME) {
		printf("error %s\n", strerror(-d.info.status));
		return 2;
	}
	printf("same %llu\n", (unsigned long long)d.info.bytes_deduped);
	return 0;
}
