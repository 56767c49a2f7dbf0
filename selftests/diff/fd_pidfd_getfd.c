// SPDX-License-Identifier: GPL-2.0
/*
 * pidfd_getfd(): a process takes a copy of its child's connected socket,
 * without the child's help, and of its listener. The copy reads what the
 * child's peer sends next and writes to it, the child's own fd still
 * works, and the listener's copy accepts (under libvelo the connection
 * was a loopback ring the parent did not know of: its read hung).
 */
#include <sys/pidfd.h>

#include "diff.h"

static void send_int(int fd, int v)
{
	NEED(write(fd, &v, sizeof(v)) == sizeof(v));
}

static int recv_int(int fd)
{
	int v;

	NEED(read(fd, &v, sizeof(v)) == sizeof(v));
	return v;
}

/* The child: a connection (c, s) and a listener; the parent takes s and l. */
static void child(int to_parent, int from_parent)
{
	char buf[64];
	uint16_t port;
	int c, s, l;
	ssize_t r;

	tcp_pair(&c, &s);
	NEED(write(c, "one", 3) == 3 && read(s, buf, sizeof(buf)) == 3);
	l = tcp_listener(&port);
	send_int(to_parent, s);
	send_int(to_parent, l);
	send_int(to_parent, port);
	recv_int(from_parent); /* the parent holds copies */
	NEED(write(c, "two", 3) == 3);
	recv_int(from_parent); /* the parent read it and answered */
	r = read(c, buf, sizeof(buf));
	send_int(to_parent, (int)r);
	NEED(write(c, "three", 5) == 5);
	r = read(s, buf, sizeof(buf)); /* the child's own fd */
	send_int(to_parent, (int)r);
	recv_int(from_parent);
	_exit(0);
}

int main(void)
{
	int up[2], down[2], pfd, s, l, sc, lc, a, p;
	char buf[64];
	pid_t pid;
	ssize_t r;

	NEED(pipe(up) == 0 && pipe(down) == 0);
	pid = fork();
	NEED(pid >= 0);
	if (!pid)
		child(up[1], down[0]);
	s = recv_int(up[0]);
	l = recv_int(up[0]);
	p = recv_int(up[0]);
	pfd = pidfd_open(pid, 0);
	NEED(pfd >= 0);
	sc = pidfd_getfd(pfd, s, 0);
	lc = pidfd_getfd(pfd, l, 0);
	say("copies: %s %s", sc >= 0 ? "fd" : errname(errno), lc >= 0 ? "fd" : errname(errno));
	SHOW(pidfd_getfd(pfd, 1000, 0));
	send_int(down[1], 1);
	r = recv(sc, buf, sizeof(buf), 0);
	say("recv copy: %zd \"%.*s\"", r, r > 0 ? (int)r : 0, buf);
	SHOW(send(sc, "reply", 5, 0));
	send_int(down[1], 2);
	say("child read: %d", recv_int(up[0]));
	say("child's own fd read: %d", recv_int(up[0]));
	set_nonblock(sc, 1);
	SHOW(recv(sc, buf, sizeof(buf), 0));

	a = tcp_connect((uint16_t)p);
	NEED(a >= 0);
	SHOW(write(a, "hi", 2));
	s = accept(lc, NULL, NULL);
	say("accept on the copy: %s", s >= 0 ? "fd" : errname(errno));
	r = read(s, buf, sizeof(buf));
	say("read: %zd \"%.*s\"", r, r > 0 ? (int)r : 0, buf);
	send_int(down[1], 3);
	say("child: %s", status_str(wait_child(pid)));
	SHOW(close(sc));
	SHOW(close(lc));
	close(s);
	close(a);
	return 0;
}
