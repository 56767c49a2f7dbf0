// SPDX-License-Identifier: GPL-2.0
/* veloctl: inspect and configure velo (velo.ko and libvelo). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/velo.h>

#include "common/log.h"

static int cmd_version(void)
{
	struct velo_version v;
	int fd;

	printf("veloctl %s\n", VELO_VERSION);
	fd = open(VELO_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("velo.ko: not loaded (%s: %s)\n", VELO_DEVICE_PATH, strerror(errno));
		return 0;
	}
	if (ioctl(fd, VELO_IOC_VERSION, &v) < 0) {
		velo_err("%s: VELO_IOC_VERSION: %s", VELO_DEVICE_PATH, strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	printf("velo.ko: %.*s (abi %u%s)\n", (int)sizeof(v.release), v.release, v.abi,
	       v.abi == VELO_ABI_VERSION ? "" : ", MISMATCH with this veloctl");
	return v.abi == VELO_ABI_VERSION ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: veloctl <command>\n"
		   "commands:\n"
		   "  version    versions of veloctl and of the loaded velo.ko\n");
}

int main(int argc, char **argv)
{
	velo_log_init();
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "version"))
		return cmd_version();
	velo_err("unknown command '%s'", argv[1]);
	usage(stderr);
	return 2;
}
