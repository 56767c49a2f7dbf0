// SPDX-License-Identifier: GPL-2.0
/*
 * velo_mlx5.ko: registers the mlx5 provider with velo.ko. velo.ko loads
 * it on demand (request_module) for a stack on an mlx5_core netdev; it
 * depends on mlx5_core and velo.ko, and each stack using it pins it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "mlx5.h"

static bool selftest = true;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest, "Run the in-module self-tests at load (default: yes)");

static int __init velo_mlx5_init(void)
{
	int ret;

	if (selftest && !velo_mlx5_selftests_run())
		return -ENOTRECOVERABLE;
	ret = velo_provider_register(&velo_mlx5_ops);
	if (ret)
		return ret;
	pr_info("mlx5 provider registered\n");
	return 0;
}

static void __exit velo_mlx5_exit(void)
{
	velo_provider_unregister(&velo_mlx5_ops);
	pr_info("unloaded\n");
}

module_init(velo_mlx5_init);
module_exit(velo_mlx5_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("velo: mlx5 hardware queues for velo stacks");
MODULE_AUTHOR("velo developers");
MODULE_VERSION(VELO_VERSION);
