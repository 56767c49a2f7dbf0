// SPDX-License-Identifier: GPL-2.0
/*
 * Seeded random sequences of socket calls on one connected pair: send,
 * write, writev and sendfile, reads (recv, read, recvmsg, readv, splice
 * to a pipe) with MSG_PEEK, MSG_TRUNC and MSG_WAITALL, MSG_ERRQUEUE,
 * zero-length calls, SO_KEEPALIVE set and read back, one urgent byte,
 * shutdowns, dup-and-close of the registered number, poll, select, three
 * epoll sets (level-triggered, edge-triggered, one-shot) with waits, ADD,
 * MOD and DEL, FIONREAD/SIOCATMARK, names, SO_ERROR and the TCP state,
 * SO_OOBINLINE, closes with and without an abortive linger. Every result
 * is printed, with a sum of the bytes read, so a difference in data, errno
 * or readiness from the kernel's shows. epoll_wait gets room for 4 events.
 *
 * Both ends are non-blocking with TCP_NODELAY and what moves stays far
 * under the buffers, so every answer is deterministic on loopback. Not
 * printed apart: FIN_WAIT1 and FIN_WAIT2 (when the peer's ACK of a FIN
 * leaves is Linux's delayed-ACK heuristic). One urgent byte per
 * connection: a second one sent before the reader reached the first is a
 * known difference (README). Across namespaces each call is followed by a
 * wait for both ends to settle, fewer sequences run, no urgent byte goes to
 * an end that shut its reading side (there Linux keeps the urgent mark on
 * the reset it answers with; the engine resets without it), and no
 * epoll_ctl names a number other than the one first registered (README:
 * the registrations of one engine socket share its ready fd).
 *
 * argv: [first seed [count]], for exploring other seeds.
 */
#include "diff.h"

#include <fcntl.h>
#include <stdbool.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/uio.h>

#define OPS 40
#define SEQS 400      /* on loopback */
/*
 * Across namespaces each call waits to settle. There, once urgent data
 * moved the connection to the kernel, the edge-triggered set is not read:
 * the move registers the kernel socket, whose readiness is one more edge.
 */
#define SEQS_WIRE 40

struct end {
	int fd;
	char name;
	unsigned long sent; /* the byte pattern's position */
	bool shut_rd;
	int reg_fd; /* the number the epoll sets registered */
};

static struct end ends[2];
static int ep, eps[3], wire, oob_left;
static const char *const ep_name[3] = { "lt", "et", "oneshot" };
static const uint32_t ep_flags[3] = { 0, EPOLLET, EPOLLONESHOT };
static volatile sig_atomic_t sigpipes;
static unsigned int rnd_state;

static unsigned int rnd(unsigned int n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 16) % n;
}

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static void res(struct end *e, const char *what, long r)
{
	if (r < 0)
		say("%c %s = %s", e->name, what, errname(errno));
	else
		say("%c %s = %ld", e->name, what, r);
}

/* @n bytes of @e's stream from @off bytes past what it sent so far */
static void fill(struct end *e, char *buf, int n, int off)
{
	for (int i = 0; i < n; i++)
		buf[i] = (char)((e->sent + (unsigned long)(off + i)) * 7 + e->name);
}

/* A send's result, and the SIGPIPEs it raised (counted from @pipes). */
static void sent(struct end *e, const char *what, long r, int pipes)
{
	res(e, what, r);
	if (r > 0)
		e->sent += r;
	if (sigpipes != pipes)
		say("  SIGPIPE x%d", sigpipes - pipes);
}

static void say_sum(const char *buf, long n)
{
	unsigned int sum = 0;

	for (long i = 0; i < n; i++)
		sum = sum * 31 + (unsigned char)buf[i];
	say("  data sum %08x", sum);
}

static void data_out(struct end *e, int n, int flags, bool use_write)
{
	char buf[4096], what[64];
	int pipes = sigpipes;
	long r;

	fill(e, buf, n, 0);
	r = use_write ? write(e->fd, buf, n) : send(e->fd, buf, n, flags);
	snprintf(what, sizeof(what), "%s %d%s", use_write ? "write" : "send", n,
		 flags & MSG_NOSIGNAL ? " nosignal" : "");
	sent(e, what, r, pipes);
}

static const char *rflag_name(int f)
{
	switch (f) {
	case MSG_PEEK: return " peek";
	case MSG_TRUNC: return " trunc";
	case MSG_WAITALL: return " waitall";
	case MSG_PEEK | MSG_TRUNC: return " peek|trunc";
	default: return "";
	}
}

static void data_in(struct end *e, int n, int flags, int how)
{
	static const char *how_name[] = { "recv", "read", "recvmsg" };
	char buf[8192], what[64];
	struct iovec iov = { buf, n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	long r;

	if (how == 0)
		r = recv(e->fd, buf, n, flags);
	else if (how == 1)
		r = read(e->fd, buf, n);
	else
		r = recvmsg(e->fd, &mh, flags);
	snprintf(what, sizeof(what), "%s %d%s", how_name[how], n, how == 1 ? "" : rflag_name(flags));
	res(e, what, r);
	if (r > 0 && !(flags & MSG_TRUNC))
		say_sum(buf, r);
	if (how == 2 && r >= 0)
		say("  msg_flags %#x", mh.msg_flags);
}

static void polls(struct end *e)
{
	struct pollfd p = { e->fd, POLL_ALL, 0 };
	int r = poll(&p, 1, 0);

	if (r < 0)
		res(e, "poll", r);
	else
		say("%c poll %s", e->name, pollmask(p.revents));
}

static void oob_out(struct end *e)
{
	char c = (char)('A' + rnd(26));

	if (!oob_left || (wire && ends[e == ends].shut_rd)) {
		polls(e);
		return;
	}
	oob_left--;

	res(e, "send 1 oob", send(e->fd, &c, 1, MSG_OOB | MSG_NOSIGNAL));
}

static void oob_in(struct end *e)
{
	char c = 0;
	long r = recv(e->fd, &c, 1, MSG_OOB | (rnd(2) ? MSG_PEEK : 0));

	res(e, "recv oob", r);
	if (r > 0)
		say("  byte %c", c);
}

static void ioctls(struct end *e)
{
	int v = -1;

	res(e, "FIONREAD", ioctl(e->fd, FIONREAD, &v) < 0 ? -1 : v);
	res(e, "SIOCATMARK", ioctl(e->fd, SIOCATMARK, &v) < 0 ? -1 : v);
}

static void opts(struct end *e)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	int v = -1;

	l = sizeof(v);
	if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &v, &l) < 0)
		res(e, "SO_ERROR", -1);
	else
		say("%c SO_ERROR = %s", e->name, v ? errname(v) : "0");
	l = sizeof(ti);
	if (getsockopt(e->fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		res(e, "TCP_INFO", -1);
	else if (ti.tcpi_state == TCP_FIN_WAIT1 || ti.tcpi_state == TCP_FIN_WAIT2)
		say("%c state FIN_WAIT", e->name);
	else
		say("%c state %s", e->name, tcp_state_name(ti.tcpi_state));
}

static void selects(struct end *e)
{
	fd_set r, w, x;
	struct timeval tv = { 0, 0 };
	int n;

	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&x);
	FD_SET(e->fd, &r);
	FD_SET(e->fd, &w);
	FD_SET(e->fd, &x);
	n = select(e->fd + 1, &r, &w, &x, &tv);
	if (n < 0)
		res(e, "select", n);
	else
		say("%c select%s%s%s", e->name, FD_ISSET(e->fd, &r) ? " r" : "",
		    FD_ISSET(e->fd, &w) ? " w" : "", FD_ISSET(e->fd, &x) ? " x" : "");
}

static void epolls(int k)
{
	struct epoll_event evs[4];
	int n, i, j;

	if (wire && k == 1 && !oob_left)
		k = 0; /* see SEQS_WIRE */
	n = epoll_wait(eps[k], evs, 4, 0);
	if (n < 0) {
		say("epoll_wait %s = %s", ep_name[k], errname(errno));
		return;
	}
	for (i = 0; i < 2; i++)
		for (j = 0; j < n; j++)
			if (evs[j].data.u32 == (unsigned int)i)
				say("epoll %s %c %s", ep_name[k], ends[i].name, epmask(evs[j].events));
	say("epoll %s %d ready", ep_name[k], n);
}

static void ep_mod(struct end *e, int k, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | ep_flags[k],
				  .data.u32 = (uint32_t)(e - ends) };
	char what[32];

	if (wire && e->fd != e->reg_fd) {
		polls(e);
		return;
	}
	snprintf(what, sizeof(what), "epoll %s %s", ep_name[k],
		 op == EPOLL_CTL_MOD ? "MOD" : op == EPOLL_CTL_DEL ? "DEL" : "ADD");
	res(e, what, epoll_ctl(eps[k], op, e->fd, &ev));
}

/* writev or readv over three pieces of one buffer, in a scattered order */
static void vec_io(struct end *e, bool out)
{
	static char b[3 * 1500];
	char flat[3 * 1500], what[32];
	struct iovec iov[3];
	int i, n = 0, pipes = sigpipes;
	long r;

	for (i = 0; i < 3; i++) {
		iov[i].iov_base = b + (2 - i) * 1500;
		iov[i].iov_len = 1 + rnd(1500);
		if (out)
			fill(e, iov[i].iov_base, (int)iov[i].iov_len, n);
		n += (int)iov[i].iov_len;
	}
	r = out ? writev(e->fd, iov, 3) : readv(e->fd, iov, 3);
	snprintf(what, sizeof(what), "%s %d", out ? "writev" : "readv", n);
	if (out) {
		sent(e, what, r, pipes);
		return;
	}
	res(e, what, r);
	for (i = 0, n = 0; i < 3 && n < r; n += (int)iov[i++].iov_len)
		memcpy(flat + n, iov[i].iov_base, iov[i].iov_len);
	if (r > 0)
		say_sum(flat, r);
}

static void names(struct end *e)
{
	union sa a;
	socklen_t l = sizeof(a);
	int r = getsockname(e->fd, &a.sa, &l);

	if (r < 0)
		res(e, "getsockname", r);
	else
		say("%c getsockname family %d len %u", e->name, a.sa.sa_family, l);
	l = sizeof(a);
	r = getpeername(e->fd, &a.sa, &l);
	if (r < 0)
		res(e, "getpeername", r);
	else
		say("%c getpeername family %d len %u", e->name, a.sa.sa_family, l);
}

static void file_out(struct end *e)
{
	static const int sizes[] = { 1, 100, 3000 };
	char buf[3000], what[32];
	int n = sizes[rnd(3)], pipes = sigpipes, f = fileno(tmpfile());
	off_t off = 0;
	long r;

	NEED(f >= 0);
	fill(e, buf, n, 0);
	NEED(pwrite(f, buf, n, 0) == n);
	r = sendfile(e->fd, f, &off, n);
	close(f);
	snprintf(what, sizeof(what), "sendfile %d", n);
	sent(e, what, r, pipes);
}

static void pipe_in(struct end *e)
{
	static const int sizes[] = { 1, 100, 3000, 8000 };
	int p[2], n = sizes[rnd(4)];
	char buf[8000], what[32];
	long r;

	NEED(pipe(p) == 0);
	r = splice(e->fd, NULL, p[1], NULL, n, SPLICE_F_NONBLOCK);
	snprintf(what, sizeof(what), "splice %d", n);
	res(e, what, r);
	if (r > 0) {
		NEED(read(p[0], buf, r) == r);
		say_sum(buf, r);
	}
	close(p[0]);
	close(p[1]);
}

static void misc_opts(struct end *e)
{
	int v = (int)rnd(2), got = -1;
	socklen_t l = sizeof(got);
	char b[16];

	res(e, v ? "SO_KEEPALIVE on" : "SO_KEEPALIVE off",
	    setsockopt(e->fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)));
	if (getsockopt(e->fd, SOL_SOCKET, SO_KEEPALIVE, &got, &l) < 0)
		res(e, "SO_KEEPALIVE get", -1);
	else
		say("%c SO_KEEPALIVE = %d", e->name, got);
	res(e, "recv errqueue", recv(e->fd, b, sizeof(b), MSG_ERRQUEUE | MSG_DONTWAIT));
}

static void zero_io(struct end *e)
{
	char c = 0;

	res(e, "send 0", send(e->fd, &c, 0, MSG_NOSIGNAL));
	res(e, "recv 0", recv(e->fd, &c, 0, 0));
}

static void shut(struct end *e)
{
	static const char *how_name[] = { "SHUT_RD", "SHUT_WR", "SHUT_RDWR" };
	int how = (int)rnd(3), r = shutdown(e->fd, how);

	res(e, how_name[how], r);
	if (!r && how != SHUT_WR)
		e->shut_rd = true;
}

static void redup(struct end *e)
{
	int nfd = dup(e->fd);

	NEED(nfd >= 0);
	close(e->fd);
	e->fd = nfd;
	say("%c dup, old closed", e->name);
}

static void end_close(struct end *e)
{
	if (rnd(3) == 0) {
		struct linger lg = { 1, 0 };

		NEED(setsockopt(e->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
		say("%c linger 0", e->name);
	}
	res(e, "close", close(e->fd));
	e->fd = -1;
}

static void oobinline(struct end *e)
{
	int v = (int)rnd(2);

	res(e, v ? "SO_OOBINLINE on" : "SO_OOBINLINE off",
	    setsockopt(e->fd, SOL_SOCKET, SO_OOBINLINE, &v, sizeof(v)));
}

/* Across namespaces: until both ends' readiness and queues stop changing. */
static void settle(void)
{
	unsigned long last = 0, sig;
	int same = 0, i, tries;

	if (!wire)
		return;
	for (tries = 0; tries < 200 && same < 3; tries++) {
		sig = 0;
		for (i = 0; i < 2; i++) {
			struct pollfd p = { ends[i].fd, POLL_ALL, 0 };
			int q = 0;

			if (ends[i].fd < 0)
				continue;
			poll(&p, 1, 0);
			ioctl(ends[i].fd, FIONREAD, &q);
			sig = sig * 1000003 + (unsigned long)p.revents * 65537 + (unsigned long)q;
		}
		same = tries && sig == last ? same + 1 : 0;
		last = sig;
		msleep(2);
	}
}

static void step(void)
{
	struct end *e = &ends[rnd(2)];
	static const int sizes[] = { 1, 100, 3000 };
	static const int rflags[] = { 0, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, MSG_PEEK | MSG_TRUNC };

	if (e->fd < 0)
		e = &ends[e == ends];
	switch (rnd(34)) {
	case 30:
		file_out(e);
		break;
	case 31:
		pipe_in(e);
		break;
	case 32:
		misc_opts(e);
		break;
	case 20:
		epolls((int)rnd(3));
		break;
	case 21:
		ep_mod(e, (int)rnd(3), EPOLL_CTL_MOD);
		break;
	case 22:
		ep_mod(e, (int)rnd(3), rnd(2) ? EPOLL_CTL_DEL : EPOLL_CTL_ADD);
		break;
	case 23: case 24:
		vec_io(e, rnd(2));
		break;
	case 25: case 26:
		names(e);
		break;
	case 27:
		zero_io(e);
		break;
	case 0: case 1: case 2:
		data_out(e, sizes[rnd(3)], rnd(2) ? MSG_NOSIGNAL : 0, false);
		break;
	case 3:
		data_out(e, sizes[rnd(3)], 0, true);
		break;
	case 4: case 5: case 6:
		data_in(e, sizes[rnd(3)] + (int)rnd(2) * 5000, rflags[rnd(5)], rnd(3) == 1 ? 2 : 0);
		break;
	case 7:
		data_in(e, sizes[rnd(3)], 0, 1);
		break;
	case 8:
		shut(e);
		break;
	case 9:
		polls(e);
		break;
	case 10:
		selects(e);
		break;
	case 11:
		epolls(0);
		break;
	case 12:
		ioctls(e);
		break;
	case 13:
		opts(e);
		break;
	case 14:
		oob_out(e);
		break;
	case 15:
		oob_in(e);
		break;
	case 16:
		redup(e);
		break;
	case 17:
		oobinline(e);
		break;
	case 18:
		if (rnd(4) == 0)
			end_close(e);
		else
			polls(e);
		break;
	default:
		data_in(e, 8192, 0, 0);
		break;
	}
	settle();
}

static void run(unsigned int seed)
{
	int i, k, one = 1, fam = seed % 3 == 2 ? AF_INET6 : AF_INET;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI };

	rnd_state = seed;
	oob_left = 1;
	say("-- seed %u %s", seed, fam == AF_INET6 ? "ipv6" : "ipv4");
	memset(ends, 0, sizeof(ends));
	tcp_pair_fam(fam, &ends[0].fd, &ends[1].fd);
	ends[0].name = 'c';
	ends[1].name = 's';
	for (k = 0; k < 3; k++) {
		eps[k] = epoll_create1(0);
		NEED(eps[k] >= 0);
	}
	ep = eps[0];
	for (i = 0; i < 2; i++) {
		set_nonblock(ends[i].fd, 1);
		NEED(setsockopt(ends[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0);
		ev.data.u32 = (unsigned int)i;
		ends[i].reg_fd = ends[i].fd;
		for (k = 0; k < 3; k++) {
			ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | ep_flags[k];
			NEED(epoll_ctl(eps[k], EPOLL_CTL_ADD, ends[i].fd, &ev) == 0);
		}
	}
	settle();
	for (i = 0; i < OPS && (ends[0].fd >= 0 || ends[1].fd >= 0); i++)
		step();
	for (i = 0; i < 2; i++)
		if (ends[i].fd >= 0)
			close(ends[i].fd);
	for (k = 0; k < 3; k++)
		close(eps[k]);
}

int main(int argc, char **argv)
{
	unsigned int first = argc > 1 ? (unsigned int)atoi(argv[1]) : 1;
	unsigned int count, s;

	wire = getenv("VELO_DIFF_PEER_NS") != NULL;
	count = argc > 2 ? (unsigned int)atoi(argv[2]) : wire ? SEQS_WIRE : SEQS;
	NEED(sig_install(SIGPIPE, on_sigpipe, SA_RESTART) == 0);
	for (s = first; s < first + count; s++)
		run(s);
	return 0;
}
