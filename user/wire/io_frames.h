/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-frame glue between the engine and a frame backend with velo_xsk's
 * burst shape (API_rx_burst, _rx_release, _tx_alloc, _frame_size, frames
 * with data and len), written once for io_ko.c and io_xsk.c: each expansion
 * calls its own backend directly, so a frame costs no indirect call.
 * @u is the stack's union member (txq), @dev(st, q) the backend handle of
 * queue q (q 0 transmits), @on_tx(st, frame, len) sees each frame sent. The expansion ends with the backend's ops,
 * wire_io_U, from U_open, U_close, U_tx_flush, U_sleep_fd, U_filter_add,
 * U_filter_remove and U_stats, defined before it.
 */
#ifndef VELO_WIRE_IO_FRAMES_H
#define VELO_WIRE_IO_FRAMES_H

#include <string.h>

#include "wire/priv.h"

#define WIRE_IO_BACKEND(api, u, dev, on_tx, kind_, name_)                                                      \
	static unsigned int u##_rx(struct velo_wire_stack *st, unsigned int q, uint64_t now) \
	{                                                                                  \
		struct api##_frame f[WIRE_RX_BATCH];                                       \
		unsigned int n = api##_rx_burst(dev(st, q), f, WIRE_RX_BATCH);             \
                                                                                           \
		for (unsigned int i = 0; i < n; i++) {                                     \
			int refused = vtcp_input(st->eng, f[i].data, f[i].len, now);       \
                                                                                           \
			if (refused >= 0) /* urgent data: kept for the kernel */           \
				wire_keep_refused(st, refused, f[i].data, f[i].len);       \
		}                                                                          \
		api##_rx_release(dev(st, q), f, n);                                        \
		return n;                                                                  \
	}                                                                                  \
                                                                                           \
	static void u##_tx_frame(void *ctx, const void *frame, size_t len)                 \
	{                                                                                  \
		struct velo_wire_stack *st = ctx;                                          \
		struct api##_frame *f = &st->u.txq[st->ntx];                               \
                                                                                           \
		if (len > api##_frame_size(dev(st, 0)) ||                                  \
		    api##_tx_alloc(dev(st, 0), f, 1) != 1) {                               \
			st->stats.tx_dropped++; /* the engine retransmits */               \
			return;                                                            \
		}                                                                          \
		memcpy(f->data, frame, len);                                               \
		f->len = (uint32_t)len;                                                    \
		on_tx(st, f->data, len);                                                   \
		st->stats.tx_frames++;                                                     \
		if (++st->ntx == WIRE_TX_BATCH)                                            \
			u##_tx_flush(st);                                                  \
	}                                                                                  \
                                                                                           \
	const struct wire_io_ops wire_io_##u = {                                           \
		.kind = kind_, .name = name_, .open = u##_open, .close = u##_close,        \
		.rx = u##_rx, .tx_frame = u##_tx_frame, .tx_flush = u##_tx_flush,         \
		.sleep_fd = u##_sleep_fd, .filter_add = u##_filter_add,                    \
		.filter_remove = u##_filter_remove, .stats = u##_stats,                    \
	};

#endif /* VELO_WIRE_IO_FRAMES_H */
