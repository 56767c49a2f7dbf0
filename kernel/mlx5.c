// SPDX-License-Identifier: GPL-2.0
/*
 * mlx5 netdevs: detection and the provider choice. The hardware provider
 * itself is velo_mlx5.ko (kernel/mlx5/), loaded on demand, so that velo.ko
 * links no mlx5_core symbol and loads without it. A netdev is mlx5's when
 * its parent device is bound to mlx5_core, the PCI driver, or one of its
 * auxiliary drivers "mlx5_core.*". velo.mlx5_soft=1 asks for the soft
 * provider there instead (it works on any netdev, without offload).
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

/* Choose the provider of a stack on mlx5 netdev @dev; the queues come later. */
int velo_mlx5_stack_bind(struct velo_stack *s, struct net_device *dev)
{
	if (READ_ONCE(mlx5_soft)) {
		pr_info_ratelimited("%s: mlx5 netdev, soft provider (velo.mlx5_soft=1)\n",
				    dev->name);
		return 0;
	}
	s->hw = velo_provider_get(VELO_PROVIDER_MLX5);
	if (!s->hw) {
		pr_warn_ratelimited("%s: mlx5 netdev but the velo_mlx5 module cannot be loaded (velo.mlx5_soft=1 for the soft provider)\n",
				    dev->name);
		return -EOPNOTSUPP;
	}
	s->provider = VELO_PROVIDER_MLX5;
	return 0;
}
