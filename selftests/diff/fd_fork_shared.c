// SPDX-License-Identifier: GPL-2.0
/*
 * fork() shares a connected socket: parent and child both send on it, in an
 * order fixed by a pipe; the child's close does not end the connection; the
 * peer sees EOF only after the parent closes too. The child also receives
 * data on the shared socket.
 */
#include "diff.h"

int main(void)
{
	int c, s, go[2], done[2];
	char buf[64];
	pid_t pid;
	ssize_t r;

	tcp_pair(&c, &s);
	NEED(pipe(go) == 0 && pipe(done) == 0);
	pid = fork();
	NEED(pid >= 0);
	if (pid == 0) {
		char t;

		NEED(read(go[0], &t, 1) == 1);
		if (send(c, "child1;", 7, 0) != 7)
			_exit(1);
		/* the parent's peer sends "tochild", read it here */
		NEED(read(go[0], &t, 1) == 1);
		r = recv(c, buf, 7, MSG_WAITALL);
		if (r != 7 || memcmp(buf, "tochild", 7))
			_exit(2);
		close(c);
		_exit(0);
	}
	SHOWL("parent send", send(c, "parent1;", 8, 0));
	NEED(write(go[1], "g", 1) == 1);
	memset(buf, 0, sizeof(buf));
	SHOWL("peer recv 15", recv(s, buf, 15, MSG_WAITALL));
	say("peer got \"%s\"", buf);
	SHOWL("peer send", send(s, "tochild", 7, 0));
	NEED(write(go[1], "g", 1) == 1);
	say("child %s", status_str(wait_child(pid)));
	r = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
	say("peer recv after child close = %zd %s", r, r < 0 ? errname(errno) : "");
	SHOWL("parent send after child close", send(c, "parent2", 7, 0));
	memset(buf, 0, sizeof(buf));
	SHOWL("peer recv", recv(s, buf, 7, MSG_WAITALL));
	say("peer got \"%s\"", buf);
	SHOWL("parent recv", (send(s, "back", 4, 0), recv(c, buf, 4, MSG_WAITALL)));
	SHOW(close(c));
	SHOWL("peer recv EOF", recv(s, buf, sizeof(buf), 0));
	return 0;
}
