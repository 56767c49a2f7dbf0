// SPDX-License-Identifier: GPL-2.0
/*
 * SCM_RIGHTS: a connected TCP socket (and a listening one) passed over a
 * UNIX socket to another process, which then uses it: reads, writes,
 * accepts, and closes its copy. The sender closes its own copy first, so
 * the connection then lives only in the receiver. Done once with a forked
 * child (same environment) and once with a process exec'd without
 * LD_PRELOAD (a kernel-only receiver).
 */
#include "diff.h"

static void send_fd(int us, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = "F", .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	NEED(sendmsg(us, &m, 0) == 1);
}

static int recv_fd(int us)
{
	char cbuf[CMSG_SPACE(sizeof(int))], c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd;

	NEED(recvmsg(us, &m, 0) == 1);
	cm = CMSG_FIRSTHDR(&m);
	NEED(cm && cm->cmsg_type == SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * The receiving side: gets a connected socket and a listener. It runs
 * concurrently with the sender, so its lines are printed when it exits.
 */
static int receiver(int us)
{
	int fd = recv_fd(us), lfd = recv_fd(us), a, type = 0, acc = 0;
	socklen_t l = sizeof(type);
	char buf[32], t;

	diff_defer_output();
	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l);
	l = sizeof(acc);
	getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l);
	say("receiver: SO_TYPE %d, listener SO_ACCEPTCONN %d", type, acc);
	memset(buf, 0, sizeof(buf));
	SHOWL("receiver: recv", recv(fd, buf, 6, MSG_WAITALL));
	say("receiver: got \"%s\"", buf);
	SHOWL("receiver: send", send(fd, "answer", 6, 0));
	NEED(write(us, "r", 1) == 1);
	/* the sender connects to the listener now */
	a = accept(lfd, NULL, NULL);
	say("receiver: accept ok: %s", YN(a >= 0));
	SHOWL("receiver: recv on accepted", recv(a, buf, 3, MSG_WAITALL));
	SHOWL("receiver: send on accepted", send(a, "acc", 3, 0));
	NEED(read(us, &t, 1) == 1);
	close(a);
	close(lfd);
	SHOWL("receiver: close", close(fd));
	NEED(write(us, "c", 1) == 1);
	return 0;
}

static void do_round(int plain, char *self_pre)
{
	int sp[2], c, s, l, c2;
	uint16_t port;
	char buf[32], t, a1[16];
	pid_t pid;

	(void)self_pre;
	NEED(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	tcp_pair(&c, &s);
	l = tcp_listener(&port);
	if (plain) {
		char *args[] = { "receiver", a1, NULL };

		snprintf(a1, sizeof(a1), "%d", sp[1]);
		pid = spawn_self(args, 1);
	} else {
		pid = fork();
		NEED(pid >= 0);
		if (pid == 0) {
			close(sp[0]);
			exit(receiver(sp[1]));
		}
	}
	close(sp[1]);
	send_fd(sp[0], s);
	send_fd(sp[0], l);
	SHOWL("sender: close own copy of passed socket", close(s));
	SHOWL("sender: close own listener copy", close(l));
	SHOWL("send", send(c, "passed", 6, 0));
	memset(buf, 0, sizeof(buf));
	NEED(read(sp[0], &t, 1) == 1);
	SHOWL("recv", recv(c, buf, 6, MSG_WAITALL));
	say("got \"%s\"", buf);
	c2 = tcp_connect(port);
	say("connect to passed listener ok: %s", YN(c2 >= 0));
	SHOWL("send", send(c2, "abc", 3, 0));
	SHOWL("recv", recv(c2, buf, 3, MSG_WAITALL));
	NEED(write(sp[0], "x", 1) == 1);
	NEED(read(sp[0], &t, 1) == 1);
	{
		ssize_t r = recv(c, buf, sizeof(buf), 0);
		int st = wait_child(pid);

		say("EOF once receiver closed: %zd", r);
		say("receiver %s", status_str(st));
	}
	close(c);
	close(c2);
	close(sp[0]);
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "receiver"))
		return receiver(atoi(argv[2]));
	say("-- receiver: forked child");
	do_round(0, NULL);
	say("-- receiver: exec'd without LD_PRELOAD");
	do_round(1, NULL);
	return 0;
}
