// SPDX-License-Identifier: GPL-2.0
/*
 * velo.ko: kernel half of the velo TCP acceleration stack. Module entry and
 * exit; each concern lives in its own file.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "velo.h"

static bool selftest = true;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest, "Run the in-module self-tests at load (default: yes)");

static int __init velo_init(void)
{
	int ret;

	if (selftest && !velo_selftests_run())
		return -ENOTRECOVERABLE;

	ret = velo_device_init();
	if (ret)
		return ret;

	pr_info("version %s loaded\n", VELO_VERSION);
	return 0;
}

static void __exit velo_exit(void)
{
	velo_device_exit();
	pr_info("unloaded\n");
}

module_init(velo_init);
module_exit(velo_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("velo kernel-bypass TCP acceleration: user-mapped NIC rings");
MODULE_AUTHOR("velo developers");
MODULE_VERSION(VELO_VERSION);
