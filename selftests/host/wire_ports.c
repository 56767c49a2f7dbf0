// SPDX-License-Identifier: GPL-2.0
/*
 * Local ports of the wire stack: connect+close cycles to one server with and
 * without shared local ports (filters installed, rates), the pool's
 * no-fallback limit, the kernel's view of pool ports, and a listener closed
 * and reopened on its port while its children live (no EEXIST).
 */
#include "wire_lib.h"

#define PORT 5301
#define CYCLES 200

/* Peer: @n times accept, send one byte, close first (the client ends in LAST_ACK). */
static int oneshot_server(void *arg)
{
	int *a = arg;

	for (int i = 0; i < a[1]; i++) {
		int fd = accept(a[0], NULL, NULL);

		if (fd < 0 || write(fd, "k", 1) != 1)
			return 60;
		close(fd);
	}
	return 0;
}

/* Time spent inside connect() itself (reservation, filter, SYN), ns. */
static uint64_t connect_call_ns;

/* socket, connect (timed, then waited for), read the byte and the EOF, close. */
static int cycle(struct velo_wire_stack *st, const struct sockaddr *peer, socklen_t len)
{
	int s = velo_wire_socket(st, AF_INET), err;
	uint64_t t0 = now_ns();
	char c[2];

	if (s < 0)
		return s;
	err = velo_wire_connect(st, s, peer, len, true, -1);
	connect_call_ns += now_ns() - t0;
	if (err == -EINPROGRESS) {
		int ev = velo_wire_wait(st, s, VTCP_EV_WRITABLE | VTCP_EV_ERR | VTCP_EV_HUP, 10000);

		err = ev > 0 ? -velo_wire_sock_error(st, s) : ev ? ev : -ETIMEDOUT;
	}
	if (!err && velo_wire_recv(st, s, c, 1, MSG_WAITALL, 10000) != 1)
		err = -EIO;
	if (!err && velo_wire_recv(st, s, c, 1, 0, 10000) != 0)
		err = -EIO;
	velo_wire_close(st, s);
	return err;
}

/* CYCLES connect+close cycles under @cfg: the rate, and the stack's stats. */
static double cycles(const struct velo_wire_config *cfg, struct velo_wire_stats *stats,
		     double *connect_us)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(AF_INET, PEER, PORT, &ss);
	struct velo_wire_stack *st;
	uint64_t t0;
	int err;

	velo_wire_set_config(cfg);
	st = velo_wire_stack_for((struct sockaddr *)&ss, &err);
	if (!st)
		return -1;
	connect_call_ns = 0;
	t0 = now_ns();
	for (int i = 0; i < CYCLES; i++) {
		err = cycle(st, (struct sockaddr *)&ss, len);
		if (err) {
			velo_wire_get_stats(st, stats);
			ktap_diag("cycle %d: %s (frames in %llu out %llu; xdp redirected %llu "
				  "passed %llu no socket %llu foreign queue %llu)", i, strerror(-err),
				  (unsigned long long)stats->rx_frames,
				  (unsigned long long)stats->tx_frames,
				  (unsigned long long)stats->xdp_redirected,
				  (unsigned long long)stats->xdp_passed,
				  (unsigned long long)stats->xdp_no_socket,
				  (unsigned long long)stats->xdp_foreign_queue);
			return -1;
		}
	}
	velo_wire_get_stats(st, stats);
	*connect_us = (double)connect_call_ns / CYCLES / 1e3;
	velo_wire_shutdown_all();
	return CYCLES / secs_since(t0);
}

static int pool_vs_plain(void)
{
	int args[2] = { peer_listener(AF_INET, PORT), 2 * CYCLES };
	struct velo_wire_stats plain, pooled;
	struct velo_wire_config cfg;
	double plain_rate, pool_rate, plain_us, pool_us;
	pid_t pid;

	KTAP_EXPECT(args[0] >= 0);
	pid = peer_spawn(oneshot_server, args);
	velo_wire_config_default(&cfg);
	plain_rate = cycles(&cfg, &plain, &plain_us);
	cfg.shared = (struct velo_wire_shared_ports){ .initial = 8, .max = 64, .step = 8,
						      .reuse_fast = true };
	pool_rate = cycles(&cfg, &pooled, &pool_us);
	KTAP_EXPECT(peer_wait(pid) == 0);
	KTAP_EXPECT(plain_rate > 0 && pool_rate > 0);
	ktap_diag("%d connect+close cycles to one server: without pool %.0f/s (connect() call "
		  "%.1f us), %llu filters installed; with pool %.0f/s (connect() call %.1f us), "
		  "%llu filters (%u ports, %llu pool connects, %llu fallbacks)", CYCLES, plain_rate,
		  plain_us, (unsigned long long)plain.filters_added, pool_rate, pool_us,
		  (unsigned long long)pooled.filters_added, pooled.pool_ports,
		  (unsigned long long)pooled.pool_connects,
		  (unsigned long long)pooled.fallback_connects);
	KTAP_EXPECT(plain.filters_added >= CYCLES);
	KTAP_EXPECT(pooled.pool_connects == CYCLES && pooled.fallback_connects == 0);
	KTAP_EXPECT(pooled.filters_added == pooled.pool_ports && pooled.pool_ports <= 64);
	close(args[0]);
	return KTAP_PASS;
}

/* Peer: accept @n connections and keep them until each reads EOF. */
static int holding_server(void *arg)
{
	int *a = arg, fds[8];
	char c;

	for (int i = 0; i < a[1]; i++)
		if ((fds[i] = accept(a[0], NULL, NULL)) < 0)
			return 70;
	for (int i = 0; i < a[1]; i++)
		if (read(fds[i], &c, 1) != 0)
			return 71;
	return 0;
}

/* A full pool with no fallback refuses connect; its ports are reserved in the kernel. */
static int pool_no_fallback(void)
{
	int args[2] = { peer_listener(AF_INET, PORT), 2 }, s[3], err, fd;
	struct sockaddr_storage ss, local;
	socklen_t len = sockaddr_of(AF_INET, PEER, PORT, &ss), llen = sizeof(local);
	struct velo_wire_config cfg;
	struct velo_wire_stack *st;
	pid_t pid;

	KTAP_EXPECT(args[0] >= 0);
	pid = peer_spawn(holding_server, args);
	velo_wire_config_default(&cfg);
	cfg.shared = (struct velo_wire_shared_ports){ .initial = 2, .max = 2, .step = 1,
						      .per_ip = true, .per_ip_max = 2,
						      .no_fallback = true };
	velo_wire_set_config(&cfg);
	st = velo_wire_stack_for((struct sockaddr *)&ss, &err);
	KTAP_EXPECT(st);
	for (int i = 0; i < 3; i++) {
		s[i] = velo_wire_socket(st, AF_INET);
		err = velo_wire_connect(st, s[i], (struct sockaddr *)&ss, len, false, 10000);
		KTAP_EXPECT(i < 2 ? err == 0 : err == -EADDRNOTAVAIL);
	}
	KTAP_EXPECT(velo_wire_getsockname(st, s[0], (struct sockaddr *)&local, &llen) == 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	KTAP_EXPECT(bind(fd, (struct sockaddr *)&local, llen) == -1 && errno == EADDRINUSE);
	close(fd);
	for (int i = 0; i < 3; i++)
		velo_wire_close(st, s[i]);
	KTAP_EXPECT(peer_wait(pid) == 0);
	velo_wire_shutdown_all();
	return KTAP_PASS;
}

/* Five connections open at once to one server: the pool grows 2 -> 4 -> 6 ports. */
static int pool_grows(void)
{
	int args[2] = { peer_listener(AF_INET, PORT), 5 }, s[5], err;
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(AF_INET, PEER, PORT, &ss);
	struct velo_wire_config cfg;
	struct velo_wire_stats stats;
	struct velo_wire_stack *st;
	pid_t pid;

	KTAP_EXPECT(args[0] >= 0);
	pid = peer_spawn(holding_server, args);
	velo_wire_config_default(&cfg);
	cfg.shared = (struct velo_wire_shared_ports){ .initial = 2, .max = 8, .step = 2 };
	velo_wire_set_config(&cfg);
	st = velo_wire_stack_for((struct sockaddr *)&ss, &err);
	KTAP_EXPECT(st);
	for (int i = 0; i < 5; i++) {
		s[i] = velo_wire_socket(st, AF_INET);
		KTAP_EXPECT(velo_wire_setsockopt(st, s[i], VTCP_NODELAY, 1) == 0);
		err = velo_wire_connect(st, s[i], (struct sockaddr *)&ss, len, false, 10000);
		KTAP_EXPECT(err == 0);
	}
	velo_wire_get_stats(st, &stats);
	ktap_diag("5 open connections to one server: %u pool ports, %u filters, %llu pool "
		  "connects", stats.pool_ports, stats.filters,
		  (unsigned long long)stats.pool_connects);
	KTAP_EXPECT(stats.pool_ports == 6 && stats.filters == 6 && stats.pool_connects == 5);
	for (int i = 0; i < 5; i++) {
		int v = 0;

		/* a renewed engine socket kept the option the application set */
		KTAP_EXPECT(velo_wire_getsockopt(st, s[i], VTCP_NODELAY, &v) == 0 && v == 1);
		velo_wire_close(st, s[i]);
	}
	KTAP_EXPECT(peer_wait(pid) == 0);
	velo_wire_shutdown_all();
	return KTAP_PASS;
}

static int wire_listener(struct velo_wire_stack *st, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int l = velo_wire_socket(st, AF_INET);

	if (l < 0 || velo_wire_setsockopt(st, l, VTCP_REUSEADDR, 1) ||
	    velo_wire_bind(st, l, (struct sockaddr *)&a, sizeof(a)) || velo_wire_listen(st, l, 8))
		return -1;
	return l;
}

/* Peer: two connections in turn, each sending a byte and waiting for EOF. */
static int two_clients(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2; i++) {
		int fd = kernel_connect(AF_INET, PEER, 0, PORT);
		char c;

		if (fd < 0 || connect_result(fd, 10000))
			return 80 + i;
		fcntl(fd, F_SETFL, 0);
		if (write(fd, "c", 1) != 1 || read(fd, &c, 1) != 0)
			return 82 + i;
		close(fd);
	}
	return 0;
}

/* A listener closed and reopened on its port while its child lives: no EEXIST. */
static int relisten(void)
{
	struct sockaddr_storage ss;
	struct velo_wire_stack *st;
	int l, a, b, err;
	char c;
	pid_t pid;

	sockaddr_of(AF_INET, PEER, 0, &ss);
	st = velo_wire_stack_for((struct sockaddr *)&ss, &err);
	KTAP_EXPECT(st);
	l = wire_listener(st, PORT);
	KTAP_EXPECT(l >= 0);
	pid = peer_spawn(two_clients, NULL);
	a = velo_wire_accept(st, l, NULL, NULL, false, 10000);
	KTAP_EXPECT(a >= 0 && velo_wire_recv(st, a, &c, 1, 0, 10000) == 1);
	KTAP_EXPECT(velo_wire_close(st, l) == 0);
	l = wire_listener(st, PORT);
	KTAP_EXPECT(l >= 0);
	KTAP_EXPECT(velo_wire_close(st, a) == 0);
	b = velo_wire_accept(st, l, NULL, NULL, false, 10000);
	if (b < 0)
		ktap_diag("second accept: %s", strerror(-b));
	KTAP_EXPECT(b >= 0 && velo_wire_recv(st, b, &c, 1, 0, 10000) == 1);
	KTAP_EXPECT(velo_wire_close(st, b) == 0);
	KTAP_EXPECT(peer_wait(pid) == 0);
	velo_wire_close(st, l);
	velo_wire_shutdown_all();
	return KTAP_PASS;
}

#define NET_CASE(name)                   \
	static int net_##name(void)      \
	{                                \
		xdp_require();           \
		return with_net(2, name); \
	}

NET_CASE(pool_vs_plain)
NET_CASE(pool_no_fallback)
NET_CASE(pool_grows)
NET_CASE(relisten)

static const struct ktap_case cases[] = {
	{ "shared_ports_reuse_and_rates", net_pool_vs_plain, 90 },
	{ "shared_ports_no_fallback_reserved", net_pool_no_fallback, 60 },
	{ "shared_ports_grow_by_step", net_pool_grows, 60 },
	{ "relisten_while_child_lives", net_relisten, 60 },
};

KTAP_MAIN(cases)
