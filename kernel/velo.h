/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VELO_VELO_H
#define VELO_VELO_H

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/kobject.h>
#include <linux/mlx5/device.h>
#include <linux/mlx5/qp.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/rhashtable-types.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/velo.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

/* Largest WQE: 63 16-byte segments (the 6-bit ds count), 16 WQEBBs. */
#define VELO_WQEBB		64
#define VELO_MAX_WQEBBS		16
#define VELO_MAX_INLINE		256
#define VELO_MAX_DSEGS		60
#define VELO_MAX_FRAME		65535

/* main.c: module parameters and the workqueue that frees stacks. */
extern unsigned int velo_max_mem_mb;
extern unsigned int velo_max_filters;
extern struct workqueue_struct *velo_wq;

/* A completion queue as the soft provider writes it. */
struct velo_cq {
	struct mlx5_cqe64 *cqes;
	__be32 *dbr;		/* [0]: consumer index, written by user space */
	u32 log_size;
	u32 pi;			/* producer index, kernel-private */
};

struct velo_tx_desc {
	const u8 *inline_data;
	unsigned int inline_len;
	unsigned int nsegs;
	struct mlx5_wqe_data_seg segs[VELO_MAX_DSEGS];
	unsigned int len;	/* whole frame */
	u8 cs_flags;
	u8 opcode;
	u8 fm_ce_se;
};

struct velo_stack {
	u32 id;
	u32 ifindex;
	u32 queue;
	u32 provider;
	kuid_t uid;
	pid_t tgid;
	struct net *net;

	struct mutex lock;	/* SQ consumer, dev, filters, teardown */
	struct net_device *dev;	/* NULL once the device is gone */
	netdevice_tracker dev_tracker;
	struct list_head filters;
	unsigned int nfilters;
	bool dead;

	spinlock_t rx_lock;	/* RQ consumer and receive CQ producer */

	void *mem;		/* vmalloc_user: every region, one mapping */
	size_t mem_size;
	struct velo_stack_create layout;
	u8 *buf;
	u8 *sq;
	struct mlx5_wqe_data_seg *rq;
	__be32 *qp_dbr;
	__u32 *sq_poll;		/* VELO_DBR_SQ_POLL: doorbell polling armed */
	struct hrtimer db_timer;
	struct work_struct db_work;
	int db_cpu;		/* where polled sends go out: one CPU keeps them in order */
	struct velo_cq rcq;
	struct velo_cq scq;
	struct velo_conn *conns;
	const struct velo_provider_ops *hw;	/* NULL: the soft provider */
	void __rcu *hw_priv;			/* the provider's state, NULL once stopped */
	u16 sq_cc;		/* consumer counters, kernel-private */
	u16 rq_cc;
	u8 wqe[VELO_MAX_WQEBBS * VELO_WQEBB];	/* snapshot, under lock */
	struct velo_tx_desc txd;		/* parsed snapshot, under lock */

	wait_queue_head_t wq;
	struct user_struct *user;	/* charged user_pages of RLIMIT_MEMLOCK */
	unsigned long user_pages;
	atomic64_t cnt[VELO_CNT_MAX];
	struct kobject kobj;
	struct rcu_work free_work;
};

/* counters.c: per-stack and global counters, shared names. */
extern const char *const velo_counter_names[VELO_CNT_MAX];
extern atomic64_t velo_global_cnt[VELO_CNT_MAX];
extern atomic_t velo_live_stacks;
extern atomic_t velo_live_filters;
extern atomic_long_t velo_live_mem;
void velo_count(struct velo_stack *s, enum velo_counter c, u64 n);

/* device.c: the /dev/velo character device. */
int velo_device_init(void);
void velo_device_exit(void);

/* stack.c: stack objects, their fd and mapping, the registry. */
long velo_stack_create(void __user *arg, size_t size);
int velo_stacks_init(void);
void velo_stacks_exit(void);
typedef int (*velo_stack_fn)(struct velo_stack *s, void *arg);
int velo_stacks_for_each(unsigned long *pos, velo_stack_fn fn, void *arg);

/* mlx5.c: mlx5 netdev detection, provider choice. */
bool velo_mlx5_netdev(const struct net_device *dev);
int velo_mlx5_stack_bind(struct velo_stack *s, struct net_device *dev);

/*
 * provider.c: a hardware provider module (velo_mlx5.ko) registers these
 * hooks; a stack holds a reference on the provider's module while it uses
 * it. @priv is what create returned; velo.ko calls the hooks under s->lock
 * (events, mmap_uar: under SRCU), so none of them races with destroy.
 */
struct velo_filt;

struct velo_provider_ops {
	struct module *owner;
	u32 provider;		/* enum velo_provider */
	/*
	 * Make the device's queues over the stack's area (s->mem, s->layout),
	 * fill layout.lkey/sqn/rqn/uar/uar_db_offset/min_inline and return
	 * the provider's state in @priv. On failure, leave nothing behind.
	 */
	int (*create)(struct velo_stack *s, struct net_device *dev, void **priv);
	/* Undo create: the device stops touching s->mem and the UAR mapping. */
	void (*destroy)(void *priv);
	int (*mmap_uar)(void *priv, struct vm_area_struct *vma);
	/* Steer a filter's frames to the stack's queues (rule in f->hw). */
	int (*filter_add)(void *priv, struct velo_filt *f);
	void (*filter_del)(void *priv, struct velo_filt *f);
	/* VELO_EV_* pending; with none, arm the CQs so that an event wakes. */
	u32 (*events)(void *priv);
};

int velo_provider_register(const struct velo_provider_ops *ops);
void velo_provider_unregister(const struct velo_provider_ops *ops);
const struct velo_provider_ops *velo_provider_get(u32 provider);
void velo_provider_put(const struct velo_provider_ops *ops);
int velo_provider_create(struct velo_stack *s);
void velo_provider_stop(struct velo_stack *s);
void *velo_provider_priv(struct velo_stack *s);
u32 velo_provider_events(struct velo_stack *s);
int velo_provider_mmap_uar(struct velo_stack *s, struct vm_area_struct *vma);

/* dbpoll.c: doorbell polling for the soft provider. */
void velo_db_init(struct velo_stack *s);
void velo_db_arm(struct velo_stack *s);
void velo_db_stop(struct velo_stack *s);

/* soft.c: the soft provider's rings (the module plays the NIC). */
int velo_wqe_parse(const u8 *wqe, unsigned int ds, u32 lkey, u64 buf_size,
		   struct velo_tx_desc *d);
void velo_cq_init(struct velo_cq *cq);
void velo_cq_post(struct velo_cq *cq, struct mlx5_cqe64 *cqe, u8 opcode);
bool velo_cq_full(const struct velo_cq *cq);
bool velo_cq_pending(const struct velo_cq *cq);
int velo_soft_kick(struct velo_stack *s);
void velo_soft_rx(struct velo_stack *s, const struct sk_buff *skb);

/* filter.c: the RFS filter table. */
struct velo_key {
	const struct net *net;
	u32 ifindex;
	u16 family;
	u16 listen;
	__be16 lport;
	__be16 rport;
	u8 laddr[16];
	u8 raddr[16];
};

struct velo_filt {
	struct rhash_head hnode;
	struct list_head snode;		/* in its stack's list */
	struct velo_key key;
	u64 handle;
	struct velo_stack *stack;
	void *hw;			/* the hardware provider's steering rule */
	struct rcu_head rcu;
};

struct tcphdr;
bool velo_filter_kernel_owns(const struct velo_filt *f, const struct velo_key *k,
			     const struct tcphdr *th);
bool velo_kernel_has_conn(const struct velo_key *k, bool time_wait);
int velo_filters_init(void);
void velo_filters_exit(void);
int velo_ftab_insert(struct velo_filt *f, bool takeover, struct velo_filt **old);
void velo_ftab_remove(struct velo_filt *f);
struct velo_filt *velo_ftab_lookup(const struct velo_key *k);
struct velo_filt *velo_ftab_match(const struct velo_key *k);
int velo_key_parse(const u8 *p, unsigned int len, __be16 proto, bool out,
		   struct velo_key *k);
long velo_filter_add(struct velo_stack *s, void __user *arg);
long velo_filter_del(struct velo_stack *s, void __user *arg);
void velo_filters_flush(struct velo_stack *s);
bool velo_filter_owns(struct velo_stack *s, const struct velo_key *k);
bool velo_addr_local(struct net *net, u16 family, const u8 *addr);

/* rx.c: the receive hook. */
int velo_rx_init(void);
void velo_rx_exit(void);
void velo_rx_filter_added(const struct net *net);
void velo_rx_filter_removed(const struct net *net);
int velo_policy_set(struct net *net, u32 ifindex, bool accelerate);
int velo_policy_get(struct net *net, u32 ifindex);
void velo_policy_forget(struct net *net, u32 ifindex);
int velo_policy_next(struct net *net, unsigned long *ifindex);

/* tx.c: transmit validation and checksums. */
int velo_tx_check(struct velo_stack *s, struct net_device *dev,
		  const struct sk_buff *skb);
void velo_tx_csum(struct sk_buff *skb, u8 cs_flags);
int velo_xmit(struct velo_stack *s, struct net_device *dev, struct sk_buff *skb);

/* wait.c: waits and poll. */
long velo_wait(struct velo_stack *s, void __user *arg);
__poll_t velo_poll_events(struct velo_stack *s);
void velo_wake(struct velo_stack *s);

/* teardown.c: RSTs for the open connections of a dying stack. */
struct sk_buff *velo_rst_build(const u8 *src_mac, const struct velo_conn *c);
void velo_teardown_rst(struct velo_stack *s);

/* sysfs.c: /sys/kernel/velo. */
int velo_sysfs_init(void);
void velo_sysfs_exit(void);
void velo_sysfs_stack_init(struct velo_stack *s);
int velo_sysfs_stack_add(struct velo_stack *s);
void velo_sysfs_stack_del(struct velo_stack *s);
void velo_sysfs_stack_put(struct velo_stack *s);

/* netlink.c: the "velo" generic netlink family. */
int velo_netlink_init(void);
void velo_netlink_exit(void);

/* selftest.c: in-module self-tests, run at load when velo.selftest=1. */
struct velo_selftest {
	const char *name;
	bool (*run)(void);
};

bool velo_selftests_table(const char *module, const struct velo_selftest *t, size_t n);
bool velo_selftests_run(void);

#endif /* VELO_VELO_H */
