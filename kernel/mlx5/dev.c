// SPDX-License-Identifier: GPL-2.0
/*
 * mlx5 devices: which mlx5_core device a netdev belongs to, and what the
 * stacks of one device share: a transport domain (TIS and TIR) and the
 * steering tables
 * (one table per priority in a namespace has room for one table level:
 * per-stack tables could never all be searched).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mlx5/transobj.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "mlx5.h"

static LIST_HEAD(velo_mlx5_devs);
static DEFINE_MUTEX(velo_mlx5_devs_lock);

/*
 * mlx5e makes the PCI function (PF or VF) its netdev's parent and the
 * PCI driver data is the mlx5_core_dev. Sub-functions (their parent is an
 * auxiliary device) are not handled: their device structure is private
 * to mlx5_core.
 */
struct mlx5_core_dev *velo_mlx5_mdev(const struct net_device *dev)
{
	struct device *parent = dev->dev.parent;

	if (!parent || !dev_is_pci(parent) || !parent->driver ||
	    strcmp(parent->driver->name, "mlx5_core"))
		return NULL;
	return pci_get_drvdata(to_pci_dev(parent));
}

static struct velo_mlx5_dev *velo_mlx5_dev_create(struct mlx5_core_dev *mdev)
{
	struct velo_mlx5_dev *vdev = kzalloc(sizeof(*vdev), GFP_KERNEL);
	int ret;

	if (!vdev)
		return ERR_PTR(-ENOMEM);
	vdev->mdev = mdev;
	ret = mlx5_core_alloc_transport_domain(mdev, &vdev->tdn);
	if (ret) {
		dev_warn(mdev->device, "velo: alloc transport domain: %d\n", ret);
		goto err_free;
	}
	ret = velo_mlx5_flow_tables_create(vdev);
	if (ret)
		goto err_td;
	return vdev;

err_td:
	mlx5_core_dealloc_transport_domain(mdev, vdev->tdn);
err_free:
	kfree(vdev);
	return ERR_PTR(ret);
}

/* The shared objects of @mdev, made by its first stack. */
struct velo_mlx5_dev *velo_mlx5_dev_get(struct mlx5_core_dev *mdev)
{
	struct velo_mlx5_dev *vdev;

	mutex_lock(&velo_mlx5_devs_lock);
	list_for_each_entry(vdev, &velo_mlx5_devs, node) {
		if (vdev->mdev == mdev)
			goto found;
	}
	vdev = velo_mlx5_dev_create(mdev);
	if (IS_ERR(vdev))
		goto out;
	list_add(&vdev->node, &velo_mlx5_devs);
found:
	vdev->users++;
out:
	mutex_unlock(&velo_mlx5_devs_lock);
	return vdev;
}

/* The last stack of a device takes its shared objects along. */
void velo_mlx5_dev_put(struct velo_mlx5_dev *vdev)
{
	mutex_lock(&velo_mlx5_devs_lock);
	if (--vdev->users) {
		mutex_unlock(&velo_mlx5_devs_lock);
		return;
	}
	list_del(&vdev->node);
	mutex_unlock(&velo_mlx5_devs_lock);
	velo_mlx5_flow_tables_destroy(vdev);
	mlx5_core_dealloc_transport_domain(vdev->mdev, vdev->tdn);
	kfree(vdev);
}
