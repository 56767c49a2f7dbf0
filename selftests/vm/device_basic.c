// SPDX-License-Identifier: GPL-2.0
/* /dev/velo basics: the device, its version ioctl and its sysfs entries. */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <linux/velo.h>

#include "ktap.h"

static int read_sysfs(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int version_ioctl(void)
{
	struct velo_version v;
	char sysver[64];
	int fd = open(VELO_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	KTAP_EXPECT(fd >= 0);
	memset(&v, 0xff, sizeof(v));
	KTAP_EXPECT(ioctl(fd, VELO_IOC_VERSION, &v) == 0);
	KTAP_EXPECT(v.abi == VELO_ABI_VERSION);
	KTAP_EXPECT(memchr(v.release, '\0', sizeof(v.release)) != NULL);
	KTAP_EXPECT(read_sysfs("/sys/module/velo/version", sysver, sizeof(sysver)) == 0);
	KTAP_EXPECT(strcmp(sysver, v.release) == 0);
	close(fd);
	return KTAP_PASS;
}

static int unknown_ioctl_enotty(void)
{
	int fd = open(VELO_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	KTAP_EXPECT(fd >= 0);
	errno = 0;
	KTAP_EXPECT(ioctl(fd, _IO(VELO_IOC_MAGIC, 0xff)) == -1 && errno == ENOTTY);
	KTAP_EXPECT(ioctl(fd, VELO_IOC_VERSION, (void *)8) == -1 && errno == EFAULT);
	close(fd);
	return KTAP_PASS;
}

static int module_parameters_in_sysfs(void)
{
	char val[16];

	KTAP_EXPECT(read_sysfs("/sys/module/velo/parameters/selftest", val, sizeof(val)) == 0);
	KTAP_EXPECT(strcmp(val, "Y") == 0);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "version_ioctl", version_ioctl, 0 },
	{ "unknown_ioctl_enotty", unknown_ioctl_enotty, 0 },
	{ "module_parameters_in_sysfs", module_parameters_in_sysfs, 0 },
};

KTAP_MAIN(cases)
