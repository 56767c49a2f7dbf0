// SPDX-License-Identifier: GPL-2.0
/*
 * getsockopt/setsockopt round trips on TCP sockets: SO_RCVBUF/SO_SNDBUF
 * (Linux doubles the value; minimums), SO_REUSEADDR, SO_REUSEPORT,
 * SO_KEEPALIVE, SO_LINGER, SO_OOBINLINE, SO_PRIORITY, SO_MARK,
 * SO_MAX_PACING_RATE, SO_RCVLOWAT,
 * TCP_NODELAY, TCP_CORK, TCP_MAXSEG, TCP_QUICKACK, TCP_DEFER_ACCEPT,
 * TCP_CONGESTION, TCP_NOTSENT_LOWAT, TCP_SYNCNT, TCP_LINGER2, IP_TOS,
 * IP_TTL; SO_TYPE/SO_DOMAIN/SO_PROTOCOL/SO_ACCEPTCONN on fresh, listening,
 * connected and accepted sockets, v4 and v6; inheritance of options by
 * accepted sockets from the listener.
 */
#include "diff.h"

static void gi(int fd, int level, int name, const char *n)
{
	int v = -12345;
	socklen_t l = sizeof(v);
	int r = getsockopt(fd, level, name, &v, &l);

	if (r < 0)
		say("  get %s = %s", n, errname(errno));
	else
		say("  get %s = %d (len %u)", n, v, l);
}

static void si(int fd, int level, int name, const char *n, int v)
{
	int r = setsockopt(fd, level, name, &v, sizeof(v));

	say("  set %s %d = %s", n, v, r < 0 ? errname(errno) : "0");
	gi(fd, level, name, n);
}

#define GI(fd, lv, nm) gi(fd, lv, nm, #nm)
#define SI(fd, lv, nm, v) si(fd, lv, nm, #nm, v)

static void ident(const char *what, int fd)
{
	say("%s:", what);
	GI(fd, SOL_SOCKET, SO_TYPE);
	GI(fd, SOL_SOCKET, SO_DOMAIN);
	GI(fd, SOL_SOCKET, SO_PROTOCOL);
	GI(fd, SOL_SOCKET, SO_ACCEPTCONN);
	GI(fd, SOL_SOCKET, SO_ERROR);
}

static void many(const char *what, int fd)
{
	struct linger lg = { 1, 7 };
	socklen_t ll = sizeof(lg);
	char cc[32];
	socklen_t cl = sizeof(cc);

	say("%s:", what);
	SI(fd, SOL_SOCKET, SO_RCVBUF, 65536);
	SI(fd, SOL_SOCKET, SO_SNDBUF, 65536);
	SI(fd, SOL_SOCKET, SO_RCVBUF, 1);
	SI(fd, SOL_SOCKET, SO_SNDBUF, 1);
	SI(fd, SOL_SOCKET, SO_REUSEADDR, 5);
	SI(fd, SOL_SOCKET, SO_REUSEPORT, 1);
	SI(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
	SI(fd, SOL_SOCKET, SO_OOBINLINE, 1);
	SI(fd, SOL_SOCKET, SO_PRIORITY, 3);
	SI(fd, SOL_SOCKET, SO_MARK, 42);
	SI(fd, SOL_SOCKET, SO_DONTROUTE, 1);
	SI(fd, SOL_SOCKET, SO_BROADCAST, 1);
	SI(fd, SOL_SOCKET, SO_MAX_PACING_RATE, 1000000); /* XLIO: not supported */
	SI(fd, SOL_SOCKET, SO_RCVLOWAT, 7);
	SI(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	SI(fd, IPPROTO_TCP, TCP_NODELAY, 0);
	SI(fd, IPPROTO_TCP, TCP_CORK, 1);
	SI(fd, IPPROTO_TCP, TCP_CORK, 0);
	SI(fd, IPPROTO_TCP, TCP_QUICKACK, 0);
	SI(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5);
	SI(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 16384);
	SI(fd, IPPROTO_TCP, TCP_SYNCNT, 3);
	SI(fd, IPPROTO_TCP, TCP_SYNCNT, 300);
	SI(fd, IPPROTO_TCP, TCP_LINGER2, 10);
	SI(fd, IPPROTO_TCP, TCP_WINDOW_CLAMP, 100000);
	GI(fd, IPPROTO_TCP, TCP_MAXSEG);
	SI(fd, IPPROTO_TCP, TCP_MAXSEG, 1000);
	SI(fd, IPPROTO_TCP, TCP_MAXSEG, 10);
	SI(fd, IPPROTO_IP, IP_TOS, 0x10);
	SI(fd, IPPROTO_IP, IP_TTL, 33);
	SI(fd, IPPROTO_IP, IP_TTL, 0);
	say("  set SO_LINGER {1,7} = %d", setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	memset(&lg, 0, sizeof(lg));
	SHOWL("  get SO_LINGER", getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &ll));
	say("  SO_LINGER {%d,%d} len %u", lg.l_onoff, lg.l_linger, ll);
	memset(cc, 0, sizeof(cc));
	SHOWL("  get TCP_CONGESTION", getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &cl));
	say("  TCP_CONGESTION \"%s\"", cc);
	say("  set TCP_CONGESTION reno = %s",
	    setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4) < 0 ? errname(errno) : "0");
	cl = sizeof(cc);
	memset(cc, 0, sizeof(cc));
	getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &cl);
	say("  get TCP_CONGESTION = \"%s\"", cc);
	say("  set TCP_CONGESTION nosuch = %s",
	    setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "nosuch", 6) < 0 ? errname(errno) : "0");
}

int main(void)
{
	int fd, l, c, s, v;
	uint16_t port;
	socklen_t vl = sizeof(v);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ident("fresh v4", fd);
	many("fresh v4", fd);
	close(fd);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	ident("fresh v6", fd);
	close(fd);
	l = tcp_listener(&port);
	ident("listener", l);
	/* options set on the listener are inherited by accepted sockets */
	v = 1;
	NEED(setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)) == 0);
	NEED(setsockopt(l, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)) == 0);
	v = 100000;
	NEED(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) == 0);
	c = tcp_connect(port);
	NEED(c >= 0);
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	ident("connected", c);
	ident("accepted", s);
	say("accepted inherits:");
	GI(s, IPPROTO_TCP, TCP_NODELAY);
	GI(s, SOL_SOCKET, SO_KEEPALIVE);
	GI(s, SOL_SOCKET, SO_RCVBUF);
	GI(s, SOL_SOCKET, SO_REUSEADDR);
	say("connected defaults:");
	GI(c, IPPROTO_TCP, TCP_NODELAY);
	GI(c, SOL_SOCKET, SO_KEEPALIVE);
	{
		/* the send buffer is auto-sized at connect: only its lower bound */
		int sb = 0, wmem[3] = { 0, 0, 0 };
		socklen_t sl = sizeof(sb);
		FILE *f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");

		if (f) {
			if (fscanf(f, "%d %d %d", &wmem[0], &wmem[1], &wmem[2]) != 3)
				wmem[1] = 0;
			fclose(f);
		}
		getsockopt(c, SOL_SOCKET, SO_SNDBUF, &sb, &sl);
		say("  SO_SNDBUF >= tcp_wmem default: %s", YN(sb >= wmem[1]));
	}
	GI(c, SOL_SOCKET, SO_RCVBUF);
	GI(c, IPPROTO_TCP, TCP_MAXSEG);
	GI(c, IP_TTL, IP_TTL);
	GI(c, IPPROTO_IP, IP_TTL);
	many("connected", c);
	(void)vl;
	close(c);
	close(s);
	close(l);
	return 0;
}
