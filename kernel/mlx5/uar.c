// SPDX-License-Identifier: GPL-2.0
/*
 * The stack's UAR: a doorbell page of its own (not one of mlx5_core's
 * shared kernel pages, whose other doorbells belong to other queues),
 * mapped write-combining into the process for the SQ doorbell, and
 * ioremapped for the kernel, which arms the CQs when a wait sleeps.
 *
 * The stack can lose its device while the page is still mapped (the
 * netdev goes away): then every user mapping is zapped before the page is
 * given back, so a process can never ring a doorbell the firmware has
 * handed to someone else. The mappings are tracked for that (fork and
 * mremap copy them through ->open).
 */
#include <linux/io.h>
#include <linux/mlx5/doorbell.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "mlx5.h"

struct velo_mlx5_uar_vma {
	struct list_head node;
	struct vm_area_struct *vma;
};

unsigned long velo_mlx5_uar_pfn(phys_addr_t bar, u32 index, bool uar_4k)
{
	/* With 4 KB UARs, a larger system page holds several of them. */
	return (bar >> PAGE_SHIFT) + index / (uar_4k ? MLX5_UARS_IN_PAGE : 1);
}

/* The page's first blue-flame register, used as a plain 64-bit doorbell. */
u32 velo_mlx5_uar_db_offset(void)
{
	return MLX5_BF_OFFSET;
}

static int velo_mlx5_uar_cmd(struct mlx5_core_dev *mdev, u32 *index)
{
	u32 out[MLX5_ST_SZ_DW(alloc_uar_out)] = {};
	u32 in[MLX5_ST_SZ_DW(alloc_uar_in)] = {};
	int ret;

	MLX5_SET(alloc_uar_in, in, opcode, MLX5_CMD_OP_ALLOC_UAR);
	ret = mlx5_cmd_exec_inout(mdev, alloc_uar, in, out);
	if (!ret)
		*index = MLX5_GET(alloc_uar_out, out, uar);
	return ret;
}

static void velo_mlx5_uar_dealloc(struct mlx5_core_dev *mdev, u32 index)
{
	u32 in[MLX5_ST_SZ_DW(dealloc_uar_in)] = {};

	MLX5_SET(dealloc_uar_in, in, opcode, MLX5_CMD_OP_DEALLOC_UAR);
	MLX5_SET(dealloc_uar_in, in, uar, index);
	mlx5_cmd_exec_in(mdev, dealloc_uar, in);
}

static void velo_mlx5_uar_release(struct kref *ref)
{
	kfree(container_of(ref, struct velo_mlx5_uar, ref));
}

struct velo_mlx5_uar *velo_mlx5_uar_alloc(struct mlx5_core_dev *mdev)
{
	struct velo_mlx5_uar *u = kzalloc(sizeof(*u), GFP_KERNEL);
	int ret;

	if (!u)
		return ERR_PTR(-ENOMEM);
	kref_init(&u->ref);
	mutex_init(&u->lock);
	INIT_LIST_HEAD(&u->vmas);
	ret = velo_mlx5_uar_cmd(mdev, &u->index);
	if (ret) {
		kfree(u);
		return ERR_PTR(ret);
	}
	u->pfn = velo_mlx5_uar_pfn(mdev->bar_addr, u->index, MLX5_CAP_GEN(mdev, uar_4k));
	u->map = ioremap(u->pfn << PAGE_SHIFT, PAGE_SIZE);
	if (!u->map) {
		velo_mlx5_uar_dealloc(mdev, u->index);
		kfree(u);
		return ERR_PTR(-ENOMEM);
	}
	return u;
}

static void velo_mlx5_uar_track(struct velo_mlx5_uar *u, struct vm_area_struct *vma)
{
	/* ->open cannot fail: the entry is small and must exist. */
	struct velo_mlx5_uar_vma *e = kzalloc(sizeof(*e), GFP_KERNEL | __GFP_NOFAIL);

	e->vma = vma;
	kref_get(&u->ref);
	mutex_lock(&u->lock);
	list_add(&e->node, &u->vmas);
	mutex_unlock(&u->lock);
}

static void velo_mlx5_uar_vm_open(struct vm_area_struct *vma)
{
	velo_mlx5_uar_track(vma->vm_private_data, vma);
}

static void velo_mlx5_uar_vm_close(struct vm_area_struct *vma)
{
	struct velo_mlx5_uar *u = vma->vm_private_data;
	struct velo_mlx5_uar_vma *e, *found = NULL;

	mutex_lock(&u->lock);
	list_for_each_entry(e, &u->vmas, node) {
		if (e->vma == vma) {
			found = e;
			list_del(&e->node);
			break;
		}
	}
	mutex_unlock(&u->lock);
	kfree(found);
	kref_put(&u->ref, velo_mlx5_uar_release);
}

/* One page, never split: a partial munmap of it is refused. */
static int velo_mlx5_uar_vm_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

static const struct vm_operations_struct velo_mlx5_uar_vm_ops = {
	.open = velo_mlx5_uar_vm_open,
	.close = velo_mlx5_uar_vm_close,
	.may_split = velo_mlx5_uar_vm_split,
};

int velo_mlx5_uar_mmap(struct velo_mlx5_uar *u, struct vm_area_struct *vma)
{
	int ret;

	if (vma->vm_end - vma->vm_start != PAGE_SIZE)
		return -EINVAL;
	vma->vm_flags |= VM_IO | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_page_prot = pgprot_writecombine(vma->vm_page_prot);
	ret = io_remap_pfn_range(vma, vma->vm_start, u->pfn, PAGE_SIZE, vma->vm_page_prot);
	if (ret)
		return ret;
	vma->vm_private_data = u;
	vma->vm_ops = &velo_mlx5_uar_vm_ops;
	velo_mlx5_uar_track(u, vma);
	return 0;
}

/*
 * Zap the user mappings of @u, one mm at a time: mmap_lock before u->lock,
 * as in mmap and ->close. A mapping whose mm is exiting goes by itself.
 * An entry leaves the list here or in ->close, and is freed by whoever
 * takes it off; the vma's reference on @u stays until ->close.
 */
static void velo_mlx5_uar_zap(struct velo_mlx5_uar *u)
{
	struct velo_mlx5_uar_vma *e, *tmp;
	struct mm_struct *mm;

	for (;;) {
		mutex_lock(&u->lock);
		e = list_first_entry_or_null(&u->vmas, struct velo_mlx5_uar_vma, node);
		mm = e ? e->vma->vm_mm : NULL;
		if (mm && !mmget_not_zero(mm)) {
			list_del(&e->node);
			kfree(e);
			mm = NULL;
		}
		mutex_unlock(&u->lock);
		if (!e)
			return;
		if (!mm)
			continue;
		mmap_read_lock(mm);
		mutex_lock(&u->lock);
		list_for_each_entry_safe(e, tmp, &u->vmas, node) {
			if (e->vma->vm_mm != mm)
				continue;
			zap_vma_ptes(e->vma, e->vma->vm_start, PAGE_SIZE);
			list_del(&e->node);
			kfree(e);
		}
		mutex_unlock(&u->lock);
		mmap_read_unlock(mm);
		mmput(mm);
	}
}

void velo_mlx5_uar_free(struct velo_mlx5_uar *u, struct mlx5_core_dev *mdev)
{
	velo_mlx5_uar_zap(u);
	iounmap(u->map);
	velo_mlx5_uar_dealloc(mdev, u->index);
	kref_put(&u->ref, velo_mlx5_uar_release);
}
