// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * pksv-vmfunc-user: can user space open PMEM to the kernel with VMFUNC?
 *
 * VMFUNC leaf 0 (EPTP switching, SDM Vol. 3C 26.5.6.3) is not privileged:
 * at CPL 3 it switches to any *pinned* pksvisor view as well as at CPL 0.
 * The Linux guest pins the views it switches PKRS with, the most open of
 * them having the pgmap key read-write.  This program
 *
 *  1. reads the pinned views from /sys/kernel/debug/pks_views
 *     ("<EPTP-list index> <PKRS>" lines) and picks the most open one (the
 *     PKRS with the fewest AD/WD bits set);
 *  2. opens /sys/kernel/debug/pks_test/run (before the switch: open() is a
 *     system call too);
 *  3. runs the kernel case pmem_stray_write_entry once as a control;
 *  4. switches to the most open view with VMFUNC at CPL 3;
 *  5. immediately enters the kernel with write(2) to run the case again.
 *     pmem_stray_write_entry makes a stray write to a protected PMEM page
 *     before anything in the kernel changes PKRS: only the kernel's reload
 *     of its own PKRS on entry from user mode stands in the way.
 *
 * Prints one line "ok ...", "skip ..." or "fail ..." and exits 0, 0 or 1.
 * Without pinned views (pksvisor's hw backend, pks_vmfunc=off) step 4 is
 * left out and the case must still be blocked.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VIEWS	"/sys/kernel/debug/pks_views"
#define RUN	"/sys/kernel/debug/pks_test/run"
#define RESULT	"/sys/kernel/debug/pks_test/result"
#define CASE	"pmem_stray_write_entry"

static void on_sigill(int sig)
{
	static const char msg[] = "fail VMFUNC at CPL 3 raised #UD (SIGILL)\n";

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

static int read_result(char *buf, size_t len)
{
	int fd = open(RESULT, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* The pinned view whose PKRS opens most (fewest bits set); -1 if none. */
static long most_open_view(unsigned int *pkrs_out)
{
	FILE *f = fopen(VIEWS, "r");
	unsigned int index, pkrs;
	long best = -1;
	int best_bits = 33;

	if (!f)
		return -1;
	while (fscanf(f, "%u %x", &index, &pkrs) == 2) {
		int bits = __builtin_popcount(pkrs);

		if (bits < best_bits) {
			best_bits = bits;
			best = index;
			*pkrs_out = pkrs;
		}
	}
	fclose(f);
	return best;
}

int main(void)
{
	char control[256], res[256];
	unsigned int pkrs = 0;
	long index;
	int fd;

	signal(SIGILL, on_sigill);
	index = most_open_view(&pkrs);
	fd = open(RUN, O_WRONLY);
	if (fd < 0) {
		printf("fail cannot open %s\n", RUN);
		return 1;
	}
	if (write(fd, CASE, strlen(CASE)) < 0 ||
	    read_result(control, sizeof(control))) {
		printf("fail control run of %s failed\n", CASE);
		return 1;
	}
	if (strncmp(control, "ok", 2)) {
		printf("%s (control run, no VMFUNC)\n", control);
		return strncmp(control, "skip", 4) ? 1 : 0;
	}
	if (index > 0) {
		/* VMFUNC: 0f 01 d4, EAX = 0 (EPTP switching), ECX = index */
		__asm__ volatile(".byte 0x0f, 0x01, 0xd4"
				 : : "a" (0), "c" ((unsigned int)index) : "memory");
	}
	if (write(fd, CASE, strlen(CASE)) < 0 || read_result(res, sizeof(res))) {
		printf("fail %s after VMFUNC: write or result failed\n", CASE);
		return 1;
	}
	close(fd);
	if (strncmp(res, "ok", 2)) {
		printf("%s (after VMFUNC to view %ld, PKRS %#010x)\n", res, index, pkrs);
		return 1;
	}
	if (index > 0)
		printf("ok # blocked after VMFUNC to view %ld (PKRS %#010x) at CPL 3\n",
		       index, pkrs);
	else
		printf("ok # no pinned views (PKRS switches by WRMSR): blocked\n");
	return 0;
}
