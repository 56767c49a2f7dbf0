// SPDX-License-Identifier: GPL-2.0
/*
 * The stack's area for the device: every page of the one vmalloc_user()
 * area is DMA-mapped (queues, CQs and doorbell records are described to
 * the device by their pages' addresses), and the packet buffers get an
 * mkey whose virtual addresses are offsets in "buf", as the uapi promises
 * for data segments (lkey, addr = offset). The mkey and the stack's
 * queues are in a protection domain of their own: a WQE naming another
 * stack's lkey is refused by the device, not served from that memory.
 *
 * The area stays mapped in user space: the NIC and the process share it,
 * as with any user-space NIC driver. x86's DMA is cache-coherent, so no
 * syncs are needed around the device's writes.
 */
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "mlx5.h"

/* The buffer mkey's variant byte (lkey[7:0]): any value; "v". */
#define VELO_MLX5_MKEY_VARIANT	0x76

void velo_mlx5_pas_fill(__be64 *pas, const dma_addr_t *dma, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		pas[i] = cpu_to_be64(dma[i]);
}

/* MTT entries are 8 bytes, counted in 16-byte octwords. */
int velo_mlx5_mkey_inlen(unsigned int npages)
{
	return MLX5_ST_SZ_BYTES(create_mkey_in) + round_up(npages * sizeof(u64), 16);
}

/* A local read/write mkey over @npages pages at virtual addresses 0..len. */
void velo_mlx5_mkey_in(u32 *in, u32 pdn, u64 len, const dma_addr_t *pas,
		       unsigned int npages)
{
	void *mkc = MLX5_ADDR_OF(create_mkey_in, in, memory_key_mkey_entry);

	MLX5_SET(create_mkey_in, in, translations_octword_actual_size,
		 DIV_ROUND_UP(npages, 2));
	MLX5_SET(mkc, mkc, access_mode_1_0, MLX5_MKC_ACCESS_MODE_MTT);
	MLX5_SET(mkc, mkc, lr, 1);
	MLX5_SET(mkc, mkc, lw, 1);
	MLX5_SET(mkc, mkc, qpn, 0xffffff);
	MLX5_SET(mkc, mkc, pd, pdn);
	MLX5_SET(mkc, mkc, mkey_7_0, VELO_MLX5_MKEY_VARIANT);
	MLX5_SET64(mkc, mkc, start_addr, 0);
	MLX5_SET64(mkc, mkc, len, len);
	MLX5_SET(mkc, mkc, log_page_size, PAGE_SHIFT);
	MLX5_SET(mkc, mkc, translations_octword_size, DIV_ROUND_UP(npages, 2));
	velo_mlx5_pas_fill(MLX5_ADDR_OF(create_mkey_in, in, klm_pas_mtt), pas, npages);
}

static int velo_mlx5_pd_alloc(struct mlx5_core_dev *mdev, u32 *pdn)
{
	u32 out[MLX5_ST_SZ_DW(alloc_pd_out)] = {};
	u32 in[MLX5_ST_SZ_DW(alloc_pd_in)] = {};
	int ret;

	MLX5_SET(alloc_pd_in, in, opcode, MLX5_CMD_OP_ALLOC_PD);
	ret = mlx5_cmd_exec_inout(mdev, alloc_pd, in, out);
	if (!ret)
		*pdn = MLX5_GET(alloc_pd_out, out, pd);
	return ret;
}

static void velo_mlx5_pd_free(struct mlx5_core_dev *mdev, u32 pdn)
{
	u32 in[MLX5_ST_SZ_DW(dealloc_pd_in)] = {};

	MLX5_SET(dealloc_pd_in, in, opcode, MLX5_CMD_OP_DEALLOC_PD);
	MLX5_SET(dealloc_pd_in, in, pd, pdn);
	mlx5_cmd_exec_in(mdev, dealloc_pd, in);
}

int velo_mlx5_mem_map(struct velo_mlx5_mem *m, struct mlx5_core_dev *mdev,
		      const struct velo_stack *s)
{
	unsigned int i;

	m->dma_dev = mdev->device;
	m->dma = kvcalloc(s->mem_size >> PAGE_SHIFT, sizeof(*m->dma), GFP_KERNEL);
	if (!m->dma)
		return -ENOMEM;
	for (i = 0; i < s->mem_size >> PAGE_SHIFT; i++) {
		struct page *page = vmalloc_to_page((u8 *)s->mem + ((size_t)i << PAGE_SHIFT));

		m->dma[i] = dma_map_page(m->dma_dev, page, 0, PAGE_SIZE, DMA_BIDIRECTIONAL);
		if (dma_mapping_error(m->dma_dev, m->dma[i]))
			return -ENOMEM;	/* velo_mlx5_mem_unmap() undoes the rest */
		m->npages = i + 1;
	}
	return 0;
}

int velo_mlx5_mkey_create(struct velo_mlx5_mem *m, struct mlx5_core_dev *mdev,
			  u64 buf_size)
{
	unsigned int npages = buf_size >> PAGE_SHIFT;
	int inlen = velo_mlx5_mkey_inlen(npages);
	u32 *in;
	int ret;

	ret = velo_mlx5_pd_alloc(mdev, &m->pdn);
	if (ret)
		return ret;
	m->has_pd = true;
	in = kvzalloc(inlen, GFP_KERNEL);
	if (!in)
		return -ENOMEM;
	/* "buf" is the area's first region: its pages come first. */
	velo_mlx5_mkey_in(in, m->pdn, buf_size, m->dma, npages);
	ret = mlx5_core_create_mkey(mdev, &m->mkey, in, inlen);
	kvfree(in);
	m->has_mkey = !ret;
	return ret;
}

void velo_mlx5_mem_unmap(struct velo_mlx5_mem *m, struct mlx5_core_dev *mdev)
{
	unsigned int i;

	if (m->has_mkey)
		mlx5_core_destroy_mkey(mdev, m->mkey);
	if (m->has_pd)
		velo_mlx5_pd_free(mdev, m->pdn);
	for (i = 0; i < m->npages; i++)
		dma_unmap_page(m->dma_dev, m->dma[i], PAGE_SIZE, DMA_BIDIRECTIONAL);
	kvfree(m->dma);
}
