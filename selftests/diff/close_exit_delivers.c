// SPDX-License-Identifier: GPL-2.0
/*
 * A process that sends, closes and ends at once still delivers everything,
 * FIN last: the kernel keeps a closed socket's connection going after its
 * process is gone. A child connects, queues 200,000 bytes (its send
 * buffer holds them all) for a peer that reads nothing yet (a small
 * receive buffer: most of them are still unsent at the close), closes and
 * ends (_exit, exit, or exit after both sides' FINs
 * with the peer's FIN acknowledged only by then); the parent, the peer,
 * then reads it all and sees EOF, not a reset.
 */
#include "diff.h"

#define TOTAL 200000

enum ending { BY_UNDERSCORE_EXIT, BY_EXIT, AFTER_PEER_FIN };

static const char *const ending_name[] = {
	"_exit right after close", "exit right after close", "close after the peer's FIN, exit",
};

static void child(uint16_t port, enum ending how)
{
	static char buf[TOTAL];
	int c = tcp_connect(port), sndbuf = 2 * TOTAL;
	char x;

	if (c < 0)
		_exit(2);
	pattern(buf, sizeof(buf), 0, 7);
	/* all of it queued without waiting: the peer reads only after the end */
	setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	set_nonblock(c, 1);
	if (send(c, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		_exit(3);
	set_nonblock(c, 0);
	if (how == AFTER_PEER_FIN) {
		shutdown(c, SHUT_WR);
		if (recv(c, &x, 1, 0) != 0) /* the peer's FIN */
			_exit(4);
	}
	close(c);
	if (how == BY_UNDERSCORE_EXIT)
		_exit(0);
	exit(0);
}

static void one(enum ending how)
{
	static char buf[65536];
	int l, s, rcvbuf = 16384, st;
	uint32_t sum = 0, want;
	long got = 0;
	uint16_t port;
	ssize_t r;
	pid_t pid;

	l = tcp_listener(&port);
	NEED(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) == 0);
	pid = fork();
	NEED(pid >= 0);
	if (pid == 0)
		child(port, how);
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	if (how == AFTER_PEER_FIN) {
		/* the child's data, then its FIN; ours answers it */
		while ((r = recv(s, buf, sizeof(buf), 0)) > 0) {
			sum = csum(sum, buf, (size_t)r);
			got += r;
		}
		shutdown(s, SHUT_WR);
		st = wait_child(pid);
	} else {
		st = wait_child(pid); /* it is gone before anything is read */
		while ((r = recv(s, buf, sizeof(buf), 0)) > 0) {
			sum = csum(sum, buf, (size_t)r);
			got += r;
		}
	}
	{
		static char all[TOTAL];

		pattern(all, sizeof(all), 0, 7);
		want = csum(0, all, sizeof(all));
	}
	say("%s: child %s, peer read %ld bytes, same: %s, then %s", ending_name[how],
	    status_str(st), got, YN(got == TOTAL && sum == want), r == 0 ? "EOF" : errname(errno));
	close(s);
	close(l);
}

int main(void)
{
	one(BY_UNDERSCORE_EXIT);
	one(BY_EXIT);
	one(AFTER_PEER_FIN);
	return 0;
}
