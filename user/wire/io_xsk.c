// SPDX-License-Identifier: GPL-2.0
/*
 * The wire stack on AF_XDP (xdp/velo_xsk.h): one XSK per RX queue of the
 * interface, all of one owner, so the stack's flows reach it on any queue.
 */
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "wire/io_frames.h"

#define XSK(s, i) ((s)->xsk.q[i])
#define XSK_ON_TX(s, f, len) ((void)0)

/* RX queues of the interface (ETHTOOL_GCHANNELS), at least 1. */
static unsigned int rx_queues(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = { .ifr_data = (void *)&ch };
	unsigned int n = 1;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (fd >= 0 && ioctl(fd, SIOCETHTOOL, &ifr) == 0 && ch.rx_count + ch.combined_count)
		n = ch.rx_count + ch.combined_count;
	if (fd >= 0)
		close(fd);
	return n < WIRE_MAX_QUEUES ? n : WIRE_MAX_QUEUES;
}

static void xsk_close(struct velo_wire_stack *st)
{
	/* the extra queues first: they share the first one's owner */
	while (st->nq > 1)
		velo_xsk_close(st->xsk.q[--st->nq]);
	if (st->nq)
		velo_xsk_close(st->xsk.q[--st->nq]);
}

static int xsk_open(struct velo_wire_stack *st)
{
	unsigned int n = rx_queues(st->ifname);
	int err;

	for (st->nq = 0; st->nq < n; st->nq++) {
		struct velo_xsk_config xc = { .ifname = st->ifname, .queue = st->nq,
					      .frames = st->cfg.xsk_frames,
					      .force_generic = st->cfg.force_generic,
					      .same_owner_as = st->nq ? st->xsk.q[0] : NULL };

		err = velo_xsk_open(&xc, &st->xsk.q[st->nq]);
		if (err) {
			xsk_close(st);
			return err;
		}
	}
	return 0;
}

static void xsk_tx_flush(struct velo_wire_stack *st)
{
	velo_xsk_tx_submit(st->xsk.q[0], st->xsk.txq, st->ntx);
	st->ntx = 0;
}

static int xsk_sleep_fd(struct velo_wire_stack *st, unsigned int q)
{
	return velo_xsk_fd(st->xsk.q[q]);
}

/* The XDP program leaves the kernel's own connections to the kernel: @kernel_too is fine. */
static int xsk_filter_add(struct velo_wire_stack *st, const struct velo_xsk_flow *flow,
			  bool kernel_too, union wire_filter *h)
{
	(void)kernel_too;
	return velo_xsk_filter_add(st->xsk.q[0], flow, &h->xsk);
}

static int xsk_filter_remove(struct velo_wire_stack *st, const union wire_filter *h)
{
	return velo_xsk_filter_remove(st->xsk.q[0], &h->xsk);
}

static void xsk_stats(struct velo_wire_stack *st, struct velo_wire_stats *s)
{
	struct velo_xsk_stats xs;

	velo_xsk_get_stats(st->xsk.q[0], &xs);
	s->xdp_redirected = xs.redirected;
	s->xdp_passed = xs.passed;
	s->xdp_no_socket = xs.no_socket;
	s->xdp_foreign_queue = xs.foreign_queue;
}

WIRE_IO_BACKEND(velo_xsk, xsk, XSK, XSK_ON_TX, VELO_WIRE_XDP, "AF_XDP")
