// SPDX-License-Identifier: GPL-2.0
/*
 * Lifecycle of the wire stack: process exit ends connections with a FIN
 * after the data; SIGKILL leaves the flows to the kernel, which answers the
 * peer's next segment with RST; an interface going down and up, and route
 * changes, during a transfer are survived or fail cleanly (no hang).
 */
#include "wire_lib.h"

#define PORT 5401

/* Peer: accept, read stream 5 to EOF; exit 0 if it was exactly @arg[1] bytes. */
static int drain_server(void *arg)
{
	int *a = arg, fd = accept(a[0], NULL, NULL);
	uint64_t sum = 0;

	if (fd < 0)
		return 90;
	return kernel_recv_stream(fd, 5, 0, &sum) == a[1] ? 0 : 91;
}

/* A process that sends and exits without closing: at exit its data, then FIN. */
static int exit_sends_fin(void)
{
	int args[2] = { peer_listener(AF_INET, PORT), 3 * MIB }, s;
	pid_t server, app;

	KTAP_EXPECT(args[0] >= 0);
	server = peer_spawn(drain_server, args);
	app = fork();
	if (app == 0) {
		struct velo_wire_stack *st;

		s = wire_dial(AF_INET, PORT, &st);
		if (s < 0 || wire_send_stream(st, s, 5, (uint64_t)args[1]))
			_exit(1);
		exit(0); /* atexit: the stack ends its connections */
	}
	KTAP_EXPECT(peer_wait(app) == 0);
	KTAP_EXPECT(peer_wait(server) == 0);
	return KTAP_PASS;
}

/*
 * SIGKILL: the kernel closes the XSKs; the flow's frames then reach the
 * kernel, which has no socket for them and answers with RST.
 */
static int sigkill_rst(void)
{
	int lfd = peer_listener(AF_INET, PORT), ready[2], fd;
	struct pollfd pfd;
	uint64_t t0;
	char c = 0;
	pid_t app;

	KTAP_EXPECT(lfd >= 0 && pipe(ready) == 0);
	app = fork();
	if (app == 0) {
		struct velo_wire_stack *st;

		if (wire_dial(AF_INET, PORT, &st) < 0 || write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	fd = accept(lfd, NULL, NULL);
	KTAP_EXPECT(fd >= 0 && read(ready[0], &c, 1) == 1);
	kill(app, SIGKILL);
	waitpid(app, NULL, 0);
	t0 = now_ns();
	KTAP_EXPECT(write(fd, "x", 1) == 1);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	KTAP_EXPECT(poll(&pfd, 1, 1000) == 1);
	KTAP_EXPECT(read(fd, &c, 1) == -1 && errno == ECONNRESET);
	ktap_diag("peer's segment after SIGKILL answered with RST in %.1f ms",
		  secs_since(t0) * 1e3);
	close(fd);
	close(lfd);
	return KTAP_PASS;
}

/* Peer: accept, read BULK of stream 1, send BULK of stream 2, wait for EOF. */
static int echo_bulk_server(void *arg)
{
	int *a = arg, fd = accept(a[0], NULL, NULL);
	uint64_t sum = 0;

	if (fd < 0 || kernel_recv_stream(fd, 1, (uint64_t)a[1], &sum) != a[1])
		return 100;
	if (kernel_send_stream(fd, 2, (uint64_t)a[1]))
		return 101;
	return kernel_recv_stream(fd, 1, 0, &sum) == 0 ? 0 : 102;
}

/* Runs @cmd in a child after @delay_ms while the caller transfers. */
static pid_t later(int delay_ms, const char *cmd)
{
	pid_t pid = fork();

	if (pid == 0) {
		usleep((useconds_t)delay_ms * 1000);
		_exit(system(cmd) ? 1 : 0);
	}
	return pid;
}

/* 8 MiB each way while @cmd runs; the transfer must complete. */
static int transfer_during(const char *cmd)
{
	int args[2] = { peer_listener(AF_INET, PORT), 8 * MIB }, s;
	struct velo_wire_stack *st;
	uint64_t sum = 0, t0 = now_ns();
	struct vtcp_info ti;
	pid_t server, change;

	KTAP_EXPECT(args[0] >= 0);
	server = peer_spawn(echo_bulk_server, args);
	s = wire_dial(AF_INET, PORT, &st);
	KTAP_EXPECT(s >= 0);
	change = later(10, cmd);
	KTAP_EXPECT(wire_send_stream(st, s, 1, (uint64_t)args[1]) == 0);
	/* the change is over before the peer's half: that must flow after it */
	KTAP_EXPECT(peer_wait(change) == 0);
	KTAP_EXPECT(wire_recv_stream(st, s, 2, (uint64_t)args[1], &sum) == args[1]);
	KTAP_EXPECT(velo_wire_get_info(st, s, &ti) == 0);
	KTAP_EXPECT(velo_wire_close(st, s) == 0);
	KTAP_EXPECT(peer_wait(server) == 0);
	ktap_diag("8 MiB each way across '%s' in %.1f s, %u retransmissions", cmd,
		  secs_since(t0), ti.tcpi_total_retrans);
	velo_wire_shutdown_all();
	return KTAP_PASS;
}

static int link_flap(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "ip -n %s link set %s down && sleep 1 && "
		 "ip -n %s link set %s up", net.ns[SUT], net.ifname[SUT], net.ns[SUT],
		 net.ifname[SUT]);
	return transfer_during(cmd);
}

static int route_change(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "ip -n %s route add 10.99.0.2/32 dev %s src 10.99.0.1 && "
		 "ip -n %s route replace 10.99.0.2/32 dev %s src 10.99.0.1 mtu 1400",
		 net.ns[SUT], net.ifname[SUT], net.ns[SUT], net.ifname[SUT]);
	return transfer_during(cmd);
}

/* Once the route says unreachable, a new connect fails at once; the stack lives on. */
static int route_unreachable(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(AF_INET, PEER, PORT, &ss);
	struct velo_wire_stack *st;
	int s, err;

	st = velo_wire_stack_for((struct sockaddr *)&ss, &err);
	KTAP_EXPECT(st);
	KTAP_EXPECT(sh("ip -n %s route add unreachable 10.99.0.2/32", net.ns[SUT]) == 0);
	usleep(100000); /* the progress thread hears of it */
	s = velo_wire_socket(st, AF_INET);
	err = velo_wire_connect(st, s, (struct sockaddr *)&ss, len, false, 5000);
	ktap_diag("connect with an unreachable route: %s", strerror(-err));
	KTAP_EXPECT(err == -EHOSTUNREACH || err == -ENETUNREACH);
	velo_wire_close(st, s);
	velo_wire_shutdown_all();
	return KTAP_PASS;
}

/* Peer: connect to 10.99.0.11 (added to the sut at runtime), send a byte, wait for EOF. */
static int new_addr_client(void *arg)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char c;

	(void)arg;
	inet_pton(AF_INET, "10.99.0.11", &to.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) || write(fd, "a", 1) != 1)
		return 110;
	return read(fd, &c, 1) == 0 ? 0 : 111;
}

/* An address added after the stack was made is the stack's: a wildcard listener gets it. */
static int address_added(void)
{
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(PORT) }, name;
	socklen_t len = sizeof(name);
	struct sockaddr_storage ss;
	struct velo_wire_stack *st;
	int l, a, err;
	char addr[32], c;
	pid_t pid;

	sockaddr_of(AF_INET, PEER, 0, &ss);
	st = velo_wire_stack_for((struct sockaddr *)&ss, &err);
	KTAP_EXPECT(st);
	l = velo_wire_socket(st, AF_INET);
	KTAP_EXPECT(velo_wire_bind(st, l, (struct sockaddr *)&any, sizeof(any)) == 0);
	KTAP_EXPECT(velo_wire_listen(st, l, 4) == 0);
	KTAP_EXPECT(sh("ip -n %s addr add 10.99.0.11/24 dev %s", net.ns[SUT], net.ifname[SUT]) == 0);
	pid = peer_spawn(new_addr_client, NULL);
	a = velo_wire_accept(st, l, NULL, NULL, false, 10000);
	KTAP_EXPECT(a >= 0 && velo_wire_recv(st, a, &c, 1, 0, 10000) == 1);
	KTAP_EXPECT(velo_wire_getsockname(st, a, (struct sockaddr *)&name, &len) == 0);
	inet_ntop(AF_INET, &name.sin_addr, addr, sizeof(addr));
	KTAP_EXPECT(!strcmp(addr, "10.99.0.11"));
	KTAP_EXPECT(velo_wire_close(st, a) == 0);
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

NET_CASE(exit_sends_fin)
NET_CASE(sigkill_rst)
NET_CASE(link_flap)
NET_CASE(route_change)
NET_CASE(route_unreachable)
NET_CASE(address_added)

static const struct ktap_case cases[] = {
	{ "exit_delivers_data_then_fin", net_exit_sends_fin, 60 },
	{ "sigkill_peer_gets_rst", net_sigkill_rst, 60 },
	{ "link_down_up_during_transfer", net_link_flap, 90 },
	{ "route_change_during_transfer", net_route_change, 60 },
	{ "route_unreachable_fails_cleanly", net_route_unreachable, 60 },
	{ "address_added_at_runtime", net_address_added, 60 },
};

KTAP_MAIN(cases)
