// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine_mesh.h"

#define CONNECT_BATCH 512

struct em_link {
	struct em *em;
	int to;
};

static struct em_link links[2];

static void em_tx(void *ctx, const void *frame, size_t len)
{
	struct em_link *l = ctx;

	l->em->frames++;
	l->em->sent[!l->to]++;
	vtcp_input(l->em->st[l->to], frame, len, l->em->now);
}

static void em_event(void *ctx, int sock, unsigned int ev)
{
	struct em_link *l = ctx; /* links[side]: .to is the other side */
	int side = !l->to;

	l->em->events[side]++;
	l->em->last_event_sock[side] = sock;
	if (l->em->on_event)
		l->em->on_event(l->em, side, sock, ev);
}

uint64_t em_pump(struct em *em)
{
	uint64_t before = em->frames;
	int sent;

	do {
		sent = vtcp_poll(em->st[0], em->now, em_tx, &links[0]);
		sent += vtcp_poll(em->st[1], em->now, em_tx, &links[1]);
		em->polls += 2;
	} while (sent);
	return em->frames - before;
}

static void addr(struct sockaddr_in *a, int side, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(0x0a000001 + (uint32_t)side);
	a->sin_port = htons(port);
}

/* Accepts what the listeners hold and pairs each with its client by port. */
static int accept_batch(struct em *em, const int *cli_by_port, unsigned int *accepted)
{
	for (unsigned int l = 0; l < em->nlisten; l++) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		int s, i;

		while ((s = vtcp_accept(em->st[1], em->lsock[l], (struct sockaddr *)&peer,
					&len)) >= 0) {
			i = cli_by_port[l * 65536 + ntohs(peer.sin_port)];
			if (i < 0 || em->srv[i] >= 0)
				return -1;
			em->srv[i] = s;
			(*accepted)++;
			len = sizeof(peer);
		}
	}
	return 0;
}

int em_init(struct em *em, unsigned int n)
{
	static const uint8_t mac[2][6] = { { 2, 0, 0, 0, 0, 1 }, { 2, 0, 0, 0, 0, 2 } };
	unsigned int accepted = 0;
	int *cli_by_port;
	struct sockaddr_in a;

	memset(em, 0, sizeof(*em));
	em->n = n;
	em->now = 1000000000ull;
	em->nlisten = (n + EM_PER_LISTENER - 1) / EM_PER_LISTENER;
	if (em->nlisten > 8)
		return -1;
	for (int i = 0; i < 2; i++) {
		struct vtcp_config cfg;

		memset(&cfg, 0, sizeof(cfg));
		cfg.max_sockets = n + em->nlisten;
		cfg.sndbuf_max = cfg.rcvbuf_max = 4096; /* idle sockets: small pools */
		memcpy(cfg.mac, mac[i], 6);
		cfg.mtu = 1500;
		cfg.ifindex = 1;
		cfg.on_event = em_event;
		cfg.event_ctx = &links[i];
		links[i].em = em;
		links[i].to = !i;
		em->st[i] = vtcp_stack_create(&cfg);
		if (!em->st[i])
			return -1;
		addr(&a, i, 0);
		vtcp_addr_add(em->st[i], (struct sockaddr *)&a);
	}
	for (int i = 0; i < 2; i++) {
		addr(&a, !i, 0);
		vtcp_neigh_set(em->st[i], (struct sockaddr *)&a, mac[!i]);
	}
	em->cli = malloc(n * sizeof(int));
	em->srv = malloc(n * sizeof(int));
	cli_by_port = malloc(em->nlisten * 65536 * sizeof(int));
	if (!em->cli || !em->srv || !cli_by_port)
		return -1;
	memset(cli_by_port, 0xff, em->nlisten * 65536 * sizeof(int));
	memset(em->srv, 0xff, n * sizeof(int));
	for (unsigned int l = 0; l < em->nlisten; l++) {
		em->lsock[l] = vtcp_socket(em->st[1], AF_INET);
		addr(&a, 1, (uint16_t)(80 + l));
		if (vtcp_bind(em->st[1], em->lsock[l], (struct sockaddr *)&a, sizeof(a)) ||
		    vtcp_listen(em->st[1], em->lsock[l], CONNECT_BATCH))
			return -1;
	}
	for (unsigned int i = 0; i < n; i++) {
		unsigned int l = i / EM_PER_LISTENER;
		struct sockaddr_in me;
		socklen_t len = sizeof(me);

		em->cli[i] = vtcp_socket(em->st[0], AF_INET);
		addr(&a, 1, (uint16_t)(80 + l));
		if (vtcp_connect(em->st[0], em->cli[i], (struct sockaddr *)&a, sizeof(a)) !=
			    -EINPROGRESS ||
		    vtcp_getsockname(em->st[0], em->cli[i], (struct sockaddr *)&me, &len))
			return -1;
		cli_by_port[l * 65536 + ntohs(me.sin_port)] = (int)i;
		if ((i + 1) % CONNECT_BATCH == 0 || i + 1 == n) {
			em_pump(em);
			if (accept_batch(em, cli_by_port, &accepted))
				return -1;
		}
	}
	free(cli_by_port);
	em_pump(em);
	return accepted == n ? 0 : -1;
}

void em_fini(struct em *em)
{
	vtcp_stack_destroy(em->st[0]);
	vtcp_stack_destroy(em->st[1]);
	free(em->cli);
	free(em->srv);
}
