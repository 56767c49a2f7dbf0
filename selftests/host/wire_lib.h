/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the wire_* host tests: the sut runs velo's wire stack in its
 * namespace (xdp_lib.h's veth pair), the peer is the kernel's TCP in a
 * forked child. Data is a deterministic byte stream both ends can verify.
 */
#ifndef VELO_SELFTESTS_WIRE_LIB_H
#define VELO_SELFTESTS_WIRE_LIB_H

#include <stdarg.h>
#include <sys/wait.h>

#include "xdp_lib.h"
#include "wire/wire.h"

#define MIB (1024u * 1024u)

/* Byte @off of stream @seed. */
static inline uint8_t stream_byte(unsigned int seed, uint64_t off)
{
	uint64_t x = (off + seed * 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;

	return (uint8_t)(x >> 56);
}

static inline void stream_fill(unsigned int seed, uint64_t off, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = stream_byte(seed, off + i);
}

/* Whether p[0..n) is stream @seed from @off; FNV-1a folded into *sum. */
static inline int stream_check(unsigned int seed, uint64_t off, const uint8_t *p, size_t n,
			       uint64_t *sum)
{
	int ok = 1;

	for (size_t i = 0; i < n; i++) {
		ok &= p[i] == stream_byte(seed, off + i);
		*sum = (*sum ^ p[i]) * 0x100000001b3ull;
	}
	return ok;
}

/* Runs fn in a forked child inside the peer's namespace; returns its pid. */
static inline pid_t peer_spawn(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid == 0) {
		alarm(60);
		net_enter(PEER);
		_exit(fn(arg));
	}
	return pid;
}

/* The child's exit code, or KTAP_FAIL if it died. */
static inline int peer_wait(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return KTAP_FAIL;
	return WEXITSTATUS(status);
}

/* A kernel listener on the peer, as listen() before the child is forked. */
static inline int peer_listener(int family, uint16_t port)
{
	int fd = kernel_listen(family, PEER, port);

	net_enter(SUT);
	return fd;
}

/* Blocking all-or-error I/O on kernel sockets. */
static inline int write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sends @total bytes of stream @seed; 0 or -errno. */
static inline ssize_t kernel_send_stream(int fd, unsigned int seed, uint64_t total)
{
	static uint8_t buf[65536];

	for (uint64_t off = 0; off < total;) {
		size_t n = total - off < sizeof(buf) ? (size_t)(total - off) : sizeof(buf);

		stream_fill(seed, off, buf, n);
		if (write_all(fd, buf, n))
			return -errno;
		off += n;
	}
	return 0;
}

/* Receives stream @seed until @total bytes (or EOF when total is 0); bytes or -1. */
static inline int64_t kernel_recv_stream(int fd, unsigned int seed, uint64_t total,
					 uint64_t *sum)
{
	static uint8_t buf[65536];
	uint64_t off = 0;

	while (!total || off < total) {
		size_t want = total && total - off < sizeof(buf) ? (size_t)(total - off)
								 : sizeof(buf);
		ssize_t n = read(fd, buf, want);

		if (n < 0)
			return -1;
		if (n == 0)
			break;
		if (!stream_check(seed, off, buf, (size_t)n, sum))
			return -1;
		off += (uint64_t)n;
	}
	return (int64_t)off;
}

static inline ssize_t wire_send_stream(struct velo_wire_stack *st, int s, unsigned int seed,
				       uint64_t total)
{
	static uint8_t buf[65536];

	for (uint64_t off = 0; off < total;) {
		size_t n = total - off < sizeof(buf) ? (size_t)(total - off) : sizeof(buf);
		ssize_t w;

		stream_fill(seed, off, buf, n);
		w = velo_wire_send(st, s, buf, n, 0, 20000);
		if (w < 0)
			return w;
		if ((size_t)w != n)
			return -EIO;
		off += n;
	}
	return 0;
}

/* Until @total bytes, or EOF when 0; bytes, or -errno (-EBADMSG: wrong data). */
static inline int64_t wire_recv_stream(struct velo_wire_stack *st, int s, unsigned int seed,
				       uint64_t total, uint64_t *sum)
{
	static uint8_t buf[65536];
	uint64_t off = 0;

	while (!total || off < total) {
		size_t want = total && total - off < sizeof(buf) ? (size_t)(total - off)
								 : sizeof(buf);
		ssize_t n = velo_wire_recv(st, s, buf, want, 0, 20000);

		if (n < 0)
			return n;
		if (n == 0)
			break;
		if (!stream_check(seed, off, buf, (size_t)n, sum))
			return -EBADMSG;
		off += (uint64_t)n;
	}
	return (int64_t)off;
}

/* A stack for the peer's address in @family and a socket connected to @port. */
static inline int wire_dial(int family, uint16_t port, struct velo_wire_stack **st)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(family, PEER, port, &ss);
	int err, s;

	*st = velo_wire_stack_for((struct sockaddr *)&ss, &err);
	if (!*st) {
		ktap_diag("no wire stack: %s", strerror(-err));
		return err;
	}
	s = velo_wire_socket(*st, family);
	if (s < 0)
		return s;
	err = velo_wire_connect(*st, s, (struct sockaddr *)&ss, len, false, 10000);
	if (err) {
		ktap_diag("wire connect: %s", strerror(-err));
		velo_wire_close(*st, s);
		return err;
	}
	return s;
}

static inline double secs_since(uint64_t t0)
{
	return (double)(now_ns() - t0) / 1e9;
}

#endif /* VELO_SELFTESTS_WIRE_LIB_H */
