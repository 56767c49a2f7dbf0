// SPDX-License-Identifier: GPL-2.0
/*
 * exec keeps a socket: fork + exec of this program with the fd number in
 * argv; the new image (same environment, so accelerated under libvelo)
 * reads and writes the inherited connected socket. An fd with FD_CLOEXEC
 * (SOCK_CLOEXEC at socket(), or accept4 SOCK_CLOEXEC) is closed across exec.
 */
#include "diff.h"

static int child(char **argv)
{
	int fd = atoi(argv[2]);
	int cfd = atoi(argv[3]);
	char buf[32];
	int type = 0;
	socklen_t l = sizeof(type);

	/* the child prints while the parent waits for it */
	say("child: fcntl(inherited, F_GETFD) = %d", fcntl(fd, F_GETFD));
	SHOWL("child: getsockopt SO_TYPE", getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l));
	say("child: type %d", type);
	SHOWL("child: fcntl(cloexec fd, F_GETFD)", fcntl(cfd, F_GETFD));
	memset(buf, 0, sizeof(buf));
	SHOWL("child: recv", recv(fd, buf, 5, MSG_WAITALL));
	say("child: got \"%s\"", buf);
	SHOWL("child: send", send(fd, "from-exec", 9, 0));
	return 0;
}

int main(int argc, char **argv)
{
	int c, s, cx, sx, l;
	uint16_t port;
	char a1[16], a2[16], buf[32];
	pid_t pid;

	if (argc > 1 && !strcmp(argv[1], "child"))
		return child(argv);
	tcp_pair(&c, &s);
	/* a CLOEXEC socket: connected too, so its loss is visible to its peer */
	l = tcp_listener(&port);
	cx = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	{
		union sa a;
		socklen_t al = sa_loop(&a, AF_INET, port);

		NEED(connect(cx, &a.sa, al) == 0);
	}
	sx = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	NEED(sx >= 0);
	say("socket(SOCK_CLOEXEC) FD_CLOEXEC = %d", fcntl(cx, F_GETFD));
	say("accept4(SOCK_CLOEXEC) FD_CLOEXEC = %d", fcntl(sx, F_GETFD));
	snprintf(a1, sizeof(a1), "%d", c);
	/* a high number, so nothing in the new image reuses it by chance */
	snprintf(a2, sizeof(a2), "%d", fcntl(sx, F_DUPFD_CLOEXEC, 300));
	SHOWL("send to exec'd child", send(s, "hello", 5, 0));
	{
		char *args[] = { "child", a1, a2, NULL };

		pid = spawn_self(args, 0);
	}
	say("child %s", status_str(wait_child(pid)));
	memset(buf, 0, sizeof(buf));
	SHOWL("recv from child", recv(s, buf, 9, MSG_WAITALL));
	say("got \"%s\"", buf);
	/* parent still owns both; sx (CLOEXEC) was never open in the child */
	SHOWL("parent still uses inherited socket", send(c, "p", 1, 0));
	SHOWL("peer recv", recv(s, buf, 1, 0));
	SHOWL("cloexec pair still works", send(cx, "q", 1, 0));
	SHOWL("recv", recv(sx, buf, 1, 0));
	close(c);
	SHOWL("EOF after parent closes", recv(s, buf, sizeof(buf), 0));
	return 0;
}
