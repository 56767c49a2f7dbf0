// SPDX-License-Identifier: GPL-2.0
/*
 * Urgent data in the middle of a connection that already carries data both
 * ways, with a reader blocked when it arrives: a blocked read returns the
 * data after the mark; MSG_WAITALL stops at the mark; FIONREAD; a second
 * urgent byte; a bulk transfer after the mark (checksum); the other
 * direction keeps working; SO_OOBINLINE keeps the byte in the stream.
 */
#include "diff.h"

struct blocked {
	int fd;
	ssize_t r;
	char buf[32];
};

static void *blocked_read(void *arg)
{
	struct blocked *b = arg;

	b->r = recv(b->fd, b->buf, sizeof(b->buf) - 1, 0);
	return NULL;
}

/* peer sends "!" urgent then "xyz" while we sit in a blocking recv */
static void oob_while_blocked(int c, int s)
{
	struct blocked b = { .fd = c };
	pthread_t t;

	NEED(pthread_create(&t, NULL, blocked_read, &b) == 0);
	msleep(100);
	SHOWL("send oob", send(s, "!", 1, MSG_OOB));
	msleep(50);
	SHOWL("send after oob", send(s, "xyz", 3, 0));
	pthread_join(t, NULL);
	SHOWL("blocked recv", b.r);
	say("blocked recv got \"%s\"", b.buf);
	memset(b.buf, 0, sizeof(b.buf));
	SHOWL("recv oob", recv(c, b.buf, 1, MSG_OOB));
	say("oob \"%s\"", b.buf);
}

static void bulk(int c, int s)
{
	static char buf[65536];
	size_t total = 1 << 20, done = 0;
	uint32_t hs = 0, hr = 0;
	pid_t pid = fork();

	NEED(pid >= 0);
	if (!pid) {
		uint64_t off = 0;

		while (off < total) {
			pattern(buf, sizeof(buf), off, 7);
			if (write_full(s, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				_exit(1);
			off += sizeof(buf);
		}
		_exit(0);
	}
	for (uint64_t off = 0; off < total; off += sizeof(buf)) {
		pattern(buf, sizeof(buf), off, 7);
		hs = csum(hs, buf, sizeof(buf));
	}
	while (done < total) {
		ssize_t r = read(c, buf, sizeof(buf));

		if (r <= 0)
			break;
		hr = csum(hr, buf, r);
		done += r;
	}
	say("bulk after mark: %zu bytes, checksum %s", done, hs == hr ? "ok" : "BAD");
	say("bulk sender %s", status_str(wait_child(pid)));
}

static void round_trip(int inl)
{
	int c, s, mark = -1, n = -1;
	char b[32];

	say("-- SO_OOBINLINE=%d", inl);
	tcp_pair(&c, &s);
	if (inl)
		NEED(setsockopt(c, SOL_SOCKET, SO_OOBINLINE, &inl, sizeof(int)) == 0);
	/* both directions in use before any urgent byte */
	SHOWL("send", send(s, "hello", 5, 0));
	SHOWL("recv", recv(c, b, 5, MSG_WAITALL));
	SHOWL("reply", send(c, "hi", 2, 0));
	SHOWL("recv reply", recv(s, b, 2, MSG_WAITALL));
	if (!inl)
		oob_while_blocked(c, s);

	SHOWL("send abc", send(s, "abc", 3, 0));
	SHOWL("send oob", send(s, "#", 1, MSG_OOB));
	SHOWL("send def", send(s, "def", 3, 0));
	NEED(wait_ev(c, POLLPRI, 5000));
	msleep(50);
	SHOW(ioctl(c, FIONREAD, &n));
	say("FIONREAD %d", n);
	SHOW(ioctl(c, SIOCATMARK, &mark));
	say("at mark %d", mark);
	memset(b, 0, sizeof(b));
	SHOWL("recv WAITALL 6", recv(c, b, 6, MSG_WAITALL));
	say("got \"%s\"", b);
	SHOW(ioctl(c, SIOCATMARK, &mark));
	say("at mark %d", mark);
	if (!inl) {
		memset(b, 0, sizeof(b));
		SHOWL("recv oob", recv(c, b, 1, MSG_OOB));
		say("oob \"%s\"", b);
	}
	memset(b, 0, sizeof(b));
	SHOWL("recv rest", recv(c, b, inl ? 4 : 3, MSG_WAITALL));
	say("got \"%s\"", b);

	/* the other direction is unaffected */
	SHOWL("c sends", send(c, "pong", 4, 0));
	memset(b, 0, sizeof(b));
	SHOWL("s recv", recv(s, b, 4, MSG_WAITALL));
	say("got \"%s\"", b);

	/* a second urgent byte, read after everything arrived */
	SHOWL("send 2nd oob", send(s, "q", 1, MSG_OOB));
	SHOWL("send tail", send(s, "tail", 4, 0));
	NEED(wait_ev(c, POLLPRI, 5000));
	msleep(50);
	SHOW(ioctl(c, SIOCATMARK, &mark));
	say("at mark %d", mark);
	if (!inl) {
		memset(b, 0, sizeof(b));
		SHOWL("recv oob", recv(c, b, 1, MSG_OOB));
		say("oob \"%s\"", b);
	}
	memset(b, 0, sizeof(b));
	SHOWL("recv tail", recv(c, b, inl ? 5 : 4, MSG_WAITALL));
	say("got \"%s\"", b);

	bulk(c, s);
	close(s);
	SHOWL("EOF", recv(c, b, sizeof(b), 0));
	close(c);
}

int main(void)
{
	round_trip(0);
	round_trip(1);
	return 0;
}
