// SPDX-License-Identifier: GPL-2.0
/*
 * sockperf's ping-pong call pattern between two processes, checked byte for
 * byte: the client sends sequence-numbered messages (16..1500 bytes, fixed
 * seed), sometimes two or three back to back, and reads each reply with
 * recvfrom() sized to the message, like sockperf's client; the server
 * reads with recvfrom(65507, MSG_NOSIGNAL), splits the stream into
 * messages and echoes each with sendto(), like sockperf's server. The
 * first message leaves right after connect(), often before the server
 * accepted, so each direction switches from the kernel to the ring in the
 * middle of the conversation. 200 short connections and a long one with
 * no signals (a lost wakeup hangs both ends: the harness's timeout), then
 * a long one where a SIGALRM handler without SA_RESTART interrupts blocked
 * calls every 3 ms, as sockperf's test timer does at the end. A lost,
 * duplicated or inserted byte shows as a bad sequence number or payload.
 *
 * args (for stress runs by hand): [conns [rounds [long_rounds]]]
 */
#include "diff.h"
#include <stdbool.h>
#include <sys/prctl.h>

#define HDR 12
#define MAXMSG 1500

static volatile sig_atomic_t g_alarms;

static void on_alarm(int sig)
{
	(void)sig;
	g_alarms++;
}

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* message: len, seq, conn, then payload bytes derived from seq */
static void fill(unsigned char *m, uint32_t len, uint32_t seq, uint32_t conn)
{
	uint32_t i;

	put32(m, len);
	put32(m + 4, seq);
	put32(m + 8, conn);
	for (i = HDR; i < len; i++)
		m[i] = (unsigned char)(seq * 131 + i * 7 + conn);
}

static int bad_msg(const unsigned char *m, uint32_t len, uint32_t seq, uint32_t conn)
{
	unsigned char want[MAXMSG];

	fill(want, len, seq, conn);
	return memcmp(m, want, len) != 0;
}

static ssize_t send_all(int fd, const void *b, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t r = sendto(fd, (const char *)b + off, n - off, MSG_NOSIGNAL, NULL, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += r;
	}
	return off;
}

/* The server: one connection at a time, echoes whole messages. */
static int serve(int l, unsigned int conns)
{
	static unsigned char buf[65507 + MAXMSG];
	unsigned int c;
	int one = 1;

	for (c = 0; c < conns; c++) {
		size_t have = 0;
		int s;

		if (c == conns - 1) {
			struct itimerval it = { { 0, 3000 }, { 0, 3000 } };

			setitimer(ITIMER_REAL, &it, NULL);
		}
		do
			s = accept(l, NULL, NULL);
		while (s < 0 && errno == EINTR);
		if (s < 0)
			return 2;
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (;;) {
			ssize_t r = recvfrom(s, buf + have, 65507, MSG_NOSIGNAL, NULL, NULL);
			size_t off = 0;

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return 3;
			if (r == 0)
				break;
			have += r;
			while (have - off >= HDR) {
				uint32_t len = get32(buf + off);

				if (len < HDR || len > MAXMSG)
					return 4; /* misaligned: the client sees EOF */
				if (have - off < len)
					break;
				if (send_all(s, buf + off, len) < 0)
					return 5;
				off += len;
			}
			memmove(buf, buf + off, have - off);
			have -= off;
		}
		close(s);
	}
	return 0;
}

struct stats {
	unsigned long msgs, bad_seq, bad_data, eof, errs;
};

/* Read one whole reply of len bytes with recvfrom(len), as sockperf does. */
static int read_reply(int fd, unsigned char *m, uint32_t len, struct stats *st)
{
	uint32_t got = 0;

	while (got < len) {
		ssize_t r = recvfrom(fd, m + got, len - got, MSG_NOSIGNAL, NULL, NULL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			st->errs++;
			return -1;
		}
		if (r == 0) {
			st->eof++;
			return -1;
		}
		got += r;
	}
	return 0;
}

static bool failed(const struct stats *st)
{
	return st->bad_seq || st->bad_data || st->eof || st->errs;
}

static int client_conn(uint16_t port, uint32_t conn, unsigned int rounds, uint32_t *seed,
		       struct stats *st)
{
	unsigned char out[3][MAXMSG], in[MAXMSG];
	uint32_t seq = 0;
	unsigned int i;
	int one = 1, fd;
	sigset_t al, old;

	/* sockperf connects before its timer runs */
	sigemptyset(&al);
	sigaddset(&al, SIGALRM);
	sigprocmask(SIG_BLOCK, &al, &old);
	fd = tcp_connect(port);
	sigprocmask(SIG_SETMASK, &old, NULL);

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (i = 0; i < rounds;) {
		unsigned int burst = rnd(seed) % 8 == 0 ? 2 + rnd(seed) % 2 : 1, b;
		uint32_t len[3];

		if (burst > rounds - i)
			burst = rounds - i;
		for (b = 0; b < burst; b++) {
			len[b] = HDR + 4 + rnd(seed) % (MAXMSG - HDR - 4 + 1);
			fill(out[b], len[b], seq + b, conn);
			if (send_all(fd, out[b], len[b]) < 0) {
				st->errs++;
				goto out;
			}
		}
		for (b = 0; b < burst; b++) {
			if (read_reply(fd, in, len[b], st) < 0)
				goto out;
			st->msgs++;
			if (get32(in + 4) != seq + b || get32(in) != len[b])
				st->bad_seq++;
			else if (bad_msg(in, len[b], seq + b, conn))
				st->bad_data++;
			if (st->bad_seq || st->bad_data)
				goto out;
		}
		seq += burst;
		i += burst;
	}
out:
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int conns = argc > 1 ? atoi(argv[1]) : 200;
	unsigned int rounds = argc > 2 ? atoi(argv[2]) : 50;
	unsigned int long_rounds = argc > 3 ? atoi(argv[3]) : 30000;
	struct itimerval it = { { 0, 3000 }, { 0, 3000 } };
	struct sigaction sa;
	struct stats st = { 0 };
	uint32_t seed = 12345, c;
	uint16_t port;
	int l, status;
	pid_t pid;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART, like sockperf */
	NEED(sigaction(SIGALRM, &sa, NULL) == 0);
	l = tcp_listener_fam(AF_INET, 128, &port);
	pid = fork();
	NEED(pid >= 0);
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(serve(l, conns + 2));
	}
	close(l);
	/* no signals first: a lost wakeup hangs instead of ending in EINTR */
	for (c = 0; c < conns && !failed(&st); c++)
		NEED(client_conn(port, c, rounds, &seed, &st) == 0);
	if (!failed(&st))
		NEED(client_conn(port, c++, long_rounds, &seed, &st) == 0);
	if (!failed(&st)) {
		NEED(setitimer(ITIMER_REAL, &it, NULL) == 0);
		NEED(client_conn(port, c, long_rounds, &seed, &st) == 0);
	}
	it.it_value.tv_usec = it.it_interval.tv_usec = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	if (failed(&st))
		kill(pid, SIGKILL);
	NEED(waitpid(pid, &status, 0) == pid);
	say("messages echoed: %lu of %u", st.msgs, conns * rounds + 2 * long_rounds);
	say("bad sequence numbers: %lu, bad payloads: %lu", st.bad_seq, st.bad_data);
	say("early EOF: %lu, errors: %lu", st.eof, st.errs);
	say("server exit: %d", WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
	say("signals interrupted the last run: %s", YN(g_alarms > 0));
	return 0;
}
