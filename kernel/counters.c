// SPDX-License-Identifier: GPL-2.0
/* Counters: per stack and global, with the names sysfs and netlink use. */
#include "velo.h"

const char *const velo_counter_names[VELO_CNT_MAX] = {
	[VELO_CNT_RX_FRAMES] = "rx_frames",
	[VELO_CNT_RX_BYTES] = "rx_bytes",
	[VELO_CNT_RX_NO_WQE] = "rx_drop_no_wqe",
	[VELO_CNT_RX_BAD_WQE] = "rx_drop_bad_wqe",
	[VELO_CNT_RX_CQ_FULL] = "rx_drop_cq_full",
	[VELO_CNT_RX_GRO_SPLIT] = "rx_gro_split",
	[VELO_CNT_RX_SPLIT_FAIL] = "rx_drop_split",
	[VELO_CNT_TX_FRAMES] = "tx_frames",
	[VELO_CNT_TX_BYTES] = "tx_bytes",
	[VELO_CNT_TX_BAD_INDEX] = "tx_drop_bad_index",
	[VELO_CNT_TX_BAD_WQE] = "tx_drop_bad_wqe",
	[VELO_CNT_TX_BAD_DATA] = "tx_drop_bad_data",
	[VELO_CNT_TX_BAD_FRAME] = "tx_drop_bad_frame",
	[VELO_CNT_TX_SPOOF] = "tx_drop_spoof",
	[VELO_CNT_TX_DEV_DROP] = "tx_drop_dev",
	[VELO_CNT_KICKS] = "kicks",
	[VELO_CNT_WAKEUPS] = "wakeups",
	[VELO_CNT_RST_SENT] = "rst_sent",
	[VELO_CNT_RST_INVALID] = "rst_refused",
};

atomic64_t velo_global_cnt[VELO_CNT_MAX];
atomic_t velo_live_stacks;
atomic_t velo_live_filters;
atomic_long_t velo_live_mem;

void velo_count(struct velo_stack *s, enum velo_counter c, u64 n)
{
	atomic64_add(n, &s->cnt[c]);
	atomic64_add(n, &velo_global_cnt[c]);
}
