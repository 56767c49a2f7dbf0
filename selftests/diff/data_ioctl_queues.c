// SPDX-License-Identifier: GPL-2.0
/*
 * FIONREAD/SIOCINQ, SIOCOUTQ and SIOCOUTQNSD at quiescent points: nothing
 * queued, N bytes received and not read (after they all arrived), after a
 * partial read, after EOF; SIOCOUTQ once the peer acknowledged everything
 * (the peer need not read). A sender whose peer stopped reading has bytes
 * in SIOCOUTQ and SIOCOUTQNSD once it filled what the peer's window takes,
 * none once the peer read them all. On a listening socket (EINVAL) and on
 * a UDP socket. Linux's SIOCINQ on TCP counts unread bytes, not the FIN.
 */
#include "diff.h"
#include <linux/sockios.h>

static const char *ioc(int fd, unsigned long req)
{
	static char b[4][32];
	static int slot;
	char *p = b[slot++ & 3];
	int v = -1;

	if (ioctl(fd, req, &v) < 0)
		snprintf(p, 32, "%s", errname(errno));
	else
		snprintf(p, 32, "%d", v);
	return p;
}

static void q(const char *what, int fd)
{
	say("%s: SIOCINQ %s FIONREAD %s SIOCOUTQ %s SIOCOUTQNSD %s", what,
	    ioc(fd, SIOCINQ), ioc(fd, FIONREAD), ioc(fd, SIOCOUTQ), ioc(fd, SIOCOUTQNSD));
}

/* wait until fd has n bytes to read and the sender has nothing unacked */
static void settle(int rfd, int n, int sfd)
{
	long end = now_ms() + 5000;
	int a = -1, o = -1;

	while (now_ms() < end) {
		ioctl(rfd, SIOCINQ, &a);
		ioctl(sfd, SIOCOUTQ, &o);
		if (a == n && o == 0)
			return;
		msleep(2);
	}
}

static int ioc_int(int fd, unsigned long req)
{
	int v = -1;

	NEED(ioctl(fd, req, &v) == 0);
	return v;
}

static void filled(void)
{
	long end;
	int c, s;

	tcp_pair(&c, &s);
	fill_send(c);
	say("after a fill: sender's SIOCOUTQ > 0 %s, SIOCOUTQNSD > 0 %s, reader's SIOCINQ > 0 %s",
	    YN(ioc_int(c, SIOCOUTQ) > 0), YN(ioc_int(c, SIOCOUTQNSD) > 0), YN(ioc_int(s, SIOCINQ) > 0));
	end = now_ms() + 5000;
	while ((drain_recv(s) || ioc_int(c, SIOCOUTQ)) && now_ms() < end)
		msleep(20);
	q("sender after the reader read it all", c);
	close(c);
	close(s);
}

int main(void)
{
	int c, s, l, u;
	uint16_t port;
	char b[5000];

	tcp_pair(&c, &s);
	q("idle client", c);
	q("idle server", s);
	memset(b, 'x', sizeof(b));
	SHOW(send(s, b, 3000, 0));
	settle(c, 3000, s);
	q("client with 3000 unread", c);
	q("server after peer acked", s);
	SHOW(recv(c, b, 1000, 0));
	q("client after reading 1000", c);
	SHOW(send(s, b, 5000, 0));
	settle(c, 7000, s);
	q("client with 7000 unread", c);
	SHOW(shutdown(s, SHUT_WR));
	NEED(wait_ev(c, POLLRDHUP, 5000));
	q("client with 7000 unread + FIN", c);
	SHOW(recv(c, b, sizeof(b), MSG_WAITALL));
	SHOW(recv(c, b, sizeof(b), MSG_WAITALL));
	q("client at EOF", c);
	close(c);
	close(s);
	filled();

	l = tcp_listener(&port);
	q("listener", l);
	close(l);
	u = socket(AF_INET, SOCK_STREAM, 0);
	q("unconnected", u);
	close(u);

	/*
	 * UDP: SIOCINQ is the size of the next datagram. UDP is the kernel's
	 * (not velo's) in either mode: both sockets are the program's own, on
	 * loopback.
	 */
	{
		union sa a;
		socklen_t al = sa_lo(&a, AF_INET, 0);
		int u2;

		u = socket(AF_INET, SOCK_DGRAM, 0);
		u2 = socket(AF_INET, SOCK_DGRAM, 0);
		NEED(bind(u, &a.sa, al) == 0);
		al = sa_lo(&a, AF_INET, local_port(u));
		q("udp empty", u);
		NEED(sendto(u2, b, 100, 0, &a.sa, al) == 100);
		NEED(sendto(u2, b, 200, 0, &a.sa, al) == 200);
		NEED(wait_ev(u, POLLIN, 5000));
		msleep(20);
		q("udp 100+200", u);
		close(u);
		close(u2);
	}
	return 0;
}
