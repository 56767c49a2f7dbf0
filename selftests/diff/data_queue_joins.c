// SPDX-License-Identifier: GPL-2.0
/*
 * A read takes everything queued, however the bytes came. A client writes
 * before its connection is accepted and again after, then reads see one
 * stream: "hello-world" in one recv, peeks of all of it and of parts,
 * readv across both writes, MSG_TRUNC, MSG_WAITALL, SO_RCVLOWAT (poll
 * counts both writes against it), the EOF after it; in an EPOLLET set
 * each later write is an edge of its own. Then a sender turns on
 * SO_ZEROCOPY between plain writes and zerocopy ones (the socket's option
 * that moves it to other paths under an accelerator): the reader's peeks
 * see past the first 100 bytes, its one recv takes all 15100 bytes, and
 * the sender's error queue has the three zerocopy completions. Last,
 * urgent data after ring-borne bytes: reads and peeks go up to the mark,
 * then on from it.
 */
#include "diff.h"
#include <linux/errqueue.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

static int l;
static uint16_t port;
static int family;

static void shw(const char *what, ssize_t r, const char *b)
{
	if (r < 0)
		say("%s: %s", what, errname(errno));
	else
		say("%s: %zd \"%.*s\"", what, r, (int)r, b);
}

/* c wrote "hello" before accept() and "-world" after */
static void pair_around_accept(int *c, int *s)
{
	*c = tcp_connect_fam(family, port);
	NEED(*c >= 0);
	NEED(send(*c, "hello", 5, 0) == 5);
	*s = accept(l, NULL, NULL);
	NEED(*s >= 0);
	NEED(send(*c, "-world", 6, 0) == 6);
	msleep(30);
}

/* Each write after the accept is an edge, with "hello" still unread. */
static void around_accept_edges(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET }, out[2];
	char b[100];
	int c, s, ep = epoll_create1(0), i, first;

	NEED(ep >= 0);
	pair_around_accept(&c, &s);
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0);
	first = epoll_wait(ep, out, 2, 100);
	say("EPOLLET: first wait %d, again %d", first, epoll_wait(ep, out, 2, 50));
	for (i = 0; i < 3; i++) {
		NEED(send(c, "!", 1, 0) == 1);
		say("EPOLLET: after write %d: %d", i + 1, epoll_wait(ep, out, 2, 100));
	}
	shw("then read", recv(s, b, sizeof(b), 0), b);
	say("EPOLLET: after the read: %d", epoll_wait(ep, out, 2, 50));
	close(ep);
	close(c);
	close(s);
}

static void around_accept(void)
{
	char b[100];
	int c, s, q = -1, lw = 8;
	struct iovec v[2] = { { b, 4 }, { b + 4, 50 } };

	pair_around_accept(&c, &s);
	NEED(ioctl(s, FIONREAD, &q) == 0);
	say("FIONREAD %d", q);
	shw("peek", recv(s, b, sizeof(b), MSG_PEEK), b);
	shw("peek 3", recv(s, b, 3, MSG_PEEK), b);
	shw("peek 7", recv(s, b, 7, MSG_PEEK), b);
	shw("read 3", read(s, b, 3), b);
	shw("peek", recv(s, b, sizeof(b), MSG_PEEK), b);
	shw("read", read(s, b, sizeof(b)), b);
	close(c);
	close(s);

	pair_around_accept(&c, &s);
	shw("readv 4+50", readv(s, v, 2), b);
	close(c);
	close(s);

	pair_around_accept(&c, &s);
	shw("MSG_TRUNC", recv(s, NULL, sizeof(b), MSG_TRUNC), "");
	shw("then", recv(s, b, sizeof(b), MSG_DONTWAIT), b);
	close(c);
	close(s);

	pair_around_accept(&c, &s);
	shw("MSG_WAITALL 11", recv(s, b, 11, MSG_WAITALL), b);
	close(c);
	close(s);

	pair_around_accept(&c, &s);
	NEED(setsockopt(s, SOL_SOCKET, SO_RCVLOWAT, &lw, sizeof(lw)) == 0);
	say("SO_RCVLOWAT 8: poll %s", pollmask((short)poll1(s, POLLIN, 50)));
	shw("SO_RCVLOWAT 8", recv(s, b, sizeof(b), 0), b);
	close(c);
	close(s);

	around_accept_edges();

	pair_around_accept(&c, &s);
	NEED(shutdown(c, SHUT_WR) == 0);
	msleep(20);
	shw("before EOF", recv(s, b, sizeof(b), 0), b);
	shw("EOF", recv(s, b, sizeof(b), 0), b);
	close(c);
	close(s);
}

static void completions(int fd)
{
	char cbuf[256];
	struct msghdr m = { .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	struct sock_extended_err *e;

	say("POLLERR: %s", pollmask((short)poll1(fd, 0, 2000)));
	if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
		say("error queue: %s", errname(errno));
		return;
	}
	cm = CMSG_FIRSTHDR(&m);
	NEED(cm);
	e = (struct sock_extended_err *)CMSG_DATA(cm);
	say("completion: errno %d origin %s sends %u..%u", e->ee_errno,
	    e->ee_origin == SO_EE_ORIGIN_ZEROCOPY ? "zerocopy" : "other", e->ee_info, e->ee_data);
}

static void around_zerocopy(void)
{
	static char data[5000], big[1 << 16];
	int c, s, one = 1, i;
	long total = 0;
	ssize_t r;

	tcp_pair_fam(family, &c, &s);
	NEED(send(c, data, 100, 0) == 100);
	NEED(setsockopt(c, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) == 0);
	for (i = 0; i < 3; i++)
		NEED(send(c, data, sizeof(data), MSG_ZEROCOPY) == sizeof(data));
	msleep(50);
	r = recv(s, big, sizeof(big), MSG_PEEK);
	say("zerocopy: peek %zd, peek 150 %zd", r, recv(s, big, 150, MSG_PEEK));
	r = recv(s, big, sizeof(big), 0);
	say("zerocopy: one recv %zd", r);
	for (total = r; total < 15100 && r > 0; total += r)
		r = recv(s, big, sizeof(big), 0);
	say("zerocopy: %ld in all", total);
	completions(c);
	close(c);
	close(s);
}

/*
 * Urgent data sent after ring-borne bytes: reads and peeks stop at the
 * mark, and go on from it to what followed.
 */
static void around_urgent(void)
{
	static const char *const urgent[] = { "X", "deX", "X" };
	char b[100];
	int c, s, i;

	for (i = 0; i < 3; i++) {
		tcp_pair_fam(family, &c, &s);
		NEED(send(c, "abc", 3, 0) == 3);
		msleep(10);
		NEED(send(c, urgent[i], strlen(urgent[i]), MSG_OOB) == (ssize_t)strlen(urgent[i]));
		if (i == 2)
			NEED(send(c, "ghi", 3, 0) == 3);
		NEED(send(c, "def", 3, 0) == 3);
		msleep(30);
		say("urgent \"%s\":", urgent[i]);
		shw("  peek", recv(s, b, sizeof(b), MSG_PEEK), b);
		shw("  read", recv(s, b, sizeof(b), 0), b);
		shw("  peek", recv(s, b, sizeof(b), MSG_PEEK), b);
		shw("  read", recv(s, b, sizeof(b), 0), b);
		shw("  MSG_OOB", recv(s, b, sizeof(b), MSG_OOB), b);
		shw("  then", recv(s, b, sizeof(b), MSG_DONTWAIT), b);
		close(c);
		close(s);
	}
}

int main(void)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	size_t i;

	for (i = 0; i < 2; i++) {
		family = fams[i];
		say("%s", family == AF_INET ? "IPv4" : "IPv6");
		l = tcp_listener_fam(family, 16, &port);
		around_accept();
		close(l);
		around_zerocopy();
		around_urgent();
	}
	return 0;
}
