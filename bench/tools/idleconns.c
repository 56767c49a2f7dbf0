// SPDX-License-Identifier: GPL-2.0
/*
 * Scale: N established loopback connections, ACTIVE of them busy.
 *   idleconns N ACTIVE SECONDS BASEPORT
 * A forked server accepts all N (spread over ports BASEPORT.. so that the
 * ephemeral range suffices) into one epoll set and echoes; the client then
 * ping-pongs one byte on ACTIVE connections at once, round after round.
 * Prints the system memory per connection (MemTotal - MemAvailable delta:
 * kernel and user memory alike, approximate), the rounds per second and the
 * server's CPU time (user + system) per echoed event: the epoll_wait, read
 * and write it costs with N registered connections.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "tool.h"

#define CONNS_PER_PORT 20000

static long mem_used_kb(void)
{
	long total = 0, avail = 0, v;
	char key[64];
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		die("/proc/meminfo");
	while (fscanf(f, "%63s %ld kB", key, &v) == 2) {
		if (!strcmp(key, "MemTotal:"))
			total = v;
		else if (!strcmp(key, "MemAvailable:"))
			avail = v;
	}
	fclose(f);
	return total - avail;
}

static void raise_nofile(long n)
{
	struct rlimit r = { n + 256, n + 256 };

	if (setrlimit(RLIMIT_NOFILE, &r))
		die("setrlimit(RLIMIT_NOFILE)");
}

#define LISTENER (1ULL << 32)

static int add_in(int ep, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag | (uint32_t)fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Accepts @n connections, reports on @report, echoes until SIGTERM. */
static void server(long n, int baseport, int nports, int report)
{
	sigset_t waiting = term_only_while_waiting();
	int ep = epoll_create1(0), i, k;
	struct epoll_event evs[256];
	long events = 0, accepted = 0;
	double cpu0 = 0, cpu;
	char buf[64];

	for (i = 0; i < nports; i++)
		if (ep < 0 || add_in(ep, tcp_listen("127.0.0.1", baseport + i, 4096), LISTENER))
			die("server epoll");
	for (;;) {
		int got = epoll_pwait(ep, evs, 256, -1, &waiting);

		if (got < 0 && errno == EINTR)
			break;
		for (k = 0; k < got; k++) {
			int fd = (uint32_t)evs[k].data.u64;
			ssize_t r;

			if (evs[k].data.u64 & LISTENER) {
				int c = accept(fd, NULL, NULL);

				if (c < 0 || add_in(ep, c, 0))
					continue;
				if (++accepted == n) {
					cpu0 = cpu_s();
					if (write(report, &accepted, sizeof(accepted)) < 0)
						die("report");
				}
				continue;
			}
			r = read(fd, buf, sizeof(buf));
			if (r > 0 && write(fd, buf, r) != r)
				die("echo");
			events++;
		}
	}
	cpu = cpu_s() - cpu0;
	if (write(report, &cpu, sizeof(cpu)) < 0 || write(report, &events, sizeof(events)) < 0)
		die("report");
	_exit(0);
}

int main(int argc, char **argv)
{
	long n, active, events, i, rounds = 0, ready;
	int baseport, nports, p[2], *fds, ep, k;
	double seconds, cpu, start, end;
	long mem0, mem1;
	pid_t pid;

	if (argc != 5) {
		fprintf(stderr, "usage: idleconns N ACTIVE SECONDS BASEPORT\n");
		return 2;
	}
	n = atol(argv[1]);
	active = atol(argv[2]);
	seconds = atof(argv[3]);
	baseport = atoi(argv[4]);
	nports = (n + CONNS_PER_PORT - 1) / CONNS_PER_PORT;
	raise_nofile(n + nports);
	fds = calloc(n, sizeof(*fds));
	if (!fds || pipe(p) || active > n)
		die("setup");
	mem0 = mem_used_kb();
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		server(n, baseport, nports, p[1]);
	}
	close(p[1]);
	usleep(200000);
	for (i = 0; i < n; i++) {
		fds[i] = tcp_connect("127.0.0.1", baseport + i % nports);
		if (fds[i] < 0)
			die("connect");
	}
	if (read(p[0], &ready, sizeof(ready)) != sizeof(ready))
		die("server");
	usleep(200000);
	mem1 = mem_used_kb();

	ep = epoll_create1(0);
	for (i = 0; i < active; i++)
		if (add_in(ep, fds[i * (n / active)], 0))
			die("client epoll");
	start = now_s();
	end = start + seconds;
	while (now_s() < end) {
		struct epoll_event evs[256];
		long pending = active;
		char c = 'x';

		for (i = 0; i < active; i++)
			if (write(fds[i * (n / active)], &c, 1) != 1)
				die("ping");
		while (pending > 0) {
			int got = epoll_wait(ep, evs, 256, 5000);

			if (got <= 0)
				die("pong timeout");
			for (k = 0; k < got; k++)
				if (read((uint32_t)evs[k].data.u64, &c, 1) == 1)
					pending--;
		}
		rounds++;
	}
	kill(pid, SIGTERM);
	if (read(p[0], &cpu, sizeof(cpu)) != sizeof(cpu) ||
	    read(p[0], &events, sizeof(events)) != sizeof(events))
		die("server stats");
	waitpid(pid, NULL, 0);
	printf("connections %ld\nmem_per_conn_bytes %.0f\nrounds_per_s %.0f\n"
	       "server_cpu_ns_per_event %.0f\n", n, (mem1 - mem0) * 1024.0 / n,
	       rounds / (now_s() - start), events ? cpu / events * 1e9 : 0.0);
	return 0;
}
