// SPDX-License-Identifier: GPL-2.0
/*
 * A blocked recv, accept, connect, send (full buffer) and read is
 * interrupted by a signal: without SA_RESTART it returns EINTR; with
 * SA_RESTART it is transparently restarted and completes when the data /
 * connection arrives. Signals are sent repeatedly from another thread
 * until the call returns, so at least one hits the blocked call whatever
 * the timing.
 */
#include "diff.h"

static volatile sig_atomic_t nsig;
static volatile int returned; /* the interrupted call has returned */

static void on_sig(int sig)
{
	(void)sig;
	nsig++;
}

struct later {
	int fd;
	int delay;
	int what; /* 0: send data, 1: connect to port, 2: drain */
	uint16_t port;
	int out;
};

static void *later_main(void *arg)
{
	struct later *l = arg;
	static char sink[1 << 16];

	msleep(l->delay);
	/* and not before the main thread took a few signals (or returned) */
	while (l->what != 2 && nsig < 3 && !returned)
		msleep(5);
	if (l->what == 3) {
		int a = accept(l->fd, NULL, NULL);

		close(a);
	} else if (l->what == 0)
		NEED(send(l->fd, "late-data", 9, 0) == 9);
	else if (l->what == 1)
		l->out = tcp_connect(l->port);
	else {
		size_t got = 0;
		ssize_t r;

		/*
		 * Free some space, never enough for the whole send: it moves
		 * part of its data and blocks again, so the next signal finds
		 * it blocked with partial progress, however fast this runs.
		 */
		while (got < 60000 && !__atomic_load_n(&l->out, __ATOMIC_ACQUIRE)) {
			r = recv(l->fd, sink, 60000 - got < sizeof(sink) ? 60000 - got : sizeof(sink), MSG_DONTWAIT);
			if (r > 0)
				got += (size_t)r;
			else if (r < 0 && (errno == EAGAIN || errno == EINTR))
				msleep(1);
			else
				break;
		}
		while (!__atomic_load_n(&l->out, __ATOMIC_ACQUIRE))
			msleep(5);
		while ((r = recv(l->fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0 ||
		       (r < 0 && errno == EINTR))
			;
	}
	return NULL;
}

static void fill(int fd)
{
	static char junk[1 << 16];

	set_nonblock(fd, 1);
	while (send(fd, junk, sizeof(junk), 0) > 0)
		;
	set_nonblock(fd, 0);
}

static void run(int restart)
{
	struct sigpump sp;
	struct later lt;
	pthread_t t;
	int c, s, l, a, cfd, sz = 16384;
	uint16_t port;
	char b[32];
	ssize_t r;

	(void)a;
	say("== %s", restart ? "SA_RESTART" : "no SA_RESTART");
	NEED(sig_install(SIGUSR1, on_sig, restart ? SA_RESTART : 0) == 0);

	/* recv */
	tcp_pair(&c, &s);
	nsig = 0;
	lt = (struct later){ .fd = s, .delay = 400, .what = 0 };
	NEED(pthread_create(&t, NULL, later_main, &lt) == 0);
	sigpump_start(&sp, SIGUSR1, 50, 50);
	memset(b, 0, sizeof(b));
	returned = 0;
	r = recv(c, b, sizeof(b), 0);
	returned = 1;
	sigpump_stop(&sp);
	pthread_join(t, NULL);
	say("recv = %zd %s \"%s\", handler ran: %s", r, r < 0 ? errname(errno) : "", b,
	    YN(nsig > 0));
	if (r < 0) {
		memset(b, 0, sizeof(b));
		SHOW(recv(c, b, sizeof(b), 0));
		say("then got \"%s\"", b);
	}

	/* read */
	nsig = 0;
	lt = (struct later){ .fd = s, .delay = 400, .what = 0 };
	NEED(pthread_create(&t, NULL, later_main, &lt) == 0);
	sigpump_start(&sp, SIGUSR1, 50, 50);
	memset(b, 0, sizeof(b));
	returned = 0;
	r = read(c, b, sizeof(b));
	returned = 1;
	sigpump_stop(&sp);
	pthread_join(t, NULL);
	say("read = %zd %s \"%s\", handler ran: %s", r, r < 0 ? errname(errno) : "", b,
	    YN(nsig > 0));
	if (r < 0)
		SHOW(read(c, b, sizeof(b)));

	/* send on a full buffer */
	NEED(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == 0);
	NEED(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) == 0);
	fill(c);
	nsig = 0;
	lt = (struct later){ .fd = s, .delay = 400, .what = 2 };
	NEED(pthread_create(&t, NULL, later_main, &lt) == 0);
	/*
	 * The signals begin after the peer freed space: whether the send
	 * moved anything before a signal must not depend on how soon the
	 * ACKs of the fill came back (it did, in a slow VM).
	 */
	sigpump_start(&sp, SIGUSR1, 800, 50);
	{
		static char big[100000];

		returned = 0;
		r = send(c, big, sizeof(big), 0);
		returned = 1;
	}
	sigpump_stop(&sp);
	lt.out = 1;
	pthread_join(t, NULL);
	/* Linux: interrupted after a partial send returns the count, else EINTR */
	say("send on full buffer = %s, handler ran: %s",
	    r < 0 ? errname(errno) : r == 100000 ? "all" : "partial", YN(nsig > 0));
	close(c);
	close(s);

	/* accept */
	l = tcp_listener(&port);
	nsig = 0;
	lt = (struct later){ .delay = 400, .what = 1, .port = port, .out = -1 };
	NEED(pthread_create(&t, NULL, later_main, &lt) == 0);
	sigpump_start(&sp, SIGUSR1, 50, 50);
	returned = 0;
	a = accept(l, NULL, NULL);
	r = a < 0 ? -errno : 0;
	returned = 1;
	sigpump_stop(&sp);
	pthread_join(t, NULL);
	say("accept = %s, handler ran: %s", r ? errname(-r) : "ok", YN(nsig > 0));
	if (a < 0)
		a = accept(l, NULL, NULL);
	say("connection accepted eventually: %s", YN(a >= 0));
	close(a);
	close(lt.out);
	close(l);

	/*
	 * connect to a listener whose accept queue is full: the SYN is dropped
	 * and retried (after 1 s); a thread frees the queue meanwhile.
	 */
	l = tcp_listener_fam(AF_INET, 0, &port);
	c = tcp_connect(port);
	NEED(c >= 0 && wait_ev(l, POLLIN, 5000));
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	nsig = 0;
	lt = (struct later){ .fd = l, .delay = 300, .what = 3 };
	NEED(pthread_create(&t, NULL, later_main, &lt) == 0);
	sigpump_start(&sp, SIGUSR1, 50, 50);
	{
		union sa sa;
		socklen_t al = sa_loop(&sa, AF_INET, port);

		returned = 0;
		r = connect(cfd, &sa.sa, al);
		r = r < 0 ? -errno : 0;
		returned = 1;
		sigpump_stop(&sp);
		pthread_join(t, NULL);
		say("connect = %s, handler ran: %s", r ? errname(-r) : "ok", YN(nsig > 0));
		if (r) {
			/* the handshake goes on in the background */
			say("connection completes later (POLLOUT): %s",
			    YN(wait_ev(cfd, POLLOUT, 8000)));
			SHOW(connect(cfd, &sa.sa, al));
		}
		a = accept(l, NULL, NULL);
		say("accepted: %s", YN(a >= 0));
		close(a);
	}
	close(cfd);
	close(c);
	close(l);
}

int main(void)
{
	run(0);
	run(1);
	return 0;
}
