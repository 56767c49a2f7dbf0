// SPDX-License-Identifier: GPL-2.0
/*
 * velo.ko: kernel half of the velo TCP acceleration stack. Module entry and
 * exit; each concern lives in its own file.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/rcupdate.h>

#include "velo.h"

static bool selftest = true;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest, "Run the in-module self-tests at load (default: yes)");

unsigned int velo_max_mem_mb = 1024;
module_param_named(max_mem_mb, velo_max_mem_mb, uint, 0644);
MODULE_PARM_DESC(max_mem_mb, "Memory of all stacks together, MiB (default: 1024)");

unsigned int velo_max_filters = 65536;
module_param_named(max_filters, velo_max_filters, uint, 0644);
MODULE_PARM_DESC(max_filters, "Filters per stack (default: 65536)");

struct workqueue_struct *velo_wq;

static int __init velo_init(void)
{
	int ret;

	ret = velo_filters_init();
	if (ret)
		return ret;
	if (selftest && !velo_selftests_run()) {
		ret = -ENOTRECOVERABLE;
		goto err_filters;
	}
	/* bound: doorbell work runs on the CPU it is queued on (dbpoll.c) */
	velo_wq = alloc_workqueue("velo", 0, 0);
	if (!velo_wq) {
		ret = -ENOMEM;
		goto err_filters;
	}
	ret = velo_sysfs_init();
	if (ret)
		goto err_wq;
	ret = velo_rx_init();
	if (ret)
		goto err_sysfs;
	ret = velo_stacks_init();
	if (ret)
		goto err_rx;
	ret = velo_netlink_init();
	if (ret)
		goto err_stacks;
	ret = velo_device_init();
	if (ret)
		goto err_netlink;
	pr_info("version %s loaded\n", VELO_VERSION);
	return 0;

err_netlink:
	velo_netlink_exit();
err_stacks:
	velo_stacks_exit();
err_rx:
	velo_rx_exit();
err_sysfs:
	velo_sysfs_exit();
err_wq:
	destroy_workqueue(velo_wq);
err_filters:
	velo_filters_exit();
	return ret;
}

/*
 * Stack fds pin the module, so no stack is alive here; their RCU-deferred
 * frees (filters, stack memory) may still be queued: wait for them.
 */
static void __exit velo_exit(void)
{
	velo_device_exit();
	velo_netlink_exit();
	velo_stacks_exit();
	rcu_barrier();
	destroy_workqueue(velo_wq);
	velo_rx_exit();
	velo_sysfs_exit();
	velo_filters_exit();
	pr_info("unloaded\n");
}

module_init(velo_init);
module_exit(velo_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("velo kernel-bypass TCP acceleration: user-mapped NIC rings");
MODULE_AUTHOR("velo developers");
MODULE_VERSION(VELO_VERSION);
