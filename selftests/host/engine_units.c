// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the engine's modules through their internal interfaces:
 * checksum, options, rings, SipHash/ISN, the SACK receiver ranges and
 * sender scoreboard, congestion control, RTT/RTO, ARP and neighbour
 * discovery, IPv6 link-local scope and flow labels.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/internal.h"
#include "ktap.h"

static int t_csum(void)
{
	/* RFC 1071 section 3 example */
	static const uint8_t d[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	KTAP_EXPECT(csum_fold(csum_add(0, d, sizeof(d))) == (uint16_t)~0xddf2);
	/* odd length pads with a zero byte; splitting at an even offset is associative */
	KTAP_EXPECT(csum_add(0, d, 7) == csum_add(csum_add(0, d, 4), d + 4, 3));
	return KTAP_PASS;
}

static int t_options(void)
{
	struct tcp_opts o = { .mss_ok = true, .mss = 1460, .ws_ok = true, .ws = 7,
			      .sack_ok = true, .ts_ok = true, .tsval = 123, .tsecr = 456 }, p;
	uint8_t buf[40], bad[] = { 2, 0, 5, 0xb4 }, big_ws[] = { 3, 3, 20, 0 };
	unsigned int n = tcp_opts_build(buf, &o, true);

	KTAP_EXPECT(n == 20 && n % 4 == 0);
	KTAP_EXPECT(tcp_opts_parse(buf, n, true, &p));
	KTAP_EXPECT(p.mss_ok && p.mss == 1460 && p.ws_ok && p.ws == 7 && p.sack_ok &&
		    p.ts_ok && p.tsval == 123 && p.tsecr == 456);
	/* SYN-only options are ignored elsewhere */
	KTAP_EXPECT(tcp_opts_parse(buf, n, false, &p) && !p.mss_ok && !p.ws_ok && p.ts_ok);
	KTAP_EXPECT(!tcp_opts_parse(bad, sizeof(bad), true, &p));
	KTAP_EXPECT(tcp_opts_parse(big_ws, sizeof(big_ws), true, &p) && p.ws == 14);
	memset(&o, 0, sizeof(o));
	o.nsack = 2;
	o.sack[0][0] = 10, o.sack[0][1] = 20, o.sack[1][0] = 30, o.sack[1][1] = 40;
	n = tcp_opts_build(buf, &o, false);
	KTAP_EXPECT(n == 20 && tcp_opts_parse(buf, n, false, &p) && p.nsack == 2 &&
		    p.sack[1][0] == 30 && p.sack[1][1] == 40);
	return KTAP_PASS;
}

static int t_ring(void)
{
	uint8_t mem[16], out[16];
	const uint8_t *p1, *p2;
	uint32_t l1, l2;
	struct ring r;

	ring_init(&r, mem, sizeof(mem));
	KTAP_EXPECT(ring_write_at(&r, 0, "0123456789", 10) == 10);
	r.len = 10;
	ring_pop(&r, 8);
	/* written across the end of the buffer */
	KTAP_EXPECT(ring_write_at(&r, 2, "abcdefghij", 10) == 10);
	r.len = 12;
	ring_read_at(&r, 0, out, 12);
	KTAP_EXPECT(memcmp(out, "89abcdefghij", 12) == 0);
	ring_spans(&r, 0, 12, &p1, &l1, &p2, &l2);
	KTAP_EXPECT(l1 == 8 && l2 == 4 && memcmp(p2, "ghij", 4) == 0);
	/* never beyond capacity */
	KTAP_EXPECT(ring_write_at(&r, 14, "xyzw", 4) == 2);
	KTAP_EXPECT(r.hiwat == sizeof(mem));
	return KTAP_PASS;
}

/* Pages a ring touched, counted by mincore(), from byte @from to @to. */
static size_t resident_pages(const uint8_t *base, size_t from, size_t to)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 0;
	unsigned char vec[1024];

	if (mincore((void *)(base + from), to - from, vec))
		return (size_t)-1;
	for (size_t i = 0; i < (to - from) / page; i++)
		n += vec[i] & 1;
	return n;
}

/*
 * A ring that held a bulk transfer gives its pages past the first 256 KiB
 * back when the connection is freed; a ring only written at its start
 * keeps them (no system call for a small connection).
 */
static int t_ring_release(void)
{
	const size_t cap = 2u << 20, keep = 256u << 10;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *mem = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static uint8_t chunk[64 << 10];
	struct ring r;

	KTAP_EXPECT(mem != MAP_FAILED && cap / page <= 1024);
	memset(chunk, 0xa5, sizeof(chunk));
	ring_init(&r, mem, (uint32_t)cap);
	for (size_t off = 0; off < cap; off += sizeof(chunk))
		ring_write_at(&r, (uint32_t)off, chunk, sizeof(chunk));
	KTAP_EXPECT(r.hiwat == cap && resident_pages(mem, 0, cap) == cap / page);
	ring_release(&r);
	KTAP_EXPECT(resident_pages(mem, 0, keep) == keep / page);
	KTAP_EXPECT(resident_pages(mem, keep, cap) == 0 && mem[cap - 1] == 0);
	ring_init(&r, mem, (uint32_t)cap);
	ring_write_at(&r, 0, chunk, sizeof(chunk));
	ring_release(&r);
	KTAP_EXPECT(resident_pages(mem, 0, keep) == keep / page && mem[0] == 0xa5);
	munmap(mem, cap);
	return KTAP_PASS;
}

static int t_siphash_isn(void)
{
	uint8_t key[16], msg[15];
	struct vtcp_config cfg = { .max_sockets = 2, .sndbuf_max = 4096, .rcvbuf_max = 4096,
				   .mtu = 1500 };
	struct vtcp_stack *st;
	struct tcb a, b;
	uint32_t i1, i2;

	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	/* the reference vector of the SipHash paper (appendix A) */
	KTAP_EXPECT(siphash24(key, msg, 15) == 0xa129ca6149be45e5ull);
	st = vtcp_stack_create(&cfg);
	KTAP_EXPECT(st);
	memset(&a, 0, sizeof(a));
	a.laddr.fam = a.raddr.fam = 4;
	a.lport = 1000;
	a.rport = 80;
	b = a;
	b.rport = 81;
	st->now = 1000000;
	i1 = isn_generate(st, &a);
	KTAP_EXPECT(i1 != isn_generate(st, &b));
	st->now += 4000 * 1000; /* 4 ms: the clock term adds 1000 */
	i2 = isn_generate(st, &a);
	KTAP_EXPECT(i2 - i1 == 1000);
	vtcp_stack_destroy(st);
	return KTAP_PASS;
}

static int t_ooo_sack_blocks(void)
{
	static struct tcb tp;
	uint32_t b[4][2];

	memset(&tp, 0, sizeof(tp));
	tp.rcv_nxt = 100;
	KTAP_EXPECT(ooo_add(&tp, 200, 300));
	KTAP_EXPECT(ooo_add(&tp, 400, 500));
	KTAP_EXPECT(ooo_add(&tp, 300, 350)); /* merges with the first */
	KTAP_EXPECT(tp.nooo == 2);
	KTAP_EXPECT(sack_blocks(&tp, b, 3) == 2);
	/* most recently touched first */
	KTAP_EXPECT(b[0][0] == 200 && b[0][1] == 350 && b[1][0] == 400);
	tp.dsack = true;
	tp.dsack_start = 50, tp.dsack_end = 60;
	KTAP_EXPECT(sack_blocks(&tp, b, 3) == 3 && b[0][0] == 50);
	/* in-order data reaching a range pulls it in */
	tp.rcv_nxt = 200;
	ooo_advance(&tp);
	KTAP_EXPECT(tp.rcv_nxt == 350 && tp.nooo == 1 && tp.rcvq.len == 150);
	/* a full table refuses rather than forgets */
	for (uint32_t i = 0; tp.nooo < TCP_OOO_MAX; i++)
		KTAP_EXPECT(ooo_add(&tp, 1000 + 20 * i, 1010 + 20 * i));
	KTAP_EXPECT(!ooo_add(&tp, 5000, 5010));
	KTAP_EXPECT(ooo_add(&tp, 1000, 1005)); /* merging still fits */
	return KTAP_PASS;
}

static int t_scoreboard(void)
{
	static struct tcb tp;
	static struct txseg segs[32];
	uint64_t oldest;
	bool karn;

	memset(&tp, 0, sizeof(tp));
	tp.segs = segs;
	tp.seg_cap = 32;
	tp.sack_ok = true;
	for (uint32_t i = 0; i < 8; i++)
		sb_append(&tp, 1000 * i, 1000 * (i + 1), 10 + i);
	KTAP_EXPECT(tp.packets_out == 8 && sb_in_flight(&tp) == 8);
	KTAP_EXPECT(sb_mark_sacked(&tp, 2000, 5000, 100) == 3);
	KTAP_EXPECT(tp.sacked_out == 3 && sb_in_flight(&tp) == 5);
	sb_detect_dupthresh(&tp);
	/* segments 0 and 1 have three SACKed above: lost */
	KTAP_EXPECT(tp.lost_out == 2 && (sb_seg(&tp, 0)->flags & SEG_LOST) &&
		    (sb_seg(&tp, 1)->flags & SEG_LOST));
	KTAP_EXPECT(sb_in_flight(&tp) == 3);
	sb_mark_retrans(&tp, sb_seg(&tp, 0), 200);
	KTAP_EXPECT(tp.retrans_out == 1 && sb_in_flight(&tp) == 4);
	/* cumulative ACK of the first two: Karn forbids an RTT sample */
	KTAP_EXPECT(sb_ack(&tp, 2000, 300, &karn, &oldest) == 2 && !karn);
	KTAP_EXPECT(tp.lost_out == 0 && tp.retrans_out == 0 && tp.packets_out == 6);
	/* a partial ACK trims the head */
	KTAP_EXPECT(sb_ack(&tp, 5500, 300, &karn, &oldest) == 3 && karn && oldest == 0);
	KTAP_EXPECT(sb_seg(&tp, 0)->seq == 5500 && tp.sacked_out == 0);
	return KTAP_PASS;
}

static int t_cc(void)
{
	static struct tcb tp;

	memset(&tp, 0, sizeof(tp));
	tp.cc = cc_find("reno");
	KTAP_EXPECT(tp.cc && cc_find("cubic") && !cc_find("bbr"));
	tp.cwnd = 10;
	tp.ssthresh = 12;
	tp.cc->cong_avoid(&tp, 5, 0); /* slow start to ssthresh, then AI */
	KTAP_EXPECT(tp.cwnd == 12);
	for (int i = 0; i < 12; i++)
		tp.cc->cong_avoid(&tp, 1, 0);
	KTAP_EXPECT(tp.cwnd == 13); /* one segment per window */
	KTAP_EXPECT(tp.cc->ssthresh(&tp, 0) == 6);

	memset(&tp, 0, sizeof(tp));
	tp.cc = cc_find("cubic");
	tp.cc->init(&tp);
	tp.cwnd = 100;
	KTAP_EXPECT(tp.cc->ssthresh(&tp, 0) == 70); /* beta 0.7 */
	tp.cwnd = 70;
	tp.ssthresh = 70;
	tp.min_rtt_us = 10000;
	/* concave growth back towards W_max = 100 within about K = 4.2 s */
	for (uint64_t t = 1; t <= 4000; t++)
		tp.cc->cong_avoid(&tp, 1, t * 1000000ull);
	KTAP_EXPECT(tp.cwnd > 80 && tp.cwnd <= 101);
	return KTAP_PASS;
}

static int t_rtt(void)
{
	static struct tcb tp;

	memset(&tp, 0, sizeof(tp));
	tcp_rtt_sample(&tp, 100000);
	KTAP_EXPECT(tp.srtt_us == 100000 && tp.rttvar_us == 50000);
	KTAP_EXPECT(tp.rto_ns == 300 * NS_PER_MS);
	/* a small, steady RTT: Linux's 200 ms floor on the variance term */
	memset(&tp, 0, sizeof(tp));
	for (int i = 0; i < 50; i++)
		tcp_rtt_sample(&tp, 1000);
	KTAP_EXPECT(tp.srtt_us == 1000 && tp.rto_ns == 201 * NS_PER_MS);
	return KTAP_PASS;
}

/* ARP and ND: answers for our addresses, learning, soliciting. */
static uint8_t last[256];
static size_t last_len;
static int nframes;

static void grab(void *ctx, const void *f, size_t len)
{
	(void)ctx;
	memcpy(last, f, len < sizeof(last) ? len : sizeof(last));
	last_len = len;
	nframes++;
}

static struct vtcp_stack *mkstack(void)
{
	struct vtcp_config cfg = { .max_sockets = 4, .sndbuf_max = 8192, .rcvbuf_max = 8192,
				   .mtu = 1500, .ifindex = 3, .mac = { 2, 0, 0, 0, 0, 1 } };

	return vtcp_stack_create(&cfg);
}

static int t_arp(void)
{
	struct vtcp_stack *st = mkstack();
	struct sockaddr_in a = { .sin_family = AF_INET };
	uint8_t req[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 9, 0x08, 0x06,
			    0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 9, 10, 0, 0, 9,
			    0, 0, 0, 0, 0, 0, 10, 0, 0, 1 };
	int s;

	a.sin_addr.s_addr = htonl(0x0a000001);
	vtcp_addr_add(st, (struct sockaddr *)&a);
	vtcp_input(st, req, sizeof(req), 1);
	nframes = 0;
	vtcp_poll(st, 1, grab, NULL);
	KTAP_EXPECT(nframes == 1 && last_len == 42 && last[21] == 2); /* a reply */
	KTAP_EXPECT(memcmp(last, req + 6, 6) == 0 && memcmp(last + 22, "\x02\0\0\0\0\x01", 6) == 0);
	/* and we learnt the asker: a SYN to it goes out without asking */
	s = vtcp_socket(st, AF_INET);
	a.sin_addr.s_addr = htonl(0x0a000009);
	a.sin_port = htons(80);
	KTAP_EXPECT(vtcp_connect(st, s, (struct sockaddr *)&a, sizeof(a)) == -EINPROGRESS);
	nframes = 0;
	vtcp_poll(st, 2, grab, NULL);
	KTAP_EXPECT(nframes == 1 && last[12] == 0x08 && last[13] == 0x00 &&
		    memcmp(last, req + 6, 6) == 0);
	/* an unknown neighbour: ARP request now, the SYN once it answers */
	s = vtcp_socket(st, AF_INET);
	a.sin_addr.s_addr = htonl(0x0a000007);
	KTAP_EXPECT(vtcp_connect(st, s, (struct sockaddr *)&a, sizeof(a)) == -EINPROGRESS);
	nframes = 0;
	vtcp_poll(st, 3, grab, NULL);
	KTAP_EXPECT(nframes == 1 && last[12] == 0x08 && last[13] == 0x06 && last[21] == 1);
	req[21] = 2; /* reply from 10.0.0.7 */
	memcpy(req, "\x02\0\0\0\0\x01", 6);
	req[11] = 7;
	req[27] = 7;
	req[31] = 7;
	req[41] = 1;
	vtcp_input(st, req, sizeof(req), 4);
	nframes = 0;
	vtcp_poll(st, 4, grab, NULL);
	KTAP_EXPECT(nframes == 1 && last[12] == 0x08 && last[13] == 0x00 && last[5] == 9 - 2);
	vtcp_stack_destroy(st);
	return KTAP_PASS;
}

/* The SYN that @s sends: its window, and its options in *@o. */
static unsigned int syn_of(struct vtcp_stack *st, int s, struct tcp_opts *o)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(80) };
	const uint8_t *th = last + 14 + 20;

	a.sin_addr.s_addr = htonl(0x0a000009);
	nframes = 0;
	if (vtcp_connect(st, s, (struct sockaddr *)&a, sizeof(a)) != -EINPROGRESS)
		return 0;
	vtcp_poll(st, 1, grab, NULL);
	if (nframes != 1 || !tcp_opts_parse(th + 20, (th[12] >> 4) * 4 - 20, true, o))
		return 0;
	return (unsigned int)th[14] << 8 | th[15];
}

/*
 * Linux's initial window and scale (tcp_select_initial_window): whole
 * segments; the scale of the host's largest window (its tcp_rmem[2] and
 * rmem_max), or of the buffer SO_RCVBUF set.
 */
static int t_syn_window_scale(void)
{
	struct vtcp_config cfg = { .max_sockets = 4, .sndbuf_max = 1 << 20, .rcvbuf_max = 1 << 20,
				   .wscale_space = 32 << 20, .mtu = 1500, .ifindex = 3,
				   .mac = { 2, 0, 0, 0, 0, 1 } };
	struct vtcp_stack *st = vtcp_stack_create(&cfg);
	struct sockaddr_in me = { .sin_family = AF_INET }, peer = { .sin_family = AF_INET };
	struct tcp_opts o;
	int s;

	me.sin_addr.s_addr = htonl(0x0a000001);
	peer.sin_addr.s_addr = htonl(0x0a000009);
	KTAP_EXPECT(st && !vtcp_addr_add(st, (struct sockaddr *)&me));
	KTAP_EXPECT(!vtcp_neigh_set(st, (struct sockaddr *)&peer, (const uint8_t *)"\2\0\0\0\0\x09"));
	s = vtcp_socket(st, AF_INET);
	KTAP_EXPECT(syn_of(st, s, &o) == 64240 && o.mss == 1460 && o.ws_ok && o.ws == 10);
	s = vtcp_socket(st, AF_INET);
	KTAP_EXPECT(!vtcp_setopt(st, s, VTCP_RCVBUF, 65536));
	KTAP_EXPECT(syn_of(st, s, &o) == 64240 && o.ws == 1);
	/* tcp_rmem[1] 540000 (packetdrill's defaults): half of it, capped */
	cfg.rmem_default = 540000;
	vtcp_set_sysctls(st, &cfg);
	s = vtcp_socket(st, AF_INET);
	KTAP_EXPECT(syn_of(st, s, &o) == 65535 && o.ws == 10);
	vtcp_stack_destroy(st);
	return KTAP_PASS;
}

/* Link-local IPv6: scope ids, neighbour solicitation, flow labels. */
static int t_linklocal6(void)
{
	struct vtcp_stack *st = mkstack();
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 }, p = { .sin6_family = AF_INET6 };
	int s;

	inet_pton(AF_INET6, "fe80::1", &a.sin6_addr);
	a.sin6_scope_id = 3;
	KTAP_EXPECT(vtcp_addr_add(st, (struct sockaddr *)&a) == 0);
	s = vtcp_socket(st, AF_INET6);
	a.sin6_scope_id = 0;
	KTAP_EXPECT(vtcp_bind(st, s, (struct sockaddr *)&a, sizeof(a)) == -EINVAL);
	a.sin6_scope_id = 7;
	KTAP_EXPECT(vtcp_bind(st, s, (struct sockaddr *)&a, sizeof(a)) == -ENODEV);
	a.sin6_scope_id = 3;
	KTAP_EXPECT(vtcp_bind(st, s, (struct sockaddr *)&a, sizeof(a)) == 0);
	inet_pton(AF_INET6, "fe80::2", &p.sin6_addr);
	p.sin6_port = htons(80);
	p.sin6_scope_id = 9; /* another interface: unreachable from this link */
	KTAP_EXPECT(vtcp_connect(st, s, (struct sockaddr *)&p, sizeof(p)) == -ENETUNREACH);
	p.sin6_scope_id = 3;
	KTAP_EXPECT(vtcp_setopt(st, s, VTCP_FLOWLABEL, 0x12345) == 0);
	KTAP_EXPECT(vtcp_connect(st, s, (struct sockaddr *)&p, sizeof(p)) == -EINPROGRESS);
	nframes = 0;
	vtcp_poll(st, 1, grab, NULL);
	/* a neighbour solicitation to the solicited-node group of fe80::2 */
	KTAP_EXPECT(nframes == 1 && last[0] == 0x33 && last[1] == 0x33 && last[5] == 2 &&
		    last[12] == 0x86 && last[20] == 58 && last[21] == 255 && last[54] == 135);
	/* the neighbour advertises itself: the held SYN leaves with the flow label */
	{
		uint8_t na[14 + 40 + 32];
		struct vaddr src = { .fam = 6 }, dst = { .fam = 6 };
		uint16_t c;

		memset(na, 0, sizeof(na));
		memcpy(na, "\x02\0\0\0\0\x01", 6);
		memcpy(na + 6, "\x02\0\0\0\0\x02", 6);
		na[12] = 0x86, na[13] = 0xdd;
		na[14] = 0x60;
		na[19] = 32;
		na[20] = 58;
		na[21] = 255;
		inet_pton(AF_INET6, "fe80::2", na + 22);
		inet_pton(AF_INET6, "fe80::1", na + 38);
		na[54] = 136;
		na[58] = 0x60;
		inet_pton(AF_INET6, "fe80::2", na + 62);
		na[78] = 2, na[79] = 1;
		memcpy(na + 80, "\x02\0\0\0\0\x02", 6);
		memcpy(src.a, na + 22, 16);
		memcpy(dst.a, na + 38, 16);
		c = csum_fold(csum_add(csum_pseudo(&src, &dst, 58, 32), na + 54, 32));
		na[56] = (uint8_t)(c >> 8), na[57] = (uint8_t)c;
		vtcp_input(st, na, sizeof(na), 2);
	}
	nframes = 0;
	vtcp_poll(st, 2, grab, NULL);
	KTAP_EXPECT(nframes == 1 && last[5] == 2 && last[20] == 6);
	KTAP_EXPECT(((last[15] & 0xf) << 16 | last[16] << 8 | last[17]) == 0x12345);
	vtcp_stack_destroy(st);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "csum", t_csum, 0 },
	{ "options", t_options, 0 },
	{ "ring", t_ring, 0 },
	{ "ring_release", t_ring_release, 0 },
	{ "siphash_isn", t_siphash_isn, 0 },
	{ "ooo_ranges_sack_blocks", t_ooo_sack_blocks, 0 },
	{ "scoreboard", t_scoreboard, 0 },
	{ "congestion_control", t_cc, 0 },
	{ "rtt_rto", t_rtt, 0 },
	{ "arp", t_arp, 0 },
	{ "ipv6_linklocal_nd_flowlabel", t_linklocal6, 0 },
	{ "syn_window_and_scale_as_linux", t_syn_window_scale, 0 },
};

KTAP_MAIN(cases)
