// SPDX-License-Identifier: GPL-2.0
/*
 * A child holding a connection is killed by SIGKILL: when it had read
 * everything, the peer sees EOF (recv 0, POLLRDHUP); when data sent to it
 * was still unread, the peer gets a reset (ECONNRESET). A killed child
 * that was a listener: connecting afterwards is refused. A killed child
 * that shared the socket with its parent (fork): nothing happens, the
 * parent's reference keeps the connection.
 */
#include "diff.h"

static pid_t hold(int fd, int ready_fd, int read_first)
{
	pid_t pid = fork();

	NEED(pid >= 0);
	if (pid == 0) {
		char b[64];

		if (read_first) {
			NEED(wait_ev(fd, POLLIN, 5000));
			NEED(recv(fd, b, sizeof(b), 0) > 0);
		} else {
			NEED(wait_ev(fd, POLLIN, 5000));
		}
		NEED(write(ready_fd, "r", 1) == 1);
		for (;;)
			pause();
	}
	return pid;
}

int main(void)
{
	int c, s, pp[2], r;
	char t, b[64];
	pid_t pid;
	uint16_t port;

	NEED(pipe(pp) == 0);
	/* 1: child read everything */
	tcp_pair(&c, &s);
	SHOW(send(s, "hello", 5, 0));
	pid = hold(c, pp[1], 1);
	close(c);
	NEED(read(pp[0], &t, 1) == 1);
	kill(pid, SIGKILL);
	say("child %s", status_str(wait_child(pid)));
	NEED(wait_ev(s, POLLIN | POLLRDHUP, 5000));
	say("peer poll = %s", pollmask(poll1(s, POLL_ALL, 0)));
	SHOW(recv(s, b, sizeof(b), 0));
	close(s);

	/* 2: child had unread data */
	tcp_pair(&c, &s);
	SHOW(send(s, "unread", 6, 0));
	pid = hold(c, pp[1], 0);
	close(c);
	NEED(read(pp[0], &t, 1) == 1);
	kill(pid, SIGKILL);
	say("child %s", status_str(wait_child(pid)));
	NEED(wait_ev(s, POLLIN | POLLRDHUP, 5000));
	say("peer poll = %s", pollmask(poll1(s, POLL_ALL, 0)));
	SHOW(recv(s, b, sizeof(b), 0));
	SHOW(recv(s, b, sizeof(b), 0));
	close(s);

	/* 3: a listener in a killed child */
	{
		int l = tcp_listener(&port);

		pid = fork();
		NEED(pid >= 0);
		if (pid == 0) {
			NEED(write(pp[1], "r", 1) == 1);
			for (;;)
				pause();
		}
		close(l);
		NEED(read(pp[0], &t, 1) == 1);
		r = tcp_connect(port);
		say("connect while child holds listener: %s", r >= 0 ? "ok" : errname(errno));
		close(r);
		kill(pid, SIGKILL);
		say("child %s", status_str(wait_child(pid)));
		r = tcp_connect(port);
		say("connect after child killed: %s", r >= 0 ? "ok" : errname(errno));
		if (r >= 0)
			close(r);
	}

	/* 4: socket shared with the parent */
	tcp_pair(&c, &s);
	SHOW(send(s, "x", 1, 0));
	pid = hold(c, pp[1], 0);
	NEED(read(pp[0], &t, 1) == 1);
	kill(pid, SIGKILL);
	say("child %s", status_str(wait_child(pid)));
	msleep(50);
	say("peer poll = %s", pollmask(poll1(s, POLL_ALL, 0)));
	SHOW(recv(c, b, sizeof(b), 0));
	SHOW(send(c, "still", 5, 0));
	SHOW(recv(s, b, sizeof(b), 0));
	close(c);
	close(s);
	return 0;
}
