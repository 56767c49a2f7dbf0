// SPDX-License-Identifier: GPL-2.0
/*
 * Mixed connections: this process (accelerated under libvelo) talks over
 * loopback to a copy of itself exec'd WITHOUT LD_PRELOAD (kernel sockets
 * only), both ways: plain server <- accelerated client, and accelerated
 * server <- plain client. Each connection carries 8 MiB each way
 * concurrently with checksums, a half-close, an OOB-free echo of small
 * messages, and ends with EOF on both sides. IPv4 and IPv6. The same again
 * with the peer exec'd WITH the environment: two separate accelerated
 * processes, each with its own end of the connection.
 */
#include "diff.h"

#define BULK (8u << 20)

struct xfer {
	int fd;
	unsigned int seed;
	uint32_t h;
	size_t n;
};

static void *tx(void *arg)
{
	struct xfer *x = arg;
	static __thread char b[50000];
	size_t off = 0;

	while (off < BULK) {
		size_t k = BULK - off < sizeof(b) ? BULK - off : sizeof(b);

		pattern(b, k, off, x->seed);
		NEED(write_full(x->fd, b, k) == (ssize_t)k);
		x->h = csum(x->h, b, k);
		off += k;
	}
	x->n = off;
	NEED(shutdown(x->fd, SHUT_WR) == 0);
	return NULL;
}

static void *rx(void *arg)
{
	struct xfer *x = arg;
	static __thread char b[65536];
	ssize_t r;

	while ((r = recv(x->fd, b, sizeof(b), 0)) > 0) {
		x->h = csum(x->h, b, r);
		x->n += r;
	}
	return NULL;
}

/* the protocol both sides run: echo 100 small messages, then bulk both ways */
static int session(int fd, int is_server, char *out, size_t outlen)
{
	struct xfer t = { fd, is_server ? 21 : 12, 0, 0 }, r = { fd, 0, 0, 0 };
	pthread_t a, b;
	char m[64];
	int i, ok = 1;

	for (i = 0; i < 100; i++) {
		if (is_server) {
			ssize_t n = recv(fd, m, 10, MSG_WAITALL);

			ok &= n == 10 && send(fd, m, 10, 0) == 10;
		} else {
			char back[10];

			snprintf(m, sizeof(m), "msg%06d\n", i);
			ok &= send(fd, m, 10, 0) == 10;
			ok &= recv(fd, back, 10, MSG_WAITALL) == 10 && !memcmp(m, back, 10);
		}
	}
	NEED(pthread_create(&a, NULL, tx, &t) == 0);
	NEED(pthread_create(&b, NULL, rx, &r) == 0);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	snprintf(out, outlen, "echo ok %d, sent %zu (%08x), received %zu (%08x)", ok, t.n, t.h,
		 r.n, r.h);
	return ok;
}

static int peer_main(char **argv)
{
	int fam = atoi(argv[3]);
	char line[160];
	int fd;

	if (!strcmp(argv[2], "server")) {
		int l = atoi(argv[4]);

		fd = accept(l, NULL, NULL);
		NEED(fd >= 0);
		session(fd, 1, line, sizeof(line));
	} else {
		fd = tcp_connect_fam(fam, (uint16_t)atoi(argv[4]));
		NEED(fd >= 0);
		session(fd, 0, line, sizeof(line));
	}
	/* the parent prints its own line only after we exit */
	say("peer %s: %s", argv[2], line);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int fams[2] = { AF_INET, AF_INET6 }, i;

	if (argc > 4 && !strcmp(argv[1], "peer"))
		return peer_main(argv);
	for (i = 0; i < 4; i++) {
		int fam = fams[i & 1], l, fd, plain = i < 2;
		const char *who = plain ? "plain" : "other accelerated";
		uint16_t port;
		char a1[16], a2[16], line[160];
		pid_t pid;

		say("== %s: accelerated client -> %s server", fam == AF_INET ? "IPv4" : "IPv6", who);
		/* the listener is created here and inherited: no race on the port */
		l = tcp_listener_fam(fam, 8, &port);
		snprintf(a1, sizeof(a1), "%d", fam);
		snprintf(a2, sizeof(a2), "%d", l);
		{
			char *args[] = { "peer", "server", a1, a2, NULL };

			pid = spawn_self(args, plain);
		}
		close(l);
		fd = tcp_connect_fam(fam, port);
		NEED(fd >= 0);
		session(fd, 0, line, sizeof(line));
		close(fd);
		/* the peer prints as it ends; we print after it */
		{
			int st = wait_child(pid);

			say("client: %s", line);
			say("%s server %s", who, status_str(st));
		}

		say("== %s: %s client -> accelerated server", fam == AF_INET ? "IPv4" : "IPv6", who);
		l = tcp_listener_fam(fam, 8, &port);
		snprintf(a2, sizeof(a2), "%u", port);
		{
			char *args[] = { "peer", "client", a1, a2, NULL };

			pid = spawn_self(args, plain);
		}
		fd = accept(l, NULL, NULL);
		NEED(fd >= 0);
		close(l);
		session(fd, 1, line, sizeof(line));
		close(fd);
		{
			int st = wait_child(pid);

			say("server: %s", line);
			say("%s client %s", who, status_str(st));
		}
	}
	return 0;
}
