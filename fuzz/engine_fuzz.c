// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: arbitrary frames and socket calls into a stack that
 * has live connections. Each input builds a fresh stack with a listener,
 * one passively and one actively established connection; the input is then
 * a sequence of records:
 *   op 0: a raw Ethernet frame
 *   op 1: a TCP segment with valid headers and checksums, its sequence and
 *         acknowledgment numbers near what the connection expects, so the
 *         fuzzer reaches the state machine rather than the checksum check
 *   op 2: a socket call (send/recv/shutdown/close/abort/setopt/peek)
 *   op 3: time passes (runs timers)
 * The engine's output is parsed to track each connection's sequence space.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

static const uint8_t mac_e[6] = { 2, 0, 0, 0, 0, 1 }, mac_p[6] = { 2, 0, 0, 0, 0, 2 };

struct conn {
	uint16_t lport, pport;
	uint32_t eng_nxt, eng_ack; /* from the engine's last segment */
	int sock;
};

struct fz {
	struct vtcp_stack *st;
	uint64_t now;
	struct conn c[2];
	int lsock[2]; /* a SO_REUSEPORT pair */
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint16_t csum(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Track what the engine sends on each connection. */
static void tx(void *ctx, const void *frame, size_t len)
{
	struct fz *fz = ctx;
	const uint8_t *f = frame, *th;
	uint32_t tl, doff;

	if (len < 54 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 6)
		return;
	th = f + 14 + (f[14] & 0xf) * 4;
	if ((size_t)(th - f) + 20 > len)
		return;
	tl = (uint32_t)(len - (size_t)(th - f));
	doff = (th[12] >> 4) * 4u;
	for (int i = 0; i < 2; i++) {
		struct conn *c = &fz->c[i];

		if ((uint16_t)(th[0] << 8 | th[1]) != c->lport ||
		    (uint16_t)(th[2] << 8 | th[3]) != c->pport || doff > tl)
			continue;
		c->eng_nxt = rd32(th + 4) + (tl - doff) + !!(th[13] & 0x03);
		if (th[13] & 0x10)
			c->eng_ack = rd32(th + 8);
	}
}

static void inject(struct fz *fz, struct conn *c, uint8_t flags, uint32_t seq, uint32_t ack,
		   uint16_t win, const uint8_t *opts, size_t olen, const uint8_t *data,
		   size_t dlen, uint8_t tos)
{
	static uint8_t f[14 + 20 + 60 + 2048];
	uint8_t *ip = f + 14, *th = ip + 20;
	size_t tl;
	uint32_t s;
	uint16_t k;

	olen &= ~(size_t)3;
	if (olen > 40)
		olen = 40;
	if (dlen > 2000)
		dlen = 2000;
	tl = 20 + olen + dlen;
	memcpy(f, mac_e, 6);
	memcpy(f + 6, mac_p, 6);
	f[12] = 0x08;
	f[13] = 0;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[1] = tos;
	ip[2] = (uint8_t)((20 + tl) >> 8);
	ip[3] = (uint8_t)(20 + tl);
	ip[8] = 64;
	ip[9] = 6;
	wr32(ip + 12, 0x0a000002);
	wr32(ip + 16, 0x0a000001);
	k = csum(0, ip, 20);
	ip[10] = (uint8_t)(k >> 8);
	ip[11] = (uint8_t)k;
	th[0] = (uint8_t)(c->pport >> 8); th[1] = (uint8_t)c->pport;
	th[2] = (uint8_t)(c->lport >> 8); th[3] = (uint8_t)c->lport;
	wr32(th + 4, seq);
	wr32(th + 8, ack);
	th[12] = (uint8_t)(((20 + olen) / 4) << 4);
	th[13] = flags;
	th[14] = (uint8_t)(win >> 8);
	th[15] = (uint8_t)win;
	th[16] = th[17] = th[18] = th[19] = 0;
	if (olen)
		memcpy(th + 20, opts, olen);
	if (dlen)
		memcpy(th + 20 + olen, data, dlen);
	s = 0x0a00 + 0x0002 + 0x0a00 + 0x0001 + 6 + (uint32_t)tl;
	k = csum(s, th, tl);
	th[16] = (uint8_t)(k >> 8);
	th[17] = (uint8_t)k;
	vtcp_input(fz->st, f, 14 + 20 + tl, fz->now);
}

static void run(struct fz *fz)
{
	vtcp_poll(fz->st, fz->now, tx, fz);
}

static const uint8_t syn_opts[20] = { 2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7 };

static bool setup(struct fz *fz)
{
	struct vtcp_config cfg;
	struct sockaddr_in a = { .sin_family = AF_INET };

	memset(&cfg, 0, sizeof(cfg));
	cfg.max_sockets = 6;
	cfg.sndbuf_max = 16384;
	cfg.rcvbuf_max = 16384;
	memcpy(cfg.mac, mac_e, 6);
	cfg.ifindex = 2;
	cfg.mtu = 1500;
	fz->st = vtcp_stack_create(&cfg);
	if (!fz->st)
		return false;
	fz->now = 1000000000ull;
	a.sin_addr.s_addr = htonl(0x0a000001);
	vtcp_addr_add(fz->st, (struct sockaddr *)&a);
	a.sin_addr.s_addr = htonl(0x0a000002);
	vtcp_neigh_set(fz->st, (struct sockaddr *)&a, mac_p);

	/* passive: a listener (of a SO_REUSEPORT pair) and a peer's handshake */
	a.sin_addr.s_addr = htonl(0x0a000001);
	a.sin_port = htons(80);
	for (int i = 0; i < 2; i++) {
		fz->lsock[i] = vtcp_socket(fz->st, AF_INET);
		vtcp_setopt(fz->st, fz->lsock[i], VTCP_REUSEPORT, 1);
		vtcp_bind(fz->st, fz->lsock[i], (struct sockaddr *)&a, sizeof(a));
		vtcp_listen(fz->st, fz->lsock[i], 4);
	}
	fz->c[0] = (struct conn){ .lport = 80, .pport = 1234, .sock = -1 };
	inject(fz, &fz->c[0], 0x02, 1000, 0, 65535, syn_opts, 20, NULL, 0, 0);
	run(fz);
	inject(fz, &fz->c[0], 0x10, 1001, fz->c[0].eng_nxt, 1000, NULL, 0, NULL, 0, 0);
	run(fz);
	fz->c[0].sock = vtcp_accept(fz->st, fz->lsock[0], NULL, NULL);
	if (fz->c[0].sock < 0)
		fz->c[0].sock = vtcp_accept(fz->st, fz->lsock[1], NULL, NULL);

	/* active: connect, and the peer's SYN-ACK */
	fz->c[1] = (struct conn){ .pport = 443, .sock = vtcp_socket(fz->st, AF_INET) };
	a.sin_addr.s_addr = htonl(0x0a000001);
	a.sin_port = htons(5555);
	vtcp_bind(fz->st, fz->c[1].sock, (struct sockaddr *)&a, sizeof(a));
	fz->c[1].lport = 5555;
	a.sin_addr.s_addr = htonl(0x0a000002);
	a.sin_port = htons(443);
	vtcp_connect(fz->st, fz->c[1].sock, (struct sockaddr *)&a, sizeof(a));
	run(fz);
	inject(fz, &fz->c[1], 0x12, 5000, fz->c[1].eng_nxt, 65535, syn_opts, 20, NULL, 0, 0);
	run(fz);
	return true;
}

static void call(struct fz *fz, struct conn *c, uint8_t what, uint8_t arg)
{
	static uint8_t buf[40000];
	const void *p1, *p2;
	size_t l1, l2;

	switch (what % 11) {
	case 0: vtcp_send(fz->st, c->sock, buf, (size_t)arg * 150, arg & 1 ? 1 : 0); break;
	case 1: vtcp_recv(fz->st, c->sock, buf, (size_t)arg * 100, arg & 1 ? 2 : 0); break;
	case 2: vtcp_shutdown(fz->st, c->sock, arg % 3); break;
	case 3: vtcp_close(fz->st, c->sock); c->sock = -1; break;
	case 4: vtcp_abort(fz->st, c->sock); c->sock = -1; break;
	case 5: vtcp_setopt(fz->st, c->sock, (enum vtcp_opt)(arg % (VTCP_REUSEPORT + 1)), arg >> 4); break;
	case 6:
		if (vtcp_recv_peek(fz->st, c->sock, &p1, &l1, &p2, &l2) > 0)
			vtcp_recv_consume(fz->st, c->sock, (l1 + l2) * arg / 255);
		break;
	case 7: vtcp_set_linger(fz->st, c->sock, arg & 1, arg >> 1); break;
	case 8: vtcp_set_cc(fz->st, c->sock, arg & 1 ? "reno" : "cubic"); break;
	case 9: vtcp_set_max_pacing_rate(fz->st, c->sock, arg ? (uint64_t)arg << 12 : ~0ull); break;
	default: {
		struct vtcp_info ti;

		vtcp_get_info(fz->st, c->sock, &ti);
		vtcp_events(fz->st, c->sock);
		vtcp_sock_error(fz->st, c->sock);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct fz fz;

	memset(&fz, 0, sizeof(fz));
	if (!setup(&fz))
		return 0;
	while (n >= 2) {
		uint8_t op = d[0] & 3, ci = (d[0] >> 2) & 1;
		struct conn *c = &fz.c[ci];

		d++;
		n--;
		if (op == 0) {
			size_t len = d[0] * 8u;

			d++;
			n--;
			len = len < n ? len : n;
			vtcp_input(fz.st, d, len, fz.now);
			d += len;
			n -= len;
		} else if (op == 1 && n >= 10) {
			/* flags, seq delta, ack delta, window, tos, option and data lengths */
			uint8_t flags = d[0], olen = d[7] % 44, dl = d[8];
			int16_t ds = (int16_t)(d[1] << 8 | d[2]), da = (int16_t)(d[3] << 8 | d[4]);
			uint16_t win = (uint16_t)(d[5] << 8 | d[6]);
			uint8_t tos = d[9];
			size_t need = 10 + olen, dlen = (size_t)dl * 8;

			if (n < need)
				break;
			dlen = dlen < n - need ? dlen : n - need;
			inject(&fz, c, flags, c->eng_ack + (uint32_t)(int32_t)ds,
			       c->eng_nxt + (uint32_t)(int32_t)da, win, d + 10, olen,
			       d + need, dlen, tos);
			d += need + dlen;
			n -= need + dlen;
		} else if (op == 2) {
			if (n < 2)
				break;
			call(&fz, c, d[0], d[1]);
			d += 2;
			n -= 2;
		} else {
			fz.now += (uint64_t)d[0] * d[0] * 1000000ull; /* up to ~65 s */
			d++;
			n--;
		}
		run(&fz);
	}
	/* let every timer run out: nothing may crash or leak on the way */
	for (int i = 0; i < 40; i++) {
		fz.now += 10000000000ull;
		run(&fz);
	}
	vtcp_stack_destroy(fz.st);
	return 0;
}
