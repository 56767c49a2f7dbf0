// SPDX-License-Identifier: GPL-2.0
/*
 * Half-close: the client sends a request and shutdown(SHUT_WR); the server
 * reads it then EOF, and still sends a reply that the client reads in full,
 * then the server closes and the client sees EOF. Readiness masks (poll and
 * epoll) and TCP states at each step; send after SHUT_WR fails; SHUT_RD
 * then recv returns 0; shutdown twice.
 */
#include "diff.h"

static void masks(const char *what, int fd)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLL_ALL };

	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	ev.events = 0;
	epoll_wait(ep, &ev, 1, 0);
	say("%s: poll=%s epoll=%s state=%s", what, pollmask(poll1(fd, POLL_ALL, 0)),
	    epmask(ev.events), tcp_state_name(tcp_state(fd)));
	close(ep);
}

int main(void)
{
	int c, s;
	char b[64];
	static char big[200000];
	ssize_t n;
	size_t got = 0;

	signal(SIGPIPE, SIG_IGN);
	tcp_pair(&c, &s);
	masks("client idle", c);
	SHOW(send(c, "request", 7, 0));
	SHOW(shutdown(c, SHUT_WR));
	NEED(wait_ev(s, POLLRDHUP, 5000));
	NEED(wait_state(c, TCP_FIN_WAIT2, 5000));
	masks("client after SHUT_WR", c);
	masks("server after peer FIN", s);
	SHOW(send(c, "more", 4, 0));
	memset(b, 0, sizeof(b));
	SHOW(recv(s, b, sizeof(b), 0));
	say("server got \"%s\"", b);
	SHOW(recv(s, b, sizeof(b), 0));
	SHOW(recv(s, b, sizeof(b), 0));
	pattern(big, sizeof(big), 0, 9);
	{
		pid_t pid = fork();

		NEED(pid >= 0);
		if (pid == 0) {
			NEED(write_full(s, big, sizeof(big)) == sizeof(big));
			_exit(0);
		}
		while (got < sizeof(big) && (n = recv(c, big, sizeof(big) - got, 0)) > 0)
			got += n;
		say("writer %s", status_str(wait_child(pid)));
	}
	say("client read reply until server still open: got all %s", YN(got == sizeof(big)));
	masks("client before server close", c);
	SHOW(shutdown(s, SHUT_WR));
	NEED(wait_ev(c, POLLRDHUP, 5000));
	NEED(wait_state(s, TCP_CLOSE, 5000));
	NEED(wait_state(c, TCP_CLOSE, 5000));
	masks("client after both FINs", c);
	masks("server after both FINs", s);
	SHOW(recv(c, b, sizeof(b), 0));
	SHOW(shutdown(c, SHUT_WR));
	SHOW(shutdown(c, SHUT_RDWR));
	close(c);
	close(s);

	/* SHUT_RD: recv returns 0 at once, data sent afterwards is still readable? */
	tcp_pair(&c, &s);
	SHOW(shutdown(c, SHUT_RD));
	masks("client after SHUT_RD", c);
	SHOW(recv(c, b, sizeof(b), 0));
	SHOW(send(c, "still-can-send", 14, 0));
	memset(b, 0, sizeof(b));
	SHOW(recv(s, b, 14, MSG_WAITALL));
	say("server got \"%s\"", b);
	close(c);
	close(s);
	return 0;
}
