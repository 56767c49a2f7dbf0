// SPDX-License-Identifier: GPL-2.0
/*
 * Stacks: one per (netdev, queue) and process, created on /dev/velo and
 * returned as their own anon-inode fd. All of a stack's memory (packet
 * buffers, queues, doorbell records, connection records) is one
 * vmalloc_user() area mapped by one mmap() of that fd. A mapping holds a
 * reference to the file, so "last fd and last mapping gone" is exactly the
 * file's ->release: that is where the stack dies.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>
#include <net/net_namespace.h>

#include "velo.h"

/* Stacks by id; velo_stacks_lock orders lookups against teardown. */
static DEFINE_XARRAY_ALLOC1(velo_stacks);
static DEFINE_MUTEX(velo_stacks_lock);
static u32 velo_stacks_next;

#define VELO_BUF_MAX	(256U << 20)
#define VELO_CONNS_MAX	65536U

static int velo_layout_check(const struct velo_stack_create *c)
{
	if (c->flags || !c->buf_size || c->buf_size > VELO_BUF_MAX ||
	    !PAGE_ALIGNED(c->buf_size) || c->nr_conns > VELO_CONNS_MAX)
		return -EINVAL;
	if (c->log_sq_size < VELO_LOG_Q_MIN || c->log_sq_size > VELO_LOG_Q_MAX ||
	    c->log_rq_size < VELO_LOG_Q_MIN || c->log_rq_size > VELO_LOG_Q_MAX ||
	    c->log_cq_size < VELO_LOG_Q_MIN || c->log_cq_size > VELO_LOG_Q_MAX)
		return -EINVAL;
	return 0;
}

/* Regions in mapping order, each page-aligned; returns the total size. */
static u64 velo_layout(struct velo_stack_create *c)
{
	struct {
		struct velo_region *r;
		u64 size;
	} regions[] = {
		{ &c->buf, c->buf_size },
		{ &c->sq, (u64)VELO_WQEBB << c->log_sq_size },
		{ &c->rq, (u64)sizeof(struct mlx5_wqe_data_seg) << c->log_rq_size },
		{ &c->rcq, (u64)sizeof(struct mlx5_cqe64) << c->log_cq_size },
		{ &c->scq, (u64)sizeof(struct mlx5_cqe64) << c->log_cq_size },
		{ &c->dbr, PAGE_SIZE },
		{ &c->conns, (u64)sizeof(struct velo_conn) * c->nr_conns },
	};
	u64 off = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(regions); i++) {
		regions[i].r->offset = off;
		regions[i].r->size = regions[i].size;
		off += PAGE_ALIGN(regions[i].size);
	}
	c->mmap_size = off;
	/* A hardware provider fills these in; user input is ignored. */
	c->uar = (struct velo_region){};
	c->uar_db_offset = 0;
	c->min_inline = 0;
	return off;
}

/*
 * Charge the area to the creator's RLIMIT_MEMLOCK (as io_uring and AF_XDP
 * do for memory the kernel pins for user space) and to the module-wide
 * velo.max_mem_mb limit.
 */
static int velo_mem_charge(struct velo_stack *s, size_t size)
{
	unsigned long pages = size >> PAGE_SHIFT;
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	unsigned long cur, new;

	if (atomic_long_add_return(size, &velo_live_mem) >
	    (long)velo_max_mem_mb << 20) {
		atomic_long_sub(size, &velo_live_mem);
		pr_warn_ratelimited("stack of %zu bytes over max_mem_mb=%u\n",
				    size, velo_max_mem_mb);
		return -ENOMEM;
	}
	s->mem_size = size;
	s->user = get_uid(current_user());
	if (capable(CAP_IPC_LOCK))
		return 0;
	do {
		cur = atomic_long_read(&s->user->locked_vm);
		new = cur + pages;
		if (new > limit) {
			pr_warn_ratelimited("stack of %zu bytes over RLIMIT_MEMLOCK (pid %d)\n",
					    size, task_tgid_nr(current));
			return -ENOMEM;
		}
	} while (atomic_long_cmpxchg(&s->user->locked_vm, cur, new) != cur);
	s->user_pages = pages;
	return 0;
}

static void velo_mem_uncharge(struct velo_stack *s)
{
	atomic_long_sub(s->mem_size, &velo_live_mem);
	if (s->user_pages)
		atomic_long_sub(s->user_pages, &s->user->locked_vm);
	if (s->user)
		free_uid(s->user);
}

static void velo_rings_init(struct velo_stack *s)
{
	const struct velo_stack_create *c = &s->layout;
	u8 *m = s->mem;
	u8 *dbr = m + c->dbr.offset;

	s->buf = m + c->buf.offset;
	s->sq = m + c->sq.offset;
	s->rq = (void *)(m + c->rq.offset);
	s->qp_dbr = (void *)(dbr + VELO_DBR_QP);
	s->sq_poll = (void *)(dbr + VELO_DBR_SQ_POLL);
	s->conns = (void *)(m + c->conns.offset);
	s->rcq.cqes = (void *)(m + c->rcq.offset);
	s->rcq.dbr = (void *)(dbr + VELO_DBR_RCQ);
	s->rcq.log_size = c->log_cq_size;
	s->scq.cqes = (void *)(m + c->scq.offset);
	s->scq.dbr = (void *)(dbr + VELO_DBR_SCQ);
	s->scq.log_size = c->log_cq_size;
	velo_cq_init(&s->rcq);
	velo_cq_init(&s->scq);
}

/* Undo velo_stack_alloc() and everything after it, whatever got done. */
static void velo_stack_free(struct velo_stack *s)
{
	velo_provider_stop(s);
	if (s->hw)
		velo_provider_put(s->hw);
	vfree(s->mem);
	velo_mem_uncharge(s);
	if (s->dev)
		netdev_put(s->dev, &s->dev_tracker);
	if (s->net)
		put_net(s->net);
	atomic_dec(&velo_live_stacks);
	velo_sysfs_stack_put(s);
}

static void velo_stack_free_work(struct work_struct *work)
{
	velo_stack_free(container_of(to_rcu_work(work), struct velo_stack, free_work));
}

static struct velo_stack *velo_stack_alloc(void)
{
	struct velo_stack *s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);

	if (!s)
		return NULL;
	mutex_init(&s->lock);
	spin_lock_init(&s->rx_lock);
	INIT_LIST_HEAD(&s->filters);
	init_waitqueue_head(&s->wq);
	INIT_RCU_WORK(&s->free_work, velo_stack_free_work);
	velo_db_init(s);
	s->uid = current_uid();
	s->tgid = task_tgid_nr(current);
	atomic_inc(&velo_live_stacks);
	velo_sysfs_stack_init(s);
	return s;
}

/* Bind to the device: the soft provider, or mlx5 for mlx5_core netdevs. */
static int velo_stack_bind(struct velo_stack *s, const struct velo_stack_create *c)
{
	struct net *net = current->nsproxy->net_ns;
	struct net_device *dev;

	rcu_read_lock();
	dev = dev_get_by_index_rcu(net, c->ifindex);
	if (dev)
		netdev_hold(dev, &s->dev_tracker, GFP_ATOMIC);
	rcu_read_unlock();
	if (!dev)
		return -ENODEV;
	s->dev = dev;
	s->net = get_net(net);
	s->ifindex = c->ifindex;
	s->queue = c->queue;
	if (c->queue >= max(dev->real_num_rx_queues, dev->real_num_tx_queues))
		return -EINVAL;
	/* The rings carry Ethernet frames: no L3-only devices (tun, ipip...). */
	if (dev->hard_header_len != ETH_HLEN || dev->addr_len != ETH_ALEN) {
		pr_info_ratelimited("%s: not an Ethernet device\n", dev->name);
		return -EOPNOTSUPP;
	}
	if (!velo_policy_get(net, c->ifindex)) {
		pr_info_ratelimited("%s: acceleration disabled by policy\n", dev->name);
		return -EPERM;
	}
	s->provider = VELO_PROVIDER_SOFT;
	return velo_mlx5_netdev(dev) ? velo_mlx5_stack_bind(s, dev) : 0;
}

/* @full: the caller passed the whole velo_stack_create (it knows the UAR). */
static int velo_stack_setup(struct velo_stack *s, struct velo_stack_create *c, bool full)
{
	u64 size;
	int ret;

	ret = velo_layout_check(c);
	if (ret)
		return ret;
	ret = velo_stack_bind(s, c);
	if (ret)
		return ret;
	if (s->hw && !full) {
		pr_warn_ratelimited("%s: user space too old for the hardware provider (no UAR mapping)\n",
				    s->dev->name);
		return -EOPNOTSUPP;
	}
	size = velo_layout(c);
	ret = velo_mem_charge(s, size);
	if (ret)
		return ret;
	s->mem = vmalloc_user(size);
	if (!s->mem)
		return -ENOMEM;
	s->layout = *c;
	velo_rings_init(s);
	return s->hw ? velo_provider_create(s) : 0;
}

static int velo_stack_register(struct velo_stack *s, struct velo_stack_create *c)
{
	int ret;

	mutex_lock(&velo_stacks_lock);
	ret = xa_alloc_cyclic(&velo_stacks, &s->id, s, xa_limit_31b,
			      &velo_stacks_next, GFP_KERNEL);
	mutex_unlock(&velo_stacks_lock);
	if (ret < 0)
		return ret;
	c->stack_id = s->id;
	c->provider = s->provider;
	if (!s->hw) {
		/* mlx5 numbering: a 24-bit queue number, the mkey index in lkey[31:8]. */
		s->layout.sqn = s->id & 0xffffff;
		s->layout.rqn = s->id & 0xffffff;
		s->layout.lkey = (s->id << 8) | 0x76;
	}
	c->lkey = s->layout.lkey;
	c->sqn = s->layout.sqn;
	c->rqn = s->layout.rqn;
	c->uar = s->layout.uar;
	c->uar_db_offset = s->layout.uar_db_offset;
	c->min_inline = s->layout.min_inline;
	ret = velo_sysfs_stack_add(s);
	if (ret) {
		mutex_lock(&velo_stacks_lock);
		xa_erase(&velo_stacks, s->id);
		mutex_unlock(&velo_stacks_lock);
	}
	return ret;
}

static void velo_stack_unregister(struct velo_stack *s)
{
	mutex_lock(&velo_stacks_lock);
	xa_erase(&velo_stacks, s->id);
	mutex_unlock(&velo_stacks_lock);
	velo_sysfs_stack_del(s);
}

/*
 * Detach from the device: RST the recorded connections when the stack
 * dies (not when only the device goes), drop the filters, release the dev.
 */
static void velo_stack_detach(struct velo_stack *s, bool rst)
{
	lockdep_assert_held(&s->lock);
	if (rst && s->dev)
		velo_teardown_rst(s);
	velo_filters_flush(s);
	velo_provider_stop(s);
	s->dead = true;
	if (s->dev) {
		netdev_put(s->dev, &s->dev_tracker);
		s->dev = NULL;
	}
	wake_up_interruptible_poll(&s->wq, EPOLLERR);
}

/* The end of a registered stack: RSTs, filters, then the deferred free. */
static void velo_stack_destroy(struct velo_stack *s)
{
	velo_stack_unregister(s);
	mutex_lock(&s->lock);
	velo_stack_detach(s, true);
	mutex_unlock(&s->lock);
	velo_db_stop(s);
	/* The receive hook may still be writing to s->mem under RCU. */
	queue_rcu_work(velo_wq, &s->free_work);
}

static int velo_stack_release(struct inode *inode, struct file *file)
{
	velo_stack_destroy(file->private_data);
	return 0;
}

static int velo_stack_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct velo_stack *s = file->private_data;

	/* Shared (so fork shares it), never executable. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	vma->vm_flags |= VM_DONTEXPAND;
	vma->vm_flags &= ~VM_MAYEXEC;
	if (s->hw && vma->vm_pgoff == s->layout.uar.offset >> PAGE_SHIFT)
		return velo_provider_mmap_uar(s, vma);
	return remap_vmalloc_range(vma, s->mem, vma->vm_pgoff);
}

static __poll_t velo_stack_poll(struct file *file, struct poll_table_struct *pt)
{
	struct velo_stack *s = file->private_data;

	poll_wait(file, &s->wq, pt);
	return velo_poll_events(s);
}

static long velo_stack_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct velo_stack *s = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VELO_IOC_KICK:
		/* Hardware queues have a real doorbell, mapped to user space. */
		return s->hw ? -EOPNOTSUPP : velo_soft_kick(s);
	case VELO_IOC_FILTER_ADD:
		return velo_filter_add(s, uarg);
	case VELO_IOC_FILTER_DEL:
		return velo_filter_del(s, uarg);
	case VELO_IOC_WAIT:
		return velo_wait(s, uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations velo_stack_fops = {
	.owner = THIS_MODULE,
	.release = velo_stack_release,
	.mmap = velo_stack_mmap,
	.poll = velo_stack_poll,
	.unlocked_ioctl = velo_stack_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/*
 * Hand the stack out as a new fd; the copy-out happens before fd_install.
 * On failure the stack is destroyed (by ->release once a file exists).
 */
static long velo_stack_install(struct velo_stack *s, struct velo_stack_create *c,
			       void __user *arg, size_t size)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		velo_stack_destroy(s);
		return fd;
	}
	file = anon_inode_getfile("[velo-stack]", &velo_stack_fops, s, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		velo_stack_destroy(s);
		return PTR_ERR(file);
	}
	c->fd = fd;
	if (copy_to_user(arg, c, size)) {
		put_unused_fd(fd);
		fput(file);	/* ->release tears the stack down */
		return -EFAULT;
	}
	fd_install(fd, file);
	return 0;
}

/* @size: VELO_STACK_CREATE_SIZE_V1 or the whole structure (the ioctl's). */
long velo_stack_create(void __user *arg, size_t size)
{
	struct velo_stack_create c = {};
	struct velo_stack *s;
	int ret;

	if (copy_from_user(&c, arg, size))
		return -EFAULT;
	s = velo_stack_alloc();
	if (!s)
		return -ENOMEM;
	ret = velo_stack_setup(s, &c, size == sizeof(c));
	if (!ret)
		ret = velo_stack_register(s, &c);
	if (ret) {
		velo_stack_free(s);
		return ret;
	}
	return velo_stack_install(s, &c, arg, size);
}

int velo_stacks_for_each(unsigned long *pos, velo_stack_fn fn, void *arg)
{
	struct velo_stack *s;
	unsigned long id;
	int ret = 0;

	mutex_lock(&velo_stacks_lock);
	xa_for_each_start(&velo_stacks, id, s, *pos) {
		ret = fn(s, arg);
		if (ret) {
			*pos = id;
			break;
		}
	}
	mutex_unlock(&velo_stacks_lock);
	return ret;
}

static int velo_stack_dev_gone(struct velo_stack *s, void *dev)
{
	mutex_lock(&s->lock);
	if (s->dev == dev) {
		pr_info("stack %u: %s unregistered, stack detached\n", s->id,
			s->dev->name);
		velo_stack_detach(s, false);
	}
	mutex_unlock(&s->lock);
	return 0;
}

static int velo_netdev_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	unsigned long pos = 0;

	if (event != NETDEV_UNREGISTER)
		return NOTIFY_DONE;
	velo_stacks_for_each(&pos, velo_stack_dev_gone, dev);
	velo_policy_forget(dev_net(dev), dev->ifindex);
	return NOTIFY_DONE;
}

static struct notifier_block velo_netdev_nb = {
	.notifier_call = velo_netdev_event,
};

int velo_stacks_init(void)
{
	return register_netdevice_notifier(&velo_netdev_nb);
}

void velo_stacks_exit(void)
{
	unregister_netdevice_notifier(&velo_netdev_nb);
}
