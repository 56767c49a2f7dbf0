// SPDX-License-Identifier: GPL-2.0
/*
 * The mlx5 provider: on a netdev of mlx5_core, the same queue formats
 * would be real hardware queues (SQ/RQ/CQ created through mlx5_core, the
 * buffer area registered as an mkey, the UAR doorbell page mapped, flow
 * steering rules instead of the netfilter hook).
 *
 * That is NOT implemented in this version: there is no mlx5 hardware to
 * verify it against, and unverified queue-creation code would be worse
 * than an honest refusal. mlx5 netdevs are detected (the netdev's parent
 * device is bound to mlx5_core, the PCI driver, or one of its auxiliary
 * drivers "mlx5_core.*"), and stack creation on them fails with
 * -EOPNOTSUPP and a log line, unless velo.mlx5_soft=1 asks for the soft
 * provider there (which works on any netdev, without hardware offload).
 * velo.ko therefore links no mlx5_core symbol and loads without it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/module.h>
#include <linux/netdevice.h>

#include "velo.h"

static bool mlx5_soft;
module_param(mlx5_soft, bool, 0644);
MODULE_PARM_DESC(mlx5_soft, "Use the soft provider on mlx5 netdevs (default: no, refuse)");

bool velo_mlx5_netdev(const struct net_device *dev)
{
	const struct device *parent = dev->dev.parent;

	return parent && parent->driver && parent->driver->name &&
	       !strncmp(parent->driver->name, "mlx5_core", strlen("mlx5_core"));
}

int velo_mlx5_stack_init(struct velo_stack *s, struct net_device *dev)
{
	if (READ_ONCE(mlx5_soft)) {
		pr_info_ratelimited("%s: mlx5 netdev, soft provider (velo.mlx5_soft=1)\n",
				    dev->name);
		return 0;
	}
	pr_warn_ratelimited("%s: mlx5 provider not implemented: hardware queues unsupported (velo.mlx5_soft=1 for the soft provider)\n",
			    dev->name);
	return -EOPNOTSUPP;
}
