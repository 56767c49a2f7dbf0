// SPDX-License-Identifier: GPL-2.0
/*
 * IPv6 dual-stack sockets, as Linux with net.ipv6.bindv6only=0: an AF_INET6
 * listener on :: accepts IPv4 connections, shown as ::ffff:a.b.c.d; an
 * AF_INET6 socket connects to ::ffff:a.b.c.d over IPv4; IPV6_V6ONLY (set
 * before bind) turns both off, and the bind rules between the families
 * follow from it. The peer speaks IPv4 throughout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "engine_script.h"
#include "ktap.h"

static struct es E;

static void any6(struct sockaddr_in6 *a, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
}

static void mapped(struct sockaddr_in6 *a, const char *v4, uint16_t port)
{
	char s[32] = "::ffff:";

	any6(a, port);
	strcat(s, v4);
	inet_pton(AF_INET6, s, &a->sin6_addr);
}

static int listen6(struct es *es, int v6only)
{
	struct sockaddr_in6 a;

	es->lsock = vtcp_socket(es->st, AF_INET6);
	any6(&a, es->lport);
	if (v6only >= 0 && vtcp_setopt(es->st, es->lsock, VTCP_V6ONLY, v6only))
		return -1;
	if (vtcp_bind(es->st, es->lsock, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	return vtcp_listen(es->st, es->lsock, 8);
}

static int listen6_dual(struct es *es)
{
	return listen6(es, -1); /* the stack's default: dual-stack in these cases */
}

static int listen6_only(struct es *es)
{
	return listen6(es, 1);
}

/* The accepted IPv4 connection reads as ::ffff:10.0.0.2 / ::ffff:10.0.0.1. */
static int accept_mapped(struct es *es)
{
	struct sockaddr_in6 peer, me, want_peer, want_me;
	socklen_t plen = sizeof(peer), mlen = sizeof(me);
	int v6only = -1;

	es->sock = vtcp_accept(es->st, es->lsock, (struct sockaddr *)&peer, &plen);
	if (es->sock < 0)
		return -1;
	mapped(&want_peer, "10.0.0.2", es->pport);
	mapped(&want_me, "10.0.0.1", es->lport);
	if (vtcp_getsockname(es->st, es->sock, (struct sockaddr *)&me, &mlen) ||
	    vtcp_getopt(es->st, es->sock, VTCP_V6ONLY, &v6only))
		return -1;
	if (plen != sizeof(peer) || memcmp(&peer, &want_peer, sizeof(peer)) ||
	    mlen != sizeof(me) || memcmp(&me, &want_me, sizeof(me)) || v6only != 0) {
		ktap_diag("addresses not v4-mapped (len %u/%u, V6ONLY %d)", plen, mlen, v6only);
		return -1;
	}
	return 0;
}

static int recv_100(struct es *es)
{
	char buf[200];

	return vtcp_recv(es->st, es->sock, buf, sizeof(buf), 0) != 100;
}

static int connect_mapped(struct es *es)
{
	struct sockaddr_in6 a;

	es->sock = vtcp_socket(es->st, AF_INET6);
	any6(&a, es->lport);
	if (vtcp_bind(es->st, es->sock, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	mapped(&a, "10.0.0.2", es->pport);
	return vtcp_connect(es->st, es->sock, (struct sockaddr *)&a, sizeof(a)) != -EINPROGRESS;
}

static int peer_is_mapped(struct es *es)
{
	struct sockaddr_in6 peer, want;
	socklen_t len = sizeof(peer);

	mapped(&want, "10.0.0.2", es->pport);
	return vtcp_getpeername(es->st, es->sock, (struct sockaddr *)&peer, &len) ||
	       len != sizeof(peer) || memcmp(&peer, &want, sizeof(peer));
}

static int established(struct es *es)
{
	struct vtcp_info ti;

	return vtcp_get_info(es->st, es->sock, &ti) || ti.tcpi_state != VTCP_ESTABLISHED ||
	       ti.tcpi_snd_mss != 1448; /* IPv4 headers: 1500 - 20 - 20 - 12 */
}

static void config(struct vtcp_config *c, int dual_stack)
{
	memset(c, 0, sizeof(*c));
	c->max_sockets = 16;
	c->sndbuf_max = c->rcvbuf_max = 65536;
	c->ipv6_dual_stack = dual_stack;
}

static int run(const struct es_step *steps, int dual_stack)
{
	struct vtcp_config c;
	int r;

	config(&c, dual_stack);
	if (es_init(&E, &c, false))
		return KTAP_FAIL;
	r = es_run(&E, steps);
	es_fini(&E);
	return r;
}

static int v4_to_dual_listener(void)
{
	static const struct es_step s[] = {
		CALL(0, listen6_dual),
		IN(0, F_SYN, 0, 0, 64240, 0, "mss=1460,sackok,ts=100:0,ws=7"),
		OUT(0, F_SYN | F_ACK, 0, 1, 65160, 0, "mss=1460,sackok,ts,ws=1"),
		IN(10, F_ACK, 1, 1, 502, 0, "ts=101"),
		CALL(10, accept_mapped),
		CALL(10, established),
		IN(20, F_PSH | F_ACK, 1, 1, 502, 100, "ts=102"),
		OUT(20, F_ACK, 1, 101, ANY, 0, "ts"),
		CALL(20, recv_100),
		END,
	};

	return run(s, 1);
}

static int v4_to_v6only_listener(void)
{
	static const struct es_step s[] = {
		CALL(0, listen6_only),
		IN(0, F_SYN, 0, 0, 64240, 0, "mss=1460"),
		OUT(0, F_RST | F_ACK, 0, 1, 0, 0, NULL),
		END,
	};

	return run(s, 1);
}

/* A host that does not ask for dual-stack keeps IPv6 sockets IPv6-only. */
static int v4_to_listener_default_config(void)
{
	static const struct es_step s[] = {
		CALL(0, listen6_dual),
		IN(0, F_SYN, 0, 0, 64240, 0, "mss=1460"),
		OUT(0, F_RST | F_ACK, 0, 1, 0, 0, NULL),
		END,
	};

	return run(s, 0);
}

static int connect_v4_mapped(void)
{
	static const struct es_step s[] = {
		CALL(0, connect_mapped),
		OUT(0, F_SYN, 0, ANY, 64240, 0, "mss=1460,sackok,ts,ws=1"),
		IN(10, F_SYN | F_ACK, 0, 1, 65160, 0, "mss=1460,sackok,ts=500,ws=7"),
		OUT(10, F_ACK, 1, 1, ANY, 0, "ts"),
		CALL(10, established),
		CALL(10, peer_is_mapped),
		END,
	};

	return run(s, 1);
}

static int sock_bind(struct vtcp_stack *st, int fam, const char *addr, uint16_t port, int v6only)
{
	struct sockaddr_storage ss;
	int s = vtcp_socket(st, fam);

	memset(&ss, 0, sizeof(ss));
	if (fam == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, addr, &a->sin_addr);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		if (v6only >= 0 && vtcp_setopt(st, s, VTCP_V6ONLY, v6only))
			return -100;
	}
	return vtcp_bind(st, s, (struct sockaddr *)&ss, sizeof(ss));
}

/* Linux's bind rules across families, and the option's own errors. */
static int bind_rules(void)
{
	struct vtcp_config c;
	struct sockaddr_in6 a;
	int s, v = -1;

	config(&c, 1);
	KTAP_EXPECT(es_init(&E, &c, false) == 0);
	/* dual-stack :: takes the port for IPv4 too */
	KTAP_EXPECT(sock_bind(E.st, AF_INET6, "::", 5000, -1) == 0);
	KTAP_EXPECT(sock_bind(E.st, AF_INET, "0.0.0.0", 5000, -1) == -EADDRINUSE);
	KTAP_EXPECT(sock_bind(E.st, AF_INET, "10.0.0.1", 5000, -1) == -EADDRINUSE);
	/* and the other way round */
	KTAP_EXPECT(sock_bind(E.st, AF_INET, "10.0.0.1", 5001, -1) == 0);
	KTAP_EXPECT(sock_bind(E.st, AF_INET6, "::", 5001, -1) == -EADDRINUSE);
	KTAP_EXPECT(sock_bind(E.st, AF_INET6, "::", 5001, 1) == 0);
	/* IPv6-only and IPv4 share a port; a specific IPv6 address never meets IPv4 */
	KTAP_EXPECT(sock_bind(E.st, AF_INET6, "::", 5002, 1) == 0);
	KTAP_EXPECT(sock_bind(E.st, AF_INET, "0.0.0.0", 5002, -1) == 0);
	any6(&a, 0);
	inet_pton(AF_INET6, "fd00::1", &a.sin6_addr);
	KTAP_EXPECT(vtcp_addr_add(E.st, (struct sockaddr *)&a) == 0);
	KTAP_EXPECT(sock_bind(E.st, AF_INET6, "fd00::1", 5003, 0) == 0);
	KTAP_EXPECT(sock_bind(E.st, AF_INET, "0.0.0.0", 5003, -1) == 0);
	/* the option: IPv6 sockets only, before bind */
	s = vtcp_socket(E.st, AF_INET);
	KTAP_EXPECT(vtcp_setopt(E.st, s, VTCP_V6ONLY, 1) == -ENOPROTOOPT);
	KTAP_EXPECT(vtcp_getopt(E.st, s, VTCP_V6ONLY, &v) == -ENOPROTOOPT);
	s = vtcp_socket(E.st, AF_INET6);
	KTAP_EXPECT(vtcp_getopt(E.st, s, VTCP_V6ONLY, &v) == 0 && v == 0);
	any6(&a, 5004);
	KTAP_EXPECT(vtcp_bind(E.st, s, (struct sockaddr *)&a, sizeof(a)) == 0);
	KTAP_EXPECT(vtcp_setopt(E.st, s, VTCP_V6ONLY, 1) == -EINVAL);
	/* an IPv6-only socket cannot reach a mapped address */
	s = vtcp_socket(E.st, AF_INET6);
	KTAP_EXPECT(vtcp_setopt(E.st, s, VTCP_V6ONLY, 1) == 0);
	mapped(&a, "10.0.0.2", 80);
	KTAP_EXPECT(vtcp_connect(E.st, s, (struct sockaddr *)&a, sizeof(a)) == -ENETUNREACH);
	es_fini(&E);
	/* without dual-stack in the config, IPv6 sockets start IPv6-only */
	KTAP_EXPECT(es_init(&E, NULL, false) == 0);
	s = vtcp_socket(E.st, AF_INET6);
	KTAP_EXPECT(vtcp_getopt(E.st, s, VTCP_V6ONLY, &v) == 0 && v == 1);
	KTAP_EXPECT(sock_bind(E.st, AF_INET6, "::", 5000, -1) == 0);
	KTAP_EXPECT(sock_bind(E.st, AF_INET, "0.0.0.0", 5000, -1) == 0);
	es_fini(&E);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "v4_syn_to_dual_stack_listener", v4_to_dual_listener, 0 },
	{ "v4_syn_to_v6only_listener_rst", v4_to_v6only_listener, 0 },
	{ "v4_syn_default_config_v6only", v4_to_listener_default_config, 0 },
	{ "connect_v4_mapped_address", connect_v4_mapped, 0 },
	{ "bind_rules_across_families", bind_rules, 0 },
};

KTAP_MAIN(cases)
