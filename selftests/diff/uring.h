/* SPDX-License-Identifier: GPL-2.0 */
/*
 * io_uring for the diff programs io_uring_linked and io_uring_dlopen: one
 * operation at a time on a ring of liburing's, then the cases both run.
 * liburing's exported calls are reached through pointers, which
 * io_uring_dlopen finds with dlsym() after it loaded the library.
 */
#ifndef VELO_DIFF_URING_H
#define VELO_DIFF_URING_H

#include <liburing.h>

#include "diff.h"

static int (*ur_submit)(struct io_uring *ring);
static int (*ur_get_cqe)(struct io_uring *ring, struct io_uring_cqe **cqe, unsigned int submit,
			 unsigned int wait_nr, sigset_t *sigmask);
static struct io_uring ur;

/* The prepared operation is on its way. */
static inline void ur_start(void)
{
	NEED(ur_submit(&ur) == 1);
}

/* Its result: a count, or a negative errno. */
static inline int ur_finish(void)
{
	struct io_uring_cqe *cqe;
	int r;

	NEED(ur_get_cqe(&ur, &cqe, 0, 1, NULL) == 0);
	r = cqe->res;
	io_uring_cqe_seen(&ur, cqe);
	return r;
}

static inline struct io_uring_sqe *ur_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ur);

	NEED(sqe);
	return sqe;
}

/* IORING_OP_RECV (or READ), printed with what it read. */
static inline int ur_recv(const char *label, int fd, bool read)
{
	char buf[256];
	int r;

	if (read)
		io_uring_prep_read(ur_sqe(), fd, buf, sizeof(buf), 0);
	else
		io_uring_prep_recv(ur_sqe(), fd, buf, sizeof(buf), 0);
	ur_start();
	r = ur_finish();
	say("%s: %s \"%.*s\"", label, r < 0 ? errname(-r) : "ok", r > 0 ? r : 0, buf);
	return r;
}

static inline int ur_send(const char *label, int fd, const char *text, bool write)
{
	int r;

	if (write)
		io_uring_prep_write(ur_sqe(), fd, text, strlen(text), 0);
	else
		io_uring_prep_send(ur_sqe(), fd, text, strlen(text), 0);
	ur_start();
	r = ur_finish();
	say("%s: %d", label, r);
	return r;
}

static inline void show_read(int fd)
{
	char buf[256];
	ssize_t r = read(fd, buf, sizeof(buf));

	say("read: %zd \"%.*s\"", r, r > 0 ? (int)r : 0, buf);
}

/* @total bytes sent with IORING_OP_SEND from @s, read with recv() from @c. */
static inline void ur_bulk(int c, int s, size_t total)
{
	static char chunk[1 << 16];
	uint32_t sent = 0;
	struct drain d;
	int r;

	drain_start(&d, c);
	while (sent < total) {
		size_t n = total - sent < sizeof(chunk) ? total - sent : sizeof(chunk);

		pattern(chunk, n, sent, 7);
		io_uring_prep_send(ur_sqe(), s, chunk, n, 0);
		ur_start();
		r = ur_finish();
		NEED(r > 0);
		sent += (uint32_t)r;
	}
	SHOW(shutdown(s, SHUT_WR));
	say("bulk: sent %u, read %zu", sent, drain_join(&d));
}

/*
 * Connection @c (connected) and @s (accepted from it), listener @l on the
 * program's own address at @port: io_uring operations on sockets the
 * program used before.
 */
static inline void ur_cases(int family, int c, int s, int l, uint16_t port)
{
	union sa a;
	socklen_t al = sa_self(&a, family, port);
	int p, acc;

	SHOW(write(c, "hello", 5));
	ur_recv("uring recv s", s, false);
	ur_send("uring send s", s, "world!", false);
	show_read(c);
	ur_send("uring send c", c, "abc", false);
	ur_recv("uring recv s", s, false);
	ur_send("uring write s", s, "xyz", true);
	ur_recv("uring read c", c, true);

	io_uring_prep_poll_add(ur_sqe(), s, POLLIN);
	ur_start();
	msleep(20);
	SHOW(write(c, "!", 1));
	say("uring poll s: %s", pollmask((short)ur_finish()));
	ur_recv("uring recv s", s, false);

	p = peer_socket(family);
	NEED(p >= 0);
	SHOW(connect(p, &a.sa, al));
	io_uring_prep_accept(ur_sqe(), l, NULL, NULL, 0);
	ur_start();
	acc = ur_finish();
	say("uring accept: %s", acc >= 0 ? "fd" : errname(-acc));
	if (acc >= 0) {
		SHOW(write(p, "ping", 4));
		ur_recv("uring recv accepted", acc, false);
		ur_send("uring send accepted", acc, "pong", false);
		show_read(p);
		close(acc);
	}
	close(p);

	SHOW(close(c));
	ur_recv("uring recv s after close", s, false);
	close(s);

	tcp_pair_fam(family, &c, &s);
	ur_bulk(c, s, 3 << 20);
	close(c);
	close(s);
}

#endif
