// SPDX-License-Identifier: GPL-2.0
/*
 * dup, dup2, dup3, F_DUPFD and F_DUPFD_CLOEXEC of a connected TCP socket
 * (XLIO 965237: dup/dup2 not offloaded): every duplicate is the same socket;
 * data written through one fd is read through another; closing some of the
 * references keeps the connection; the peer sees EOF only when the last
 * reference is closed. dup2 onto a live socket fd closes that socket.
 */
#include "diff.h"

static void peer_eof_state(int peer, const char *when)
{
	char b[8];
	ssize_t r = recv(peer, b, sizeof(b), MSG_DONTWAIT);

	say("%s: peer recv(MSG_DONTWAIT) = %zd %s", when, r, r < 0 ? errname(errno) : "");
}

int main(void)
{
	int c, s, c2, s2, d[5], i;
	char buf[64];
	const char *names[] = { "dup", "dup2", "dup3", "F_DUPFD", "F_DUPFD_CLOEXEC" };

	tcp_pair(&c, &s);
	d[0] = dup(c);
	d[1] = dup2(c, 100);
	d[2] = dup3(c, 101, O_CLOEXEC);
	d[3] = fcntl(c, F_DUPFD, 200);
	d[4] = fcntl(c, F_DUPFD_CLOEXEC, 200);
	say("dup2 fd == 100: %s", YN(d[1] == 100));
	say("dup3 fd == 101: %s", YN(d[2] == 101));
	say("F_DUPFD fd == 200: %s", YN(d[3] == 200));
	say("F_DUPFD_CLOEXEC fd == 201: %s", YN(d[4] == 201));
	SHOW(dup3(c, c, 0));
	say("dup2(c, c) == c: %s", YN(dup2(c, c) == c));
	for (i = 0; i < 5; i++) {
		int fl = fcntl(d[i], F_GETFD);
		int type = -1;
		socklen_t l = sizeof(type);

		NEED(d[i] >= 0);
		getsockopt(d[i], SOL_SOCKET, SO_TYPE, &type, &l);
		say("%s: FD_CLOEXEC=%d SO_TYPE=%d same peer port: %s", names[i],
		    !!(fl & FD_CLOEXEC), type, YN(peer_port(d[i]) == peer_port(c)));
		snprintf(buf, sizeof(buf), "via-%s", names[i]);
		SHOWL("send via dup", send(d[i], buf, strlen(buf) + 1, 0));
		memset(buf, 0, sizeof(buf));
		SHOWL("peer recv", recv(s, buf, sizeof(buf), 0));
		say("peer got \"%s\"", buf);
		SHOWL("peer send back", send(s, "pong", 5, 0));
		memset(buf, 0, sizeof(buf));
		/* read back through the original or another dup, alternating */
		SHOWL("recv via other", recv(i & 1 ? c : d[(i + 1) % 5], buf, sizeof(buf), 0));
		say("got \"%s\"", buf);
	}
	/* close every reference but one: the connection stays */
	SHOW(close(c));
	for (i = 0; i < 4; i++)
		SHOWL("close dup", close(d[i]));
	peer_eof_state(s, "one reference left");
	SHOWL("send via last dup", send(d[4], "last", 4, 0));
	memset(buf, 0, sizeof(buf));
	SHOWL("peer recv", recv(s, buf, sizeof(buf), 0));
	say("peer got \"%.4s\"", buf);
	SHOWL("close last", close(d[4]));
	say("peer POLLIN after last close: %s", YN(wait_ev(s, POLLIN, 5000)));
	peer_eof_state(s, "all closed");
	close(s);

	/* dup2 over a live socket closes that socket; the target fd becomes the source socket */
	tcp_pair(&c, &s);
	tcp_pair(&c2, &s2);
	SHOWL("dup2(c, c2) == c2", dup2(c, c2) == c2);
	say("peer of old c2 POLLIN: %s", YN(wait_ev(s2, POLLIN, 5000)));
	peer_eof_state(s2, "old c2 replaced by dup2");
	SHOWL("send via c2", send(c2, "x", 1, 0));
	SHOWL("peer of c recv", recv(s, buf, 1, 0));
	SHOW(close(c));
	peer_eof_state(s, "c closed, c2 still refers");
	SHOW(close(c2));
	say("peer POLLIN: %s", YN(wait_ev(s, POLLIN, 5000)));
	peer_eof_state(s, "c2 closed too");
	return 0;
}
