// SPDX-License-Identifier: GPL-2.0-only
//
// bench-cycle: the addon-overhead benchmark's reference, in plain C.
//
//   bench-cycle SIZE CYCLES [DEVICE]
//
// Opens the device (default /dev/mmaplab) once, configures a vmalloc_user
// buffer of SIZE bytes mapped by remap_vmalloc_range, then runs one
// unreported warm-up cycle and CYCLES timed ones. A cycle is what
// lib/bench/measure.ts times through the Device API: mmap the whole buffer
// (MAP_SHARED, read-write), write-touch every page (load its first byte and
// store it back, as the addon's touch() does), munmap. Prints each timed
// cycle's CLOCK_MONOTONIC nanoseconds, one number per line. On failure it
// prints what failed (with the module's LAST_ERROR text when there is one)
// to stderr and exits 1; bad arguments exit 2.
//
// Built by lib/bench/c-program.ts with `cc -O2 -I kmod/include/uapi`.
#define _GNU_SOURCE
#include <linux/mmaplab.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void fail(int fd, const char *what)
{
	int err = errno;
	struct mmaplab_last_error last;

	fprintf(stderr, "bench-cycle: %s: %s", what, strerror(err));
	memset(&last, 0, sizeof(last));
	if (fd >= 0 && ioctl(fd, MMAPLAB_IOC_LAST_ERROR, &last) == 0 && last.error != 0) {
		last.text[sizeof(last.text) - 1] = '\0';
		fprintf(stderr, " (%s)", last.text);
	}
	fputc('\n', stderr);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// A decimal argument in [min, max], or exit 2.
static unsigned long long arg(const char *s, const char *name, unsigned long long min,
			      unsigned long long max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end != '\0' || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "bench-cycle: %s must be an integer from %llu to %llu, not '%s'\n",
			name, min, max, s);
		exit(2);
	}
	return v;
}

static void cycle(int fd, size_t size, size_t page)
{
	volatile unsigned char *p;
	size_t off;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		fail(fd, "mmap");
	for (off = 0; off < size; off += page)
		p[off] = p[off];
	if (munmap((void *)p, size) < 0)
		fail(fd, "munmap");
}

int main(int argc, char **argv)
{
	struct mmaplab_config config;
	const char *device = "/dev/" MMAPLAB_DEVICE_NAME;
	size_t size, page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned long long cycles, i;
	int fd;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: bench-cycle SIZE CYCLES [DEVICE]\n");
		return 2;
	}
	size = (size_t)arg(argv[1], "SIZE", 1, MMAPLAB_MAX_SIZE);
	cycles = arg(argv[2], "CYCLES", 1, 1000000);
	if (argc == 4)
		device = argv[3];

	fd = open(device, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail(-1, device);
	memset(&config, 0, sizeof(config));
	config.alloc = MMAPLAB_ALLOC_VMALLOC_USER;
	config.method = MMAPLAB_METHOD_REMAP_VMALLOC_RANGE;
	config.size = size;
	config.cache = MMAPLAB_CACHE_WB;
	if (ioctl(fd, MMAPLAB_IOC_CONFIGURE, &config) < 0)
		fail(fd, "CONFIGURE");

	cycle(fd, size, page);
	for (i = 0; i < cycles; i++) {
		uint64_t t0 = now_ns();

		cycle(fd, size, page);
		printf("%" PRIu64 "\n", now_ns() - t0);
	}
	close(fd);
	return 0;
}
