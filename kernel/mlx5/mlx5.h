/* SPDX-License-Identifier: GPL-2.0 */
/*
 * velo_mlx5.ko: the mlx5 hardware provider of velo.ko. A stack's queues
 * become real mlx5 objects over the stack's own user-mapped area, so user
 * space drives the NIC with the same ring code as the soft provider.
 *
 * Builders (*_in) fill firmware command inboxes from a stack's layout and
 * touch no device: the self-tests check them. The functions that execute
 * commands are next to them and run only on mlx5 hardware.
 */
#ifndef VELO_MLX5_H
#define VELO_MLX5_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mlx5/cq.h>
#include <linux/mlx5/driver.h>
#include <linux/mlx5/fs.h>
#include <linux/mutex.h>

#include "../velo.h"

/* dev.c: mlx5 netdevs and what a device's stacks share. */
enum velo_mlx5_ft {		/* steering tables, searched in this order */
	VELO_MLX5_FT_CONN,	/* connected 5-tuples */
	VELO_MLX5_FT_LISTEN,	/* listeners on an address */
	VELO_MLX5_FT_ANY,	/* listeners on any address */
	VELO_MLX5_FT_NUM
};

struct velo_mlx5_dev {
	struct list_head node;
	struct mlx5_core_dev *mdev;
	unsigned int users;	/* stacks, under velo_mlx5_devs_lock */
	u32 tdn;
	struct mlx5_flow_table *ft[VELO_MLX5_FT_NUM];
};

struct mlx5_core_dev *velo_mlx5_mdev(const struct net_device *dev);
struct velo_mlx5_dev *velo_mlx5_dev_get(struct mlx5_core_dev *mdev);
void velo_mlx5_dev_put(struct velo_mlx5_dev *vdev);

/* mem.c: the stack's area, DMA-mapped page by page, its PD and mkey. */
struct velo_mlx5_mem {
	struct device *dma_dev;
	dma_addr_t *dma;	/* one per page of the area */
	unsigned int npages;
	u32 pdn;		/* the stack's own protection domain */
	u32 mkey;
	bool has_pd;
	bool has_mkey;
};

int velo_mlx5_mkey_inlen(unsigned int npages);
void velo_mlx5_mkey_in(u32 *in, u32 pdn, u64 len, const dma_addr_t *pas,
		       unsigned int npages);
void velo_mlx5_pas_fill(__be64 *pas, const dma_addr_t *dma, unsigned int n);
int velo_mlx5_mem_map(struct velo_mlx5_mem *m, struct mlx5_core_dev *mdev,
		      const struct velo_stack *s);
int velo_mlx5_mkey_create(struct velo_mlx5_mem *m, struct mlx5_core_dev *mdev,
			  u64 buf_size);
void velo_mlx5_mem_unmap(struct velo_mlx5_mem *m, struct mlx5_core_dev *mdev);

/* uar.c: the stack's own UAR page (doorbells), mapped to user space. */
struct velo_mlx5_uar {
	struct kref ref;	/* the stack and each user mapping */
	struct mutex lock;	/* vmas */
	struct list_head vmas;
	u32 index;
	unsigned long pfn;
	void __iomem *map;	/* the kernel's: CQ arm doorbells */
};

unsigned long velo_mlx5_uar_pfn(phys_addr_t bar, u32 index, bool uar_4k);
u32 velo_mlx5_uar_db_offset(void);
struct velo_mlx5_uar *velo_mlx5_uar_alloc(struct mlx5_core_dev *mdev);
void velo_mlx5_uar_free(struct velo_mlx5_uar *u, struct mlx5_core_dev *mdev);
int velo_mlx5_uar_mmap(struct velo_mlx5_uar *u, struct vm_area_struct *vma);

/* queues.c: CQs, SQ, RQ, TIS and TIR over the stack's area. */
struct velo_mlx5_q {		/* what a queue's inbox needs */
	u32 log_size;		/* entries (CQ: CQEs; SQ: WQEBBs; RQ: WQEs) */
	u32 pdn;
	u32 uar;
	u32 cqn;
	u64 dbr;		/* DMA address of its doorbell record */
	const dma_addr_t *pas;	/* its pages */
	unsigned int npas;
};

int velo_mlx5_cq_inlen(unsigned int npas);
void velo_mlx5_cq_in(u32 *in, const struct velo_mlx5_q *q, u32 eqn);
int velo_mlx5_sq_inlen(unsigned int npas);
void velo_mlx5_sq_in(u32 *in, const struct velo_mlx5_q *q, u32 tisn,
		     u8 inline_mode, bool real_time);
int velo_mlx5_rq_inlen(unsigned int npas);
void velo_mlx5_rq_in(u32 *in, const struct velo_mlx5_q *q, bool real_time);
void velo_mlx5_tis_in(u32 *in, u32 tdn);
void velo_mlx5_tir_in(u32 *in, u32 tdn, u32 rqn);
u32 velo_mlx5_inline_bytes(u8 inline_mode);

/* flow.c: steering rules for the filters. */
enum velo_mlx5_ft velo_mlx5_flow_table(const struct velo_key *k);
void velo_mlx5_flow_spec(struct mlx5_flow_spec *spec, const struct velo_key *k);
int velo_mlx5_flow_tables_create(struct velo_mlx5_dev *vdev);
void velo_mlx5_flow_tables_destroy(struct velo_mlx5_dev *vdev);
struct mlx5_flow_handle *velo_mlx5_flow_add(struct velo_mlx5_dev *vdev,
					    const struct velo_key *k, u32 tirn);

/* stack.c: a stack's hardware objects. */
struct velo_mlx5_stack {
	struct velo_stack *s;
	struct velo_mlx5_dev *vdev;
	struct mlx5_core_dev *mdev;
	struct velo_mlx5_mem mem;
	struct velo_mlx5_uar *uar;
	struct mlx5_core_cq rcq;
	struct mlx5_core_cq scq;
	u32 tisn;
	u32 sqn;
	u32 rqn;
	u32 tirn;
	unsigned long done;	/* VELO_MLX5_HAS_* */
};

extern const struct velo_provider_ops velo_mlx5_ops;

/* selftest.c */
bool velo_mlx5_selftests_run(void);

#endif /* VELO_MLX5_H */
