/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * velo: the one contract between velo.ko and user space (libvelo, veloctl).
 * Everything user space writes through these structures is untrusted.
 */
#ifndef _UAPI_LINUX_VELO_H
#define _UAPI_LINUX_VELO_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VELO_DEVICE_PATH "/dev/velo"

/* Bumped on any incompatible change of this header. */
#define VELO_ABI_VERSION 1

struct velo_version {
	__u32 abi;		/* VELO_ABI_VERSION of the module */
	__u32 reserved;
	char release[24];	/* module version, NUL-terminated */
};

#define VELO_IOC_MAGIC 0xE7
#define VELO_IOC_VERSION _IOR(VELO_IOC_MAGIC, 0x00, struct velo_version)

#endif /* _UAPI_LINUX_VELO_H */
