// SPDX-License-Identifier: GPL-2.0
/*
 * Local ports and steering filters. A port the stack uses is reserved in the
 * kernel by a kernel TCP socket bound to it (keeper.c), so no kernel socket
 * can take it meanwhile. Filters are shared by tuple within the
 * stack: closing a socket and at once opening another on the same tuple
 * finds the lingering filter instead of colliding with it (no EEXIST).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/log.h"
#include "wire/priv.h"

/*
 * A reference to the stack's filter for @flow, installing it if needed.
 * On success @resv (or -1) is handed over: kept by a new hold, closed if
 * the hold existed; on failure it stays the caller's.
 */
int wire_hold_get(struct velo_wire_stack *st, const struct velo_xsk_flow *flow, int resv,
		  struct wire_hold **out)
{
	struct wire_hold *h;
	int err;

	for (h = st->holds; h && !wire_flow_eq(&h->flow, flow); h = h->next)
		;
	if (h) {
		wire_port_release(resv);
		h->refs++;
		*out = h;
		return 0;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->flow = *flow;
	err = st->io->filter_add(st, flow, resv < 0, &h->filter);
	if (err) {
		free(h);
		/* someone else's tuple: as a kernel bind would say */
		return err == -EEXIST ? -EADDRINUSE : err;
	}
	h->resv = resv;
	velo_fd_rehome(resv, &h->resv);
	h->refs = 1;
	h->next = st->holds;
	st->holds = h;
	st->stats.filters++;
	st->stats.filters_added++;
	st->stats.reserved_ports += resv >= 0;
	*out = h;
	return 0;
}

/* Drops a socket's reference; the hold stays at least @linger_ns longer. */
void wire_hold_put(struct velo_wire_stack *st, struct wire_hold *h, uint64_t linger_ns)
{
	uint64_t until = wire_now() + linger_ns;

	if (!h)
		return;
	h->refs--;
	if (linger_ns && until > h->linger_until)
		h->linger_until = until;
	if (!h->refs && !linger_ns && !h->pool)
		wire_holds_expire(st, false);
}

static void hold_free(struct velo_wire_stack *st, struct wire_hold *h)
{
	int err = st->io->filter_remove(st, &h->filter);

	if (err)
		velo_dbg("wire: filter removal: %s", strerror(-err));
	if (h->resv >= 0) {
		wire_port_release(h->resv);
		st->stats.reserved_ports--;
	}
	st->stats.filters--;
	st->stats.pool_ports -= h->pool;
	free(h);
}

/* Frees holds no socket uses whose lingering is over (@all: every hold). */
void wire_holds_expire(struct velo_wire_stack *st, bool all)
{
	uint64_t now = wire_now();
	struct wire_hold **pp = &st->holds, *h;

	while ((h = *pp)) {
		if (all || (!h->refs && !h->pool && now >= h->linger_until)) {
			*pp = h->next;
			hold_free(st, h);
		} else {
			pp = &h->next;
		}
	}
}

/*
 * A connection that went to the kernel closed (an orphan at exit): the
 * holds of its port that no socket uses go now, not after lingering, with
 * their filters and velo.ko's record (which would reset the peer when the
 * process ends): the kernel's socket has the connection.
 */
void wire_holds_drop_port(struct velo_wire_stack *st, const struct sockaddr *local)
{
	uint8_t addr[16];
	uint16_t port;

	wire_sa_bytes(local, addr, &port);
	for (struct wire_hold *h = st->holds; h; h = h->next)
		if (!h->refs && !h->pool && h->flow.family == local->sa_family &&
		    h->flow.local_port == port && !memcmp(h->flow.local_addr, addr, 16))
			h->linger_until = 0;
	wire_holds_expire(st, false);
}

/* Whether listen filter @h takes SYNs for @self (family @family). */
static bool listen_hold_takes(const struct wire_hold *h, const struct sockaddr *self, int family)
{
	static const uint8_t any[16];
	uint8_t addr[16];
	uint16_t port;

	wire_sa_bytes(self, addr, &port);
	if (h->pool || h->flow.remote_port || h->flow.family != family || h->flow.local_port != port)
		return false;
	return family != self->sa_family || !memcmp(addr, any, 16) ||
	       !memcmp(h->flow.local_addr, any, 16) || !memcmp(h->flow.local_addr, addr, 16);
}

bool wire_listen_held(struct velo_wire_stack *st, const struct sockaddr *self, bool dual)
{
	for (struct wire_hold *h = st->holds; h; h = h->next)
		if (listen_hold_takes(h, self, self->sa_family) ||
		    (dual && listen_hold_takes(h, self, AF_INET)))
			return true;
	return false;
}

/* Whether one of the stack's holds reserves @a's port on @a's address (or any). */
bool wire_hold_of_port(struct velo_wire_stack *st, const struct sockaddr *a)
{
	static const uint8_t any[16];
	uint8_t addr[16];
	uint16_t port;

	wire_sa_bytes(a, addr, &port);
	for (struct wire_hold *h = st->holds; h; h = h->next)
		if (h->resv >= 0 && h->flow.family == a->sa_family && h->flow.local_port == port &&
		    (!memcmp(h->flow.local_addr, addr, 16) || !memcmp(h->flow.local_addr, any, 16)))
			return true;
	return false;
}
