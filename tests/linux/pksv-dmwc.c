// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-dmwc: drive a dm-writecache target through the device-mapper
 * ioctls of <linux/dm-ioctl.h> (busybox has no dmsetup).
 *
 *   pksv-dmwc create NAME ORIGIN CACHE BLOCK_SIZE [OPTION...]
 *       DM_DEV_CREATE, DM_TABLE_LOAD of one "writecache p ORIGIN CACHE
 *       BLOCK_SIZE #OPTIONS OPTION..." target covering all of ORIGIN (the
 *       device cached) with the pmem CACHE in front of it, then
 *       DM_DEV_SUSPEND without DM_SUSPEND_FLAG (= resume: the table goes
 *       live).  Prints the device node devtmpfs made: /dev/dm-MINOR.
 *   pksv-dmwc message NAME TEXT   DM_TARGET_MSG (e.g. "flush": write back
 *                                  every cached block and wait for it)
 *   pksv-dmwc status NAME          DM_TABLE_STATUS; prints the target's
 *                                  status line (for writecache: error,
 *                                  blocks, free blocks, blocks under
 *                                  writeback, then the statistics)
 *   pksv-dmwc remove NAME          DM_DEV_REMOVE
 *
 * Exits 0, or prints the failing ioctl and errno and exits 2 (for create
 * the kernel's reason for refusing a table is in the kernel log).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define DMWC_CONTROL	"/dev/mapper/control"
#define DMWC_BUF_SIZE	16384

/* The ioctl buffer: the header, then the command's payload. */
static union {
	struct dm_ioctl io;
	char bytes[DMWC_BUF_SIZE];
} dmwc_buf;

static int dmwc_fd;

/* Fill the header for NAME; the payload starts right after it. */
static void dmwc_header(const char *name)
{
	memset(&dmwc_buf, 0, sizeof(dmwc_buf));
	dmwc_buf.io.version[0] = DM_VERSION_MAJOR;
	dmwc_buf.io.version[1] = 0;
	dmwc_buf.io.version[2] = 0;
	dmwc_buf.io.data_size = sizeof(dmwc_buf);
	dmwc_buf.io.data_start = sizeof(struct dm_ioctl);
	snprintf(dmwc_buf.io.name, sizeof(dmwc_buf.io.name), "%s", name);
}

static void dmwc_ioctl(unsigned long cmd, const char *what)
{
	if (ioctl(dmwc_fd, cmd, &dmwc_buf) < 0) {
		fprintf(stderr, "pksv-dmwc: %s: %s\n", what, strerror(errno));
		exit(2);
	}
}

/* ORIGIN's size in 512-byte sectors: the target maps all of it. */
static uint64_t dmwc_sectors(const char *dev)
{
	uint64_t bytes;
	int fd = open(dev, O_RDONLY);

	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
		fprintf(stderr, "pksv-dmwc: size of %s: %s\n", dev, strerror(errno));
		exit(2);
	}
	close(fd);
	return bytes / 512;
}

static void dmwc_create(char **argv, int nopts)
{
	const char *name = argv[0], *origin = argv[1], *cache = argv[2];
	struct dm_target_spec *spec;
	size_t len;
	char *params;
	int i;

	dmwc_header(name);
	dmwc_ioctl(DM_DEV_CREATE, "DM_DEV_CREATE");

	dmwc_header(name);
	dmwc_buf.io.target_count = 1;
	spec = (struct dm_target_spec *)(dmwc_buf.bytes + sizeof(struct dm_ioctl));
	spec->sector_start = 0;
	spec->length = dmwc_sectors(origin);
	snprintf(spec->target_type, sizeof(spec->target_type), "writecache");
	params = (char *)(spec + 1);
	len = snprintf(params, 1024, "p %s %s %s %d", origin, cache, argv[3], nopts);
	for (i = 0; i < nopts && len < 1024; i++)
		len += snprintf(params + len, 1024 - len, " %s", argv[4 + i]);
	if (len >= 1024) {
		fprintf(stderr, "pksv-dmwc: table line too long\n");
		exit(2);
	}
	/* the next spec would start here, 8-byte aligned (none follows) */
	spec->next = (sizeof(*spec) + len + 1 + 7) & ~7UL;
	if (ioctl(dmwc_fd, DM_TABLE_LOAD, &dmwc_buf) < 0) {
		fprintf(stderr, "pksv-dmwc: DM_TABLE_LOAD \"%s\": %s\n",
			params, strerror(errno));
		dmwc_header(name);
		ioctl(dmwc_fd, DM_DEV_REMOVE, &dmwc_buf);
		exit(2);
	}

	/* DM_DEV_SUSPEND without DM_SUSPEND_FLAG resumes: the table goes live */
	dmwc_header(name);
	dmwc_ioctl(DM_DEV_SUSPEND, "DM_DEV_SUSPEND (resume)");
	printf("/dev/dm-%u\n", minor(dmwc_buf.io.dev));
}

static void dmwc_message(const char *name, const char *text)
{
	struct dm_target_msg *msg;

	dmwc_header(name);
	msg = (struct dm_target_msg *)(dmwc_buf.bytes + sizeof(struct dm_ioctl));
	msg->sector = 0;
	snprintf(msg->message, 1024, "%s", text);
	dmwc_ioctl(DM_TARGET_MSG, "DM_TARGET_MSG");
}

static void dmwc_status(const char *name)
{
	struct dm_target_spec *spec;

	dmwc_header(name);
	dmwc_ioctl(DM_TABLE_STATUS, "DM_TABLE_STATUS");
	if (dmwc_buf.io.flags & DM_BUFFER_FULL_FLAG || dmwc_buf.io.target_count != 1) {
		fprintf(stderr, "pksv-dmwc: status: %u targets, flags %#x\n",
			dmwc_buf.io.target_count, dmwc_buf.io.flags);
		exit(2);
	}
	spec = (struct dm_target_spec *)(dmwc_buf.bytes + dmwc_buf.io.data_start);
	printf("%s\n", (char *)(spec + 1));
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 2 ? argv[1] : "";

	dmwc_fd = open(DMWC_CONTROL, O_RDWR);
	if (dmwc_fd < 0) {
		fprintf(stderr, "pksv-dmwc: %s: %s\n", DMWC_CONTROL, strerror(errno));
		return 2;
	}
	if (!strcmp(cmd, "create") && argc >= 6)
		dmwc_create(argv + 2, argc - 6);
	else if (!strcmp(cmd, "message") && argc == 4)
		dmwc_message(argv[2], argv[3]);
	else if (!strcmp(cmd, "status") && argc == 3)
		dmwc_status(argv[2]);
	else if (!strcmp(cmd, "remove") && argc == 3) {
		dmwc_header(argv[2]);
		dmwc_ioctl(DM_DEV_REMOVE, "DM_DEV_REMOVE");
	} else {
		fprintf(stderr, "usage: %s create NAME ORIGIN CACHE BLOCK_SIZE [OPTION...]\n"
			"       %s message NAME TEXT | status NAME | remove NAME\n",
			argv[0], argv[0]);
		return 2;
	}
	return 0;
}
