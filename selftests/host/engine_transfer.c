// SPDX-License-Identifier: GPL-2.0
/*
 * Engine-to-engine bulk transfers over an emulated link in virtual time:
 * both congestion controls, with and without SACK/timestamps, IPv6, and
 * netem-like loss, reordering, duplication and corruption. Data is
 * verified byte for byte. Also listeners that share a port
 * (SO_REUSEPORT), with connections from many ports.
 */
#include <errno.h>
#include <string.h>

#include "engine_pair.h"
#include "ktap.h"

#define MB (1024ull * 1024)
#define MS 1000000ull
#define SEC 1000000000ull

static struct ep P;

static uint32_t last_rcv_space;
static int last_rcvbuf;

static int bulk(struct vtcp_config *cfg, bool v6, struct ep_impair im, uint64_t bytes,
		const char *cc, bool both, uint64_t limit_s)
{
	struct ep_bulk b = { .bytes = bytes, .cc = cc, .both_ways = both };
	int r;

	if (ep_init(&P, cfg, v6, 12345))
		return KTAP_FAIL;
	P.dir[0].im = im;
	P.dir[1].im = im;
	r = ep_bulk(&P, &b, limit_s * SEC);
	if (!r) {
		double secs = (double)b.elapsed_ns / 1e9;

		ktap_diag("%llu bytes in %.3f s virtual (%.1f Mbit/s), %llu retransmissions, %llu/%llu frames dropped",
			  (unsigned long long)bytes, secs, bytes * 8 / secs / 1e6,
			  (unsigned long long)b.retrans, (unsigned long long)P.dir[0].dropped,
			  (unsigned long long)P.dir[0].sent);
	}
	last_rcv_space = b.rcv_space;
	last_rcvbuf = b.rcvbuf;
	ep_fini(&P);
	return r ? KTAP_FAIL : KTAP_PASS;
}

static struct vtcp_config base(void)
{
	struct vtcp_config c;

	memset(&c, 0, sizeof(c));
	c.max_sockets = 8;
	c.sndbuf_max = 1 << 20;
	c.rcvbuf_max = 1 << 20;
	return c;
}

static const struct ep_impair clean = { .delay_ns = 5 * MS, .rate_bps = 100000000 };

static int clean_cubic(void)
{
	struct vtcp_config c = base();
	int r = bulk(&c, false, clean, 20 * MB, "cubic", false, 60);

	/*
	 * 100 Mbit/s x 10 ms needs ~125 kB: autotuning must have opened past
	 * 64 kB; SO_RCVBUF, never set, reads twice that, as Linux's grown one
	 */
	ktap_diag("receiver window autotuned to %u bytes, SO_RCVBUF %d", last_rcv_space,
		  last_rcvbuf);
	KTAP_EXPECT(last_rcv_space > 125000 && last_rcv_space <= (1u << 20));
	KTAP_EXPECT(last_rcvbuf == 2 * (int)last_rcv_space);
	return r;
}

static int clean_reno(void)
{
	struct vtcp_config c = base();

	return bulk(&c, false, clean, 20 * MB, "reno", false, 60);
}

static int both_ways_v6(void)
{
	struct vtcp_config c = base();

	return bulk(&c, true, clean, 8 * MB, NULL, true, 60);
}

static int loss3_sack(void)
{
	struct vtcp_config c = base();
	struct ep_impair im = clean;

	im.loss_ppm = 30000;
	return bulk(&c, false, im, 4 * MB, NULL, false, 300);
}

static int loss3_nosack_nots(void)
{
	struct vtcp_config c = base();
	struct ep_impair im = clean;

	c.no_sack = 1;
	c.no_timestamps = 1;
	im.loss_ppm = 30000;
	return bulk(&c, false, im, 4 * MB, "reno", false, 600);
}

static int netem_mix(void)
{
	struct vtcp_config c = base();
	struct ep_impair im = clean;

	im.loss_ppm = 10000;
	im.reorder_ppm = 20000;
	im.dup_ppm = 10000;
	im.corrupt_ppm = 10000;
	return bulk(&c, false, im, 4 * MB, NULL, true, 600);
}

static int small_buffers_no_wscale(void)
{
	struct vtcp_config c = base();

	/* a peer window far below what the sender has queued keeps flowing */
	c.rcvbuf_max = 8192;
	c.no_window_scaling = 1;
	return bulk(&c, false, clean, 2 * MB, NULL, false, 120);
}

static int bottleneck_queue_drops(void)
{
	struct vtcp_config c = base();
	struct ep_impair im = clean;

	im.queue_pkts = 30; /* CUBIC overshoots a shallow queue: tail drops */
	return bulk(&c, false, im, 20 * MB, NULL, false, 120);
}

#define RP_LISTENERS 3
#define RP_CONNS 24

struct reuseport_run {
	int l[RP_LISTENERS];
	unsigned int got[RP_LISTENERS], total;
};

static bool all_accepted(struct ep *ep, void *ctx)
{
	struct reuseport_run *r = ctx;

	for (int i = 0; i < RP_LISTENERS; i++)
		for (int s; (s = vtcp_accept(ep->st[1], r->l[i], NULL, NULL)) >= 0; r->total++)
			r->got[i]++;
	return r->total == RP_CONNS;
}

/*
 * Three listeners with SO_REUSEPORT on one port: a socket without it
 * cannot bind there; 24 connections from as many ports are all accepted,
 * and each listener gets some, as Linux spreads a group's SYNs by hash.
 */
static int reuseport_spreads(void)
{
	struct vtcp_config cfg = base();
	struct reuseport_run r = { .total = 0 };
	struct sockaddr_storage ss;
	int other;

	cfg.max_sockets = 64;
	if (ep_init(&P, &cfg, false, 777))
		return KTAP_FAIL;
	ep_addr(&P, 1, &ss, 5001);
	for (int i = 0; i < RP_LISTENERS; i++) {
		r.l[i] = vtcp_socket(P.st[1], AF_INET);
		KTAP_EXPECT(!vtcp_setopt(P.st[1], r.l[i], VTCP_REUSEPORT, 1) &&
			    !vtcp_bind(P.st[1], r.l[i], (struct sockaddr *)&ss, sizeof(ss)) &&
			    !vtcp_listen(P.st[1], r.l[i], 32));
	}
	other = vtcp_socket(P.st[1], AF_INET);
	KTAP_EXPECT(vtcp_bind(P.st[1], other, (struct sockaddr *)&ss, sizeof(ss)) == -EADDRINUSE);
	for (int i = 0; i < RP_CONNS; i++) {
		int c = vtcp_socket(P.st[0], AF_INET);

		KTAP_EXPECT(vtcp_connect(P.st[0], c, (struct sockaddr *)&ss, sizeof(ss)) == -EINPROGRESS);
	}
	KTAP_EXPECT(ep_run(&P, all_accepted, &r, 5 * SEC));
	for (int i = 0; i < RP_LISTENERS; i++) {
		ktap_diag("listener %d: %u connections", i, r.got[i]);
		KTAP_EXPECT(r.got[i] > 0);
	}
	ep_fini(&P);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "bulk_clean_cubic", clean_cubic, 0 },
	{ "bulk_clean_reno", clean_reno, 0 },
	{ "bulk_both_ways_v6", both_ways_v6, 0 },
	{ "bulk_loss3_sack_rack", loss3_sack, 0 },
	{ "bulk_loss3_nosack_nots_newreno", loss3_nosack_nots, 0 },
	{ "bulk_netem_mix_both_ways", netem_mix, 0 },
	{ "bulk_small_window", small_buffers_no_wscale, 0 },
	{ "bulk_bottleneck_queue", bottleneck_queue_drops, 0 },
	{ "reuseport_spreads", reuseport_spreads, 0 },
};

KTAP_MAIN(cases)
