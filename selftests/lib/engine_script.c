// SPDX-License-Identifier: GPL-2.0
/*
 * The engine script runner (see engine_script.h). Option strings:
 *   in:  "mss=1460,ws=7,sackok,ts=100" (TSecr echoes the engine's last
 *        TSval; "ts=100:5" gives it), "sack=1001-2001" (relative to ISS)
 *   out: "mss=1460,ws=7,sackok,ts" must be present, "nots", "nosackok",
 *        "nows", "nosack" must be absent, "sack=1-2" first blocks, relative
 *        to the peer's ISN
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_script.h"
#include "ktap.h"

static const uint8_t eng_mac[6] = { 0x02, 0, 0, 0, 0, 1 };
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 2 };

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t sum16(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

bool es_parse(const uint8_t *f, size_t len, struct es_frame *o)
{
	const uint8_t *ip = f + 14, *th;
	size_t tl;
	unsigned int doff, i;

	memset(o, 0, offsetof(struct es_frame, payload));
	o->mss = o->ws = -1;
	if (len < 14 + 20)
		return false;
	if (f[12] == 0x08 && f[13] == 0x00) {
		unsigned int ihl = (ip[0] & 0xf) * 4u, tot = (unsigned int)(ip[2] << 8 | ip[3]);

		if (ip[9] != 6 || tot > len - 14)
			return false;
		o->tos = ip[1];
		o->ttl = ip[8];
		th = ip + ihl;
		tl = tot - ihl;
	} else if (f[12] == 0x86 && f[13] == 0xdd) {
		if (ip[6] != 6)
			return false;
		o->tos = (uint8_t)((ip[0] & 0xf) << 4 | ip[1] >> 4);
		o->ttl = ip[7];
		o->flowlabel = (uint32_t)(ip[1] & 0xf) << 16 | (uint32_t)ip[2] << 8 | ip[3];
		th = ip + 40;
		tl = (size_t)(ip[4] << 8 | ip[5]);
	} else {
		return false;
	}
	if (tl < 20)
		return false;
	o->sport = (uint16_t)(th[0] << 8 | th[1]);
	o->dport = (uint16_t)(th[2] << 8 | th[3]);
	o->seq = rd32(th + 4);
	o->ack = rd32(th + 8);
	o->flags = th[13];
	o->win = (uint32_t)(th[14] << 8 | th[15]);
	doff = (th[12] >> 4) * 4u;
	if (doff < 20 || doff > tl)
		return false;
	for (i = 20; i < doff;) {
		uint8_t k = th[i];

		if (k == 0)
			break;
		if (k == 1) {
			i++;
			continue;
		}
		if (i + 1 >= doff || th[i + 1] < 2)
			return false;
		if (k == 2)
			o->mss = th[i + 2] << 8 | th[i + 3];
		else if (k == 3)
			o->ws = th[i + 2];
		else if (k == 4)
			o->sackok = 1;
		else if (k == 8) {
			o->ts = 1;
			o->tsval = rd32(th + i + 2);
			o->tsecr = rd32(th + i + 6);
		} else if (k == 5) {
			o->nsack = (th[i + 1] - 2) / 8;
			for (int b = 0; b < o->nsack && b < 4; b++) {
				o->sack[b][0] = rd32(th + i + 2 + 8 * b);
				o->sack[b][1] = rd32(th + i + 6 + 8 * b);
			}
		}
		i += th[i + 1];
	}
	o->len = (uint32_t)(tl - doff);
	if (o->len > sizeof(o->payload))
		return false;
	memcpy(o->payload, th + doff, o->len);
	return true;
}

static void es_tx(void *ctx, const void *frame, size_t len)
{
	struct es *es = ctx;
	struct es_frame *f;

	if (len >= 14 && ((const uint8_t *)frame)[12] == 0x08 &&
	    ((const uint8_t *)frame)[13] == 0x06) {
		es->arp_seen++;
		return;
	}
	if (es->nout == ES_MAX_FRAMES) {
		/* keep the newest: drop the oldest unread one */
		memmove(&es->out[0], &es->out[1], sizeof(es->out[0]) * (ES_MAX_FRAMES - 1));
		es->nout--;
		if (es->head)
			es->head--;
	}
	f = &es->out[es->nout];
	if (!es_parse(frame, len, f))
		return;
	es->nout++;
	if (f->ts)
		es->last_tsval = f->tsval;
	if ((f->flags & F_SYN) && !es->iss_known) {
		es->iss = f->seq;
		es->iss_known = true;
	}
}

void es_peer_addr(struct es *es, struct sockaddr_storage *ss, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (es->v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, "fd00::2", &s6->sin6_addr);
		s6->sin6_port = htons(port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(0x0a000002);
		s4->sin_port = htons(port);
	}
}

void es_local_addr(struct es *es, struct sockaddr_storage *ss, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (es->v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, "fd00::1", &s6->sin6_addr);
		s6->sin6_port = htons(port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(0x0a000001);
		s4->sin_port = htons(port);
	}
}

int es_init(struct es *es, const struct vtcp_config *cfg, bool v6)
{
	struct sockaddr_storage ss;

	memset(es, 0, sizeof(*es));
	if (cfg) {
		es->cfg = *cfg;
	} else {
		es->cfg.max_sockets = 8;
		es->cfg.sndbuf_max = 65536;
		es->cfg.rcvbuf_max = 65536;
	}
	memcpy(es->cfg.mac, eng_mac, 6);
	es->cfg.ifindex = es->cfg.ifindex ? es->cfg.ifindex : 2;
	es->cfg.mtu = es->cfg.mtu ? es->cfg.mtu : 1500;
	memcpy(es->cfg.isn_secret, "velo-test-secret", 16);
	es->st = vtcp_stack_create(&es->cfg);
	if (!es->st)
		return -1;
	es->v6 = v6;
	es->lport = 8080;
	es->pport = 40000;
	es->peer_isn = 1000000;
	es->sock = es->lsock = -1;
	es->now = 1000 * 1000000ull; /* t=0 of scripts is 1 s into the stack's life */
	es_local_addr(es, &ss, 0);
	vtcp_addr_add(es->st, (struct sockaddr *)&ss);
	es_peer_addr(es, &ss, 0);
	vtcp_neigh_set(es->st, (struct sockaddr *)&ss, peer_mac);
	return 0;
}

void es_fini(struct es *es)
{
	vtcp_stack_destroy(es->st);
}

void es_advance(struct es *es, uint64_t t_ms)
{
	uint64_t target = 1000 * 1000000ull + t_ms * 1000000ull;
	unsigned int guard = 0;

	if (target < es->now)
		target = es->now;
	vtcp_poll(es->st, es->now, es_tx, es);
	for (;;) {
		uint64_t d = vtcp_next_deadline(es->st);

		if (d > target || ++guard > 100000)
			break;
		if (d > es->now)
			es->now = d;
		vtcp_poll(es->st, es->now, es_tx, es);
	}
	es->now = target;
	vtcp_poll(es->st, es->now, es_tx, es);
}

static void put_opts(struct es *es, const char *spec, uint8_t *o, unsigned int *olen)
{
	char buf[256], *tok, *save;
	unsigned int n = 0;
	int nsack = 0;
	uint32_t sack[4][2];

	if (!spec) {
		*olen = 0;
		return;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned long a, b;

		if (sscanf(tok, "mss=%lu", &a) == 1) {
			o[n++] = 2; o[n++] = 4; o[n++] = (uint8_t)(a >> 8); o[n++] = (uint8_t)a;
		} else if (sscanf(tok, "ws=%lu", &a) == 1) {
			o[n++] = 1; o[n++] = 3; o[n++] = 3; o[n++] = (uint8_t)a;
		} else if (!strcmp(tok, "sackok")) {
			o[n++] = 1; o[n++] = 1; o[n++] = 4; o[n++] = 2;
		} else if (sscanf(tok, "ts=%lu:%lu", &a, &b) == 2 ||
			   (sscanf(tok, "ts=%lu", &a) == 1 && ((b = es->last_tsval), 1))) {
			o[n++] = 1; o[n++] = 1; o[n++] = 8; o[n++] = 10;
			wr32(o + n, (uint32_t)a);
			wr32(o + n + 4, (uint32_t)b);
			n += 8;
		} else if (sscanf(tok, "sack=%lu-%lu", &a, &b) == 2 && nsack < 4) {
			sack[nsack][0] = es->iss + (uint32_t)a;
			sack[nsack][1] = es->iss + (uint32_t)b;
			nsack++;
		}
	}
	if (nsack) {
		o[n++] = 1; o[n++] = 1; o[n++] = 5; o[n++] = (uint8_t)(2 + 8 * nsack);
		for (int i = 0; i < nsack; i++) {
			wr32(o + n, sack[i][0]);
			wr32(o + n + 4, sack[i][1]);
			n += 8;
		}
	}
	while (n % 4)
		o[n++] = 1;
	*olen = n;
}

/* From a router on the path (10.0.0.254 / fd00::fe), as RFC 792 / 4443 quote. */
void es_inject_icmp(struct es *es, uint8_t type, uint8_t code, uint32_t info, uint32_t seq)
{
	uint8_t f[14 + 40 + 8 + 40 + 8], *ip = f + 14, *icmp, *q, rtr[16], eng[16], peer[16];
	unsigned int iphl = es->v6 ? 40 : 20, qlen = iphl + 8, ilen = 8 + qlen;
	uint32_t s;
	uint16_t c;

	memset(f, 0, sizeof(f));
	memcpy(f, eng_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	icmp = ip + iphl;
	q = icmp + 8;
	icmp[0] = type;
	icmp[1] = code;
	if (es->v6) {
		inet_pton(AF_INET6, "fd00::fe", rtr);
		inet_pton(AF_INET6, "fd00::1", eng);
		inet_pton(AF_INET6, "fd00::2", peer);
		wr32(icmp + 4, info);
		q[0] = 0x60;
		q[5] = 60; /* the quoted packet's length as sent; only its head fits */
		q[6] = 6;
		q[7] = 64;
		memcpy(q + 8, eng, 16);
		memcpy(q + 24, peer, 16);
	} else {
		wr32(rtr, 0x0a0000fe);
		wr32(eng, 0x0a000001);
		wr32(peer, 0x0a000002);
		icmp[6] = (uint8_t)(info >> 8);
		icmp[7] = (uint8_t)info;
		q[0] = 0x45;
		q[3] = 80;
		q[6] = 0x40;
		q[8] = 64;
		q[9] = 6;
		memcpy(q + 12, eng, 4);
		memcpy(q + 16, peer, 4);
		c = fold(sum16(0, q, 20));
		q[10] = (uint8_t)(c >> 8);
		q[11] = (uint8_t)c;
	}
	q[iphl + 0] = (uint8_t)(es->lport >> 8);
	q[iphl + 1] = (uint8_t)es->lport;
	q[iphl + 2] = (uint8_t)(es->pport >> 8);
	q[iphl + 3] = (uint8_t)es->pport;
	wr32(q + iphl + 4, seq);
	if (es->v6) {
		f[12] = 0x86; f[13] = 0xdd;
		ip[0] = 0x60;
		ip[4] = (uint8_t)(ilen >> 8);
		ip[5] = (uint8_t)ilen;
		ip[6] = 58;
		ip[7] = 64;
		memcpy(ip + 8, rtr, 16);
		memcpy(ip + 24, eng, 16);
		s = sum16(sum16(0, rtr, 16), eng, 16) + 58 + ilen;
	} else {
		f[12] = 0x08; f[13] = 0x00;
		ip[0] = 0x45;
		ip[2] = (uint8_t)((20 + ilen) >> 8);
		ip[3] = (uint8_t)(20 + ilen);
		ip[8] = 64;
		ip[9] = 1;
		memcpy(ip + 12, rtr, 4);
		memcpy(ip + 16, eng, 4);
		c = fold(sum16(0, ip, 20));
		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
		s = 0;
	}
	c = fold(sum16(s, icmp, ilen));
	icmp[2] = (uint8_t)(c >> 8);
	icmp[3] = (uint8_t)c;
	vtcp_input(es->st, f, 14 + iphl + ilen, es->now);
}

void es_inject_raw(struct es *es, uint8_t flags, uint32_t seq, uint32_t ack,
		   uint32_t win, uint32_t len, const char *opts, uint8_t tos)
{
	static uint8_t f[14 + 40 + 60 + 9000];
	uint8_t *ip = f + 14, *th, src[16], dst[16];
	unsigned int iphl = es->v6 ? 40 : 20, olen, tl, alen = es->v6 ? 16 : 4;
	uint32_t s;
	uint16_t c;

	memcpy(f, eng_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	th = ip + iphl;
	put_opts(es, opts, th + 20, &olen);
	tl = 20 + olen + len;
	memset(th, 0, 20);
	th[0] = (uint8_t)(es->pport >> 8); th[1] = (uint8_t)es->pport;
	th[2] = (uint8_t)(es->lport >> 8); th[3] = (uint8_t)es->lport;
	wr32(th + 4, seq);
	wr32(th + 8, ack);
	th[12] = (uint8_t)(((20 + olen) / 4) << 4);
	th[13] = flags;
	th[14] = (uint8_t)(win >> 8);
	th[15] = (uint8_t)win;
	for (uint32_t i = 0; i < len; i++)
		th[20 + olen + i] = (uint8_t)('a' + (seq + i) % 26);
	if (es->v6) {
		f[12] = 0x86; f[13] = 0xdd;
		inet_pton(AF_INET6, "fd00::2", src);
		inet_pton(AF_INET6, "fd00::1", dst);
		memset(ip, 0, 40);
		ip[0] = (uint8_t)(0x60 | tos >> 4);
		ip[1] = (uint8_t)(tos << 4);
		ip[4] = (uint8_t)(tl >> 8);
		ip[5] = (uint8_t)tl;
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	} else {
		f[12] = 0x08; f[13] = 0x00;
		wr32(src, 0x0a000002);
		wr32(dst, 0x0a000001);
		memset(ip, 0, 20);
		ip[0] = 0x45;
		ip[1] = tos;
		ip[2] = (uint8_t)((20 + tl) >> 8);
		ip[3] = (uint8_t)(20 + tl);
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		c = fold(sum16(0, ip, 20));
		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
	}
	s = sum16(0, src, alen);
	s = sum16(s, dst, alen);
	s += 6 + tl;
	s = sum16(s, th, tl);
	c = fold(s);
	th[16] = (uint8_t)(c >> 8);
	th[17] = (uint8_t)c;
	es->refused = vtcp_input(es->st, f, 14 + iphl + tl, es->now);
}

static bool has_tok(const char *opts, const char *tok)
{
	const char *p = opts;
	size_t n = strlen(tok);

	while (p && (p = strstr(p, tok))) {
		if ((p == opts || p[-1] == ',') && (p[n] == ',' || p[n] == '=' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

static int check_out(struct es *es, const struct es_step *s, const struct es_frame *f)
{
	uint32_t seq = f->seq - es->iss, ack = f->ack - es->peer_isn;
	const char *o = s->opts;
	unsigned long a, b;
	const char *p;

	if (f->flags != s->flags) {
		ktap_diag("flags %#x, expected %#x", f->flags, s->flags);
		return -1;
	}
	if (s->seq != ES_ANY && seq != s->seq) {
		ktap_diag("seq %u, expected %u", seq, s->seq);
		return -1;
	}
	if ((f->flags & F_ACK) && s->ack != ES_ANY && ack != s->ack) {
		ktap_diag("ack %u, expected %u", ack, s->ack);
		return -1;
	}
	if (s->win != ES_ANY && f->win != s->win) {
		ktap_diag("win %u, expected %u", f->win, s->win);
		return -1;
	}
	if (s->len != ES_ANY && f->len != s->len) {
		ktap_diag("len %u, expected %u", f->len, s->len);
		return -1;
	}
	if (s->tos && (f->tos & 3) != (s->tos & 3)) {
		ktap_diag("ecn bits %u, expected %u", f->tos & 3, s->tos & 3);
		return -1;
	}
	if (!o)
		return 0;
	if ((p = strstr(o, "mss=")) && sscanf(p, "mss=%lu", &a) == 1 && f->mss != (int)a) {
		ktap_diag("mss %d, expected %lu", f->mss, a);
		return -1;
	}
	if ((p = strstr(o, "ws=")) && sscanf(p, "ws=%lu", &a) == 1 && f->ws != (int)a) {
		ktap_diag("ws %d, expected %lu", f->ws, a);
		return -1;
	}
	if ((has_tok(o, "sackok") && !f->sackok) || (has_tok(o, "nosackok") && f->sackok) ||
	    (has_tok(o, "ts") && !f->ts) || (has_tok(o, "nots") && f->ts) ||
	    (has_tok(o, "nows") && f->ws >= 0) || (has_tok(o, "nosack") && f->nsack)) {
		ktap_diag("options (sackok=%d ts=%d ws=%d nsack=%d) do not match \"%s\"",
			  f->sackok, f->ts, f->ws, f->nsack, o);
		return -1;
	}
	p = o;
	for (int i = 0; (p = strstr(p, "sack=")); i++, p++) {
		if (sscanf(p, "sack=%lu-%lu", &a, &b) != 2)
			continue;
		if (i >= f->nsack || f->sack[i][0] - es->peer_isn != a ||
		    f->sack[i][1] - es->peer_isn != b) {
			ktap_diag("sack block %d: got %d blocks, first %u-%u; expected %lu-%lu", i,
				  f->nsack, f->nsack ? f->sack[0][0] - es->peer_isn : 0,
				  f->nsack ? f->sack[0][1] - es->peer_isn : 0, a, b);
			return -1;
		}
	}
	return 0;
}

int es_run(struct es *es, const struct es_step *steps)
{
	for (int i = 0; steps[i].kind != ES_END; i++) {
		const struct es_step *s = &steps[i];

		es_advance(es, s->t_ms);
		switch (s->kind) {
		case ES_IN:
			es_inject_raw(es, s->flags, es->peer_isn + s->seq,
				      (s->flags & F_ACK) ? es->iss + s->ack : 0, s->win,
				      s->len, s->opts, s->tos);
			break;
		case ES_ICMP:
			es_inject_icmp(es, s->flags, (uint8_t)s->ack, s->win, es->iss + s->seq);
			break;
		case ES_OUT:
			vtcp_poll(es->st, es->now, es_tx, es);
			if (es->head == es->nout) {
				ktap_diag("step %d (t=%u ms): expected a segment, none sent", i, s->t_ms);
				return KTAP_FAIL;
			}
			es->last = es->out[es->head++];
			if (check_out(es, s, &es->last)) {
				ktap_diag("step %d (t=%u ms): segment mismatch", i, s->t_ms);
				return KTAP_FAIL;
			}
			break;
		case ES_NONE:
			if (es->head != es->nout) {
				struct es_frame *f = &es->out[es->head];

				ktap_diag("step %d (t=%u ms): unexpected segment flags %#x seq %u len %u",
					  i, s->t_ms, f->flags, f->seq - es->iss, f->len);
				return KTAP_FAIL;
			}
			break;
		case ES_CALL:
			if (s->call(es)) {
				ktap_diag("step %d (t=%u ms): call failed", i, s->t_ms);
				return KTAP_FAIL;
			}
			break;
		case ES_END:
			break;
		}
	}
	return KTAP_PASS;
}
