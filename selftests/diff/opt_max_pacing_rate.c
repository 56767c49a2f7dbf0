// SPDX-License-Identifier: GPL-2.0
/*
 * SO_MAX_PACING_RATE paces what a socket sends (Linux's internal TCP
 * pacing, which the option turns on): 4 MiB at 4 MB/s take about a
 * second, whether the limit was set after connect(), before it, or on
 * the listener an accepted socket comes from; TCP_INFO reports the limit,
 * and a pacing rate within it. Set back to ~0U, the socket sends at full
 * speed again, and so it does with a limit of 5 GB/s (given as 8 bytes;
 * read as 4, it is ~0U). XLIO lists the option as unsupported; under
 * libvelo the engine ignored it (2 MB at 1 MB/s in 10 ms across
 * namespaces, where Linux takes 2 s), and so did the loopback rings.
 */
#include "diff.h"

#define BYTES (4u << 20)
#define RATE 4000000u

/* 4 MiB from @w to @r; how long it took, roughly. */
static void transfer(const char *what, int w, int r)
{
	static char buf[BYTES];
	struct drain d;
	long t0 = now_ms(), ms;
	size_t got;

	drain_start(&d, r);
	NEED(write_full(w, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	NEED(shutdown(w, SHUT_WR) == 0);
	got = drain_join(&d);
	ms = now_ms() - t0;
	say("%s: %zu bytes in %s", what, got,
	    ms < 300 ? "under 0.3 s" : ms < 600 ? "0.3 to 0.6 s" : ms < 3000 ? "0.6 to 3 s" : "over 3 s");
}

static void limits(int fd)
{
	uint64_t v64 = 0, ti[2];
	uint32_t v32 = 0;
	unsigned char info[256];
	socklen_t l = sizeof(v32);

	NEED(getsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &v32, &l) == 0);
	say("SO_MAX_PACING_RATE %u (len %u)", v32, l);
	l = sizeof(v64);
	NEED(getsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &v64, &l) == 0);
	say("SO_MAX_PACING_RATE %llu (len %u)", (unsigned long long)v64, l);
	l = sizeof(info);
	NEED(getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &l) == 0 && l >= 120);
	memcpy(ti, info + 104, sizeof(ti)); /* tcpi_pacing_rate, tcpi_max_pacing_rate */
	say("tcpi_max_pacing_rate %llu, tcpi_pacing_rate within it: %s",
	    (unsigned long long)ti[1], YN(ti[0] <= ti[1]));
}

static int set_rate(int fd, uint32_t rate)
{
	return setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, sizeof(rate));
}

/* A listener in the program's namespace and a client from the peer's. */
static void accepted(void)
{
	union sa a;
	socklen_t l = sa_self(&a, AF_INET, 0);
	uint16_t port;
	int ls = listen_at(socket(AF_INET, SOCK_STREAM, 0), &a, l, 4, &port), c, s;

	NEED(set_rate(ls, RATE) == 0);
	c = peer_socket(AF_INET);
	NEED(c >= 0);
	l = sa_self(&a, AF_INET, port);
	NEED(connect(c, &a.sa, l) == 0);
	s = accept(ls, NULL, NULL);
	NEED(s >= 0);
	limits(s);
	transfer("accepted, the listener's limit", s, c);
	close(c);
	close(s);
	close(ls);
}

/* A connection to listener @ls on @port: *c connected, *s accepted. */
static void pair_on(int ls, uint16_t port, int *c, int *s)
{
	*c = tcp_connect(port);
	NEED(*c >= 0);
	*s = accept(ls, NULL, NULL);
	NEED(*s >= 0);
}

int main(void)
{
	uint16_t port;
	int ls = tcp_listener(&port), c, s;

	pair_on(ls, port, &c, &s);
	limits(c);
	SHOW(set_rate(c, RATE));
	limits(c);
	transfer("limit set after connect", c, s);
	close(c);
	close(s);

	c = socket(AF_INET, SOCK_STREAM, 0);
	NEED(c >= 0 && set_rate(c, RATE) == 0);
	limits(c);
	{
		union sa a;
		socklen_t l = sa_loop(&a, AF_INET, port);

		SHOW(connect(c, &a.sa, l));
	}
	s = accept(ls, NULL, NULL);
	NEED(s >= 0);
	transfer("limit set before connect", c, s);
	close(c);
	close(s);

	pair_on(ls, port, &c, &s);
	SHOW(set_rate(c, RATE));
	SHOW(set_rate(c, ~0u));
	limits(c);
	transfer("limit set, then none", c, s);
	close(c);
	close(s);

	pair_on(ls, port, &c, &s);
	{
		uint64_t big = 5000000000ull; /* 8 bytes: above what 4 can say */

		SHOW(setsockopt(c, SOL_SOCKET, SO_MAX_PACING_RATE, &big, sizeof(big)));
	}
	limits(c);
	transfer("limit of 5 GB/s", c, s);
	close(c);
	close(s);
	close(ls);

	accepted();
	return 0;
}
