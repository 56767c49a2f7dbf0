// SPDX-License-Identifier: GPL-2.0
/*
 * The same socket operations reached through other glibc entry points than
 * the plain ones, as real programs do: this file is built with
 * -D_FORTIFY_SOURCE=2 (see host/diff.mk), so recv, recvfrom, read, poll and
 * ppoll compile to __recv_chk, __recvfrom_chk, __read_chk, __poll_chk and
 * __ppoll_chk (XLIO 3190147 names __poll_chk/__ppoll_chk); plus
 * epoll_pwait2, sendfile64, fcntl64-era F_GETFL, accept4, dup3, preadv/
 * pwritev (ESPIPE), readv/writev with IOV_MAX iovecs, recvmmsg with a
 * timeout, and poll on negative fds / zero events.
 */
#include "diff.h"
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <limits.h>

#ifndef _FORTIFY_SOURCE
#error "build with -D_FORTIFY_SOURCE=2"
#endif

int main(void)
{
	int c, s, l, a, ep;
	uint16_t port;
	char buf[64];
	volatile size_t n = sizeof(buf); /* not a constant: the _chk variants are called */
	volatile nfds_t np = 3, np1 = 1;
	struct pollfd p[3];
	struct epoll_event ev = { .events = EPOLLIN };
	struct timespec ts = { 1, 0 };
	union sa from;
	socklen_t fl = sizeof(from);

	tcp_pair(&c, &s);
	SHOW(send(s, "chk1", 4, 0));
	NEED(wait_ev(c, POLLIN, 5000));
	memset(buf, 0, sizeof(buf));
	SHOWL("__recv_chk", recv(c, buf, n, 0));
	say("got \"%s\"", buf);
	SHOW(send(s, "chk2", 4, 0));
	NEED(wait_ev(c, POLLIN, 5000));
	memset(buf, 0, sizeof(buf));
	SHOWL("__recvfrom_chk", recvfrom(c, buf, n, 0, &from.sa, &fl));
	say("got \"%s\"", buf);
	SHOW(send(s, "chk3", 4, 0));
	memset(buf, 0, sizeof(buf));
	p[0] = (struct pollfd){ .fd = c, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = -1, .events = POLLIN };
	p[2] = (struct pollfd){ .fd = s, .events = 0 };
	SHOWL("__poll_chk (socket with data, fd -1, no events)", poll(p, np, 5000));
	say("revents %s | %s | %s", pollmask(p[0].revents), pollmask(p[1].revents),
	    pollmask(p[2].revents));
	SHOWL("__read_chk", read(c, buf, n));
	say("got \"%s\"", buf);
	SHOWL("__ppoll_chk (nothing ready, 1 s)", ppoll(p, np1, &ts, NULL));
	SHOW(send(s, "p2", 2, 0));
	ep = epoll_create1(0);
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	SHOWL("epoll_pwait2 (data)", epoll_pwait2(ep, &ev, 1, &ts, NULL));
	SHOW(recv(c, buf, 2, 0));
	ts = (struct timespec){ 0, 200000000 };
	{
		long t0 = now_ms();

		SHOWL("epoll_pwait2 (idle, 200 ms)", epoll_pwait2(ep, &ev, 1, &ts, NULL));
		say("waited >= 190 ms: %s", YN(now_ms() - t0 >= 190));
	}
	close(ep);

	/* sendfile64 */
	{
		char path[] = "/tmp/vdiff-sf64.XXXXXX";
		int f = mkstemp(path);
		off64_t off = 2;

		NEED(f >= 0);
		unlink(path);
		NEED(write(f, "0123456789", 10) == 10);
		SHOWL("sendfile64", sendfile64(s, f, &off, 5));
		memset(buf, 0, sizeof(buf));
		SHOW(recv(c, buf, 5, MSG_WAITALL));
		say("got \"%s\", off %ld", buf, (long)off);
		close(f);
	}
	/* fcntl flags, dup3, accept4 */
	SHOWL("F_GETFL O_NONBLOCK", fcntl(c, F_GETFL) & O_NONBLOCK);
	SHOWL("dup3 O_CLOEXEC", dup3(c, 300, O_CLOEXEC));
	SHOWL("FD_CLOEXEC on 300", fcntl(300, F_GETFD));
	SHOW(send(300, "d3", 2, 0));
	SHOW(recv(s, buf, 2, MSG_WAITALL));
	close(300);
	l = tcp_listener(&port);
	a = tcp_connect(port);
	NEED(a >= 0);
	{
		int x = accept4(l, NULL, NULL, SOCK_NONBLOCK);

		SHOWL("accept4 O_NONBLOCK", fcntl(x, F_GETFL) & O_NONBLOCK);
		close(x);
	}
	close(a);
	close(l);
	/* preadv / pwritev on a socket: ESPIPE */
	{
		struct iovec v = { buf, 4 };

		SHOW(pwritev(c, &v, 1, 0));
		SHOW(preadv(s, &v, 1, 0));
	}
	/* writev with IOV_MAX one-byte iovecs, readv into IOV_MAX one-byte iovecs */
	{
		static struct iovec v[IOV_MAX];
		static char src[IOV_MAX], dst[IOV_MAX];
		int i;
		ssize_t got = 0, r;

		pattern(src, sizeof(src), 0, 4);
		for (i = 0; i < IOV_MAX; i++)
			v[i] = (struct iovec){ src + i, 1 };
		SHOWL("writev IOV_MAX iovecs", writev(c, v, IOV_MAX));
		for (i = 0; i < IOV_MAX; i++)
			v[i] = (struct iovec){ dst + i, 1 };
		while (got < IOV_MAX) {
			int k = 0, off = (int)got;

			for (i = off; i < IOV_MAX; i++)
				v[k++] = (struct iovec){ dst + i, 1 };
			r = readv(s, v, k);
			NEED(r > 0);
			got += r;
		}
		say("readv got %zd, equal: %s", got, YN(!memcmp(src, dst, sizeof(src))));
	}
	/* recvmmsg with a timeout on TCP */
	{
		struct mmsghdr mm[2];
		struct iovec v[2] = { { buf, 3 }, { buf + 3, 3 } };
		struct timespec t = { 0, 100000000 };

		memset(mm, 0, sizeof(mm));
		mm[0].msg_hdr.msg_iov = &v[0];
		mm[0].msg_hdr.msg_iovlen = 1;
		mm[1].msg_hdr.msg_iov = &v[1];
		mm[1].msg_hdr.msg_iovlen = 1;
		SHOW(send(s, "abcdef", 6, 0));
		NEED(wait_ev(c, POLLIN, 5000));
		msleep(20);
		SHOWL("recvmmsg 2 x 3 bytes, MSG_WAITFORONE", recvmmsg(c, mm, 2, MSG_WAITFORONE, &t));
		say("lens %u %u", mm[0].msg_len, mm[1].msg_len);
	}
	close(c);
	close(s);
	return 0;
}
