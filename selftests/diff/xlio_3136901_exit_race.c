// SPDX-License-Identifier: GPL-2.0
/*
 * XLIO 3136901 (exit() racing socket calls): a process calls exit() (and
 * in another round _exit(), and returns from main) while its other threads
 * are blocked in recv, accept, epoll_wait, poll and a blocking send on TCP
 * sockets, and one thread streams data. The process must end with the
 * status given, not crash or hang; its peers see EOF/reset. Transcript:
 * exit statuses and what the peers observe.
 */
#include "diff.h"

static int g_c, g_l, g_ep, g_full, g_stream;

static void *t_recv(void *a)
{
	char b[8];

	(void)a;
	recv(g_c, b, sizeof(b), 0);
	return NULL;
}

static void *t_accept(void *a)
{
	(void)a;
	accept(g_l, NULL, NULL);
	return NULL;
}

static void *t_epoll(void *a)
{
	struct epoll_event ev;

	(void)a;
	epoll_wait(g_ep, &ev, 1, -1);
	return NULL;
}

static void *t_poll(void *a)
{
	struct pollfd p = { .fd = g_c, .events = POLLIN };

	(void)a;
	poll(&p, 1, -1);
	return NULL;
}

static void *t_send(void *a)
{
	static char junk[1 << 20];

	(void)a;
	for (;;)
		if (send(g_full, junk, sizeof(junk), 0) < 0)
			break;
	return NULL;
}

static void *t_stream(void *a)
{
	static char junk[65536];

	(void)a;
	for (;;)
		if (send(g_stream, junk, sizeof(junk), 0) < 0)
			break;
	return NULL;
}

/* child: set everything up, tell the parent, then exit in the given way */
static void child(int how, int ready, uint16_t port, uint16_t port2, uint16_t port3)
{
	void *(*fns[])(void *) = { t_recv, t_accept, t_epoll, t_poll, t_send, t_stream };
	struct epoll_event ev = { .events = EPOLLIN };
	pthread_t t;
	uint16_t lp;
	size_t i;

	g_c = tcp_connect(port);
	g_full = tcp_connect(port2);
	g_stream = tcp_connect(port3);
	NEED(g_c >= 0 && g_full >= 0 && g_stream >= 0);
	g_l = tcp_listener(&lp);
	g_ep = epoll_create1(0);
	NEED(epoll_ctl(g_ep, EPOLL_CTL_ADD, g_c, &ev) == 0);
	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		NEED(pthread_create(&t, NULL, fns[i], NULL) == 0);
	msleep(200); /* let them block */
	NEED(write(ready, "r", 1) == 1);
	switch (how) {
	case 0:
		exit(7);
	case 1:
		_exit(8);
	default:
		return; /* from main: exit(9) */
	}
}

int main(int argc, char **argv)
{
	const char *hows[] = { "exit(7)", "_exit(8)", "return 9 from main" };
	int how;

	(void)argc;
	(void)argv;
	for (how = 0; how < 3; how++) {
		uint16_t p1, p2, p3;
		int l1 = tcp_listener(&p1), l2 = tcp_listener(&p2), l3 = tcp_listener(&p3);
		int s1, s2, s3, pp[2];
		char t, b[65536];
		ssize_t r;
		pid_t pid;
		size_t streamed = 0;

		NEED(pipe(pp) == 0);
		pid = fork();
		NEED(pid >= 0);
		if (pid == 0) {
			close(pp[0]);
			child(how, pp[1], p1, p2, p3);
			exit(9);
		}
		close(pp[1]);
		s1 = accept(l1, NULL, NULL);
		s2 = accept(l2, NULL, NULL);
		s3 = accept(l3, NULL, NULL);
		NEED(s1 >= 0 && s2 >= 0 && s3 >= 0);
		NEED(read(pp[0], &t, 1) == 1);
		/* drain the streamer until the end */
		while ((r = recv(s3, b, sizeof(b), 0)) > 0)
			streamed += r;
		say("%s: child %s", hows[how], status_str(wait_child(pid)));
		say("  idle peer sees: %zd", recv(s1, b, sizeof(b), 0));
		say("  streamer peer saw data then end: %s", YN(streamed > 0 && r <= 0));
		/* the full-buffer peer: reads the queued data, then EOF or reset */
		{
			size_t n = 0;

			while ((r = recv(s2, b, sizeof(b), 0)) > 0)
				n += r;
			say("  full-buffer peer: data then %s", r == 0 ? "EOF" : errname(errno));
		}
		close(s1);
		close(s2);
		close(s3);
		close(l1);
		close(l2);
		close(l3);
		close(pp[0]);
	}
	return 0;
}
