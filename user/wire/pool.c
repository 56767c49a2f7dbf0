// SPDX-License-Identifier: GPL-2.0
/*
 * Shared local ports (Onload's EF_TCP_SHARED_LOCAL_PORTS family): active
 * opens that did not bind take their local port from a pool of ports the
 * kernel reserved for the stack, each with one 3-tuple filter. Many
 * connections share a pool port as long as their 4-tuples differ, so a
 * connect installs no filter and reserves nothing. The engine is the judge
 * of 4-tuple conflicts (SO_REUSEADDR binds, TIME_WAIT): a connect it refuses
 * costs the socket its engine handle, which is renewed for the next port.
 *
 * Pools are per address family, or per local address with per_ip. Without
 * reuse_fast a port is left alone while a connection closed on it may still
 * linger (FIN_WAIT, TIME_WAIT); with it, the engine's own rules decide.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/log.h"
#include "wire/priv.h"

static bool pool_key_is(const struct wire_hold *h, int family, const uint8_t *key)
{
	return h->flow.family == family && !memcmp(h->flow.local_addr, key, 16);
}

static unsigned int pool_count(struct velo_wire_stack *st, int family, const uint8_t *key)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < st->npool; i++)
		n += pool_key_is(st->pool[i], family, key);
	return n;
}

/* The local address a pool port is reserved on: @src for per-IP pools, else any. */
static void pool_addr(const struct velo_wire_stack *st, const struct sockaddr_storage *src,
		      struct sockaddr_storage *at)
{
	if (st->cfg.shared.per_ip) {
		*at = *src;
	} else {
		memset(at, 0, sizeof(*at));
		at->ss_family = src->ss_family;
	}
	((struct sockaddr_in *)at)->sin_port = 0; /* same offset in sin6 */
}

/* Adds initial (first time) or step ports within the limits; returns how many. */
static unsigned int pool_grow(struct velo_wire_stack *st, const struct sockaddr_storage *at,
			      const uint8_t *key)
{
	const struct velo_wire_shared_ports *cfg = &st->cfg.shared;
	unsigned int have = pool_count(st, at->ss_family, key), added = 0;
	unsigned int want = have ? cfg->step : cfg->initial;
	struct wire_hold **grown, *h;

	if (want > cfg->max - st->npool)
		want = cfg->max - st->npool;
	if (cfg->per_ip && want > cfg->per_ip_max - have)
		want = cfg->per_ip_max - have;
	grown = realloc(st->pool, (st->npool + want) * sizeof(*st->pool));
	if (!want || !grown)
		return 0;
	st->pool = grown;
	while (added < want) {
		struct velo_xsk_flow flow = { .family = at->ss_family };
		int fd = wire_port_reserve((const struct sockaddr *)at, &flow.local_port);

		memcpy(flow.local_addr, key, 16);
		if (fd < 0 || wire_hold_get(st, &flow, fd, &h)) {
			velo_warn("wire: shared local port: %s",
				  strerror(fd < 0 ? -fd : EADDRINUSE));
			wire_port_release(fd);
			break;
		}
		h->pool = true;
		h->refs = 0; /* the pool keeps it, sockets count */
		st->pool[st->npool++] = h;
		st->stats.pool_ports++;
		added++;
	}
	return added;
}

/* Binds the socket's engine socket to @h's port on @src and connects it. */
static int pool_try(struct velo_wire_stack *st, int s, struct wire_hold *h,
		    const struct sockaddr_storage *src, const struct sockaddr *a, socklen_t len)
{
	struct sockaddr_storage at = *src;
	int eng = st->socks[s].eng, err;

	((struct sockaddr_in *)&at)->sin_port = htons(h->flow.local_port);
	vtcp_setopt(st->eng, eng, VTCP_REUSEADDR, 1);
	err = vtcp_bind(st->eng, eng, (struct sockaddr *)&at, len);
	if (!err)
		err = vtcp_connect(st->eng, eng, a, len);
	if (err == -EINPROGRESS) {
		st->socks[s].bound = true;
		st->socks[s].hold = h;
		h->refs++;
		st->stats.pool_connects++;
	}
	return err;
}

/* Tries pool ports [from, to) with @key; -EINPROGRESS, -EADDRNOTAVAIL (none fit), -errno. */
static int pool_try_range(struct velo_wire_stack *st, int s, unsigned int from, unsigned int to,
			  const uint8_t *key, const struct sockaddr_storage *src,
			  const struct sockaddr *a, socklen_t len, bool *spent)
{
	uint64_t now = wire_now();
	unsigned int n = to - from;
	int err;

	for (unsigned int j = 0; j < n; j++) {
		unsigned int i = from + (st->pool_rr + j) % n;
		struct wire_hold *h = st->pool[i];

		if (!pool_key_is(h, src->ss_family, key) ||
		    (!st->cfg.shared.reuse_fast && now < h->linger_until))
			continue;
		if (*spent && (err = wire_sock_renew(st, s)))
			return err;
		*spent = true;
		err = pool_try(st, s, h, src, a, len);
		if (err == -EINPROGRESS)
			st->pool_rr = i + 1;
		if (err != -EADDRNOTAVAIL && err != -EADDRINUSE)
			return err;
	}
	return -EADDRNOTAVAIL;
}

int wire_pool_connect(struct velo_wire_stack *st, int s, const struct sockaddr *a,
		      socklen_t len)
{
	struct sockaddr_storage src, at;
	unsigned int from = 0, to;
	bool spent = false;
	uint8_t key[16];
	uint16_t port;
	int err = wire_route_src(st, a, &src);

	if (err)
		return err;
	pool_addr(st, &src, &at);
	wire_sa_bytes((struct sockaddr *)&at, key, &port);
	do {
		to = st->npool;
		err = pool_try_range(st, s, from, to, key, &src, a, len, &spent);
		if (err != -EADDRNOTAVAIL)
			return err;
		from = to;
	} while (pool_grow(st, &at, key));
	if (st->cfg.shared.no_fallback)
		return -EADDRNOTAVAIL;
	st->stats.fallback_connects++;
	return spent ? wire_sock_renew(st, s) : 0;
}

void wire_pool_free(struct velo_wire_stack *st)
{
	free(st->pool);
	st->pool = NULL;
	st->npool = 0;
}
