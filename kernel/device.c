// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/velo misc character device and its ioctl entry point. Opening it
 * needs only the file's permissions (scripts/60-velo.rules: group velo), so
 * unprivileged users may create stacks; what a stack may do is checked per
 * call (policy, filters, RLIMIT_MEMLOCK).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/velo.h>

#include "velo.h"

static long velo_ioctl_version(void __user *arg)
{
	struct velo_version v = { .abi = VELO_ABI_VERSION };

	strscpy(v.release, VELO_VERSION, sizeof(v.release));
	return copy_to_user(arg, &v, sizeof(v)) ? -EFAULT : 0;
}

static long velo_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case VELO_IOC_VERSION:
		return velo_ioctl_version((void __user *)arg);
	case VELO_IOC_STACK_CREATE:
	case VELO_IOC_STACK_CREATE_V1:
		return velo_stack_create((void __user *)arg, _IOC_SIZE(cmd));
	default:
		return -ENOTTY;
	}
}

static const struct file_operations velo_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = velo_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice velo_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "velo",
	.fops = &velo_fops,
	.mode = 0660,
};

int velo_device_init(void)
{
	return misc_register(&velo_misc);
}

void velo_device_exit(void)
{
	misc_deregister(&velo_misc);
}
