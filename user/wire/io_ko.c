// SPDX-License-Identifier: GPL-2.0
/*
 * The wire stack on velo.ko's rings (ko/velo_ko.h): one velo.ko stack per
 * wire stack, whatever the interface's queue count (the soft provider takes
 * any queue; velo.ko's filters steer the stack's flows to it).
 */
#include <errno.h>

#include "common/log.h"
#include "wire/io_frames.h"

#define KO(s, i) ((void)(i), (s)->ko.k)

static int ko_open(struct velo_wire_stack *st)
{
	struct velo_ko_config kc = { .ifname = st->ifname };
	int err = velo_ko_open(&kc, &st->ko.k);

	if (err)
		return err;
	st->nq = 1;
	velo_dbg("wire: %s: velo.ko stack %u", st->ifname, velo_ko_stack_id(st->ko.k));
	return 0;
}

/* The module RSTs the peers of connection records still open (none are kept yet). */
static void ko_close(struct velo_wire_stack *st)
{
	velo_ko_close(st->ko.k);
	st->nq = 0;
}

/* The engine computes every checksum: none is left to the provider. */
static void ko_tx_flush(struct velo_wire_stack *st)
{
	velo_ko_tx_submit(st->ko.k, st->ko.txq, st->ntx, 0);
	st->ntx = 0;
}

/* Completed sends make the fd readable: take them back before sleeping on it. */
static int ko_sleep_fd(struct velo_wire_stack *st, unsigned int q)
{
	(void)q;
	velo_ko_tx_reap(st->ko.k);
	return velo_ko_fd(st->ko.k);
}

/*
 * velo.ko takes every segment matching a listening filter, including those
 * of the kernel's own connections on that port (it has no counterpart of the
 * XDP program's bpf_skc_lookup_tcp): a listener sharing its port with the
 * application's kernel listener stays the kernel's.
 */
static int ko_filter_add(struct velo_wire_stack *st, const struct velo_xsk_flow *flow,
			 bool kernel_too, union wire_filter *h)
{
	struct velo_ko_flow kf = { .family = flow->family, .local_port = flow->local_port,
				   .remote_port = flow->remote_port };

	if (!flow->remote_port && kernel_too)
		return -EOPNOTSUPP;
	memcpy(kf.local_addr, flow->local_addr, sizeof(kf.local_addr));
	memcpy(kf.remote_addr, flow->remote_addr, sizeof(kf.remote_addr));
	return velo_ko_filter_add(st->ko.k, &kf, 0, &h->ko);
}

static int ko_filter_remove(struct velo_wire_stack *st, const union wire_filter *h)
{
	return velo_ko_filter_remove(st->ko.k, h->ko);
}

static void ko_stats(struct velo_wire_stack *st, struct velo_wire_stats *s)
{
	s->ko_stack = velo_ko_stack_id(st->ko.k);
}

WIRE_IO_BACKEND(velo_ko, ko, KO, VELO_WIRE_KO, "velo.ko")
