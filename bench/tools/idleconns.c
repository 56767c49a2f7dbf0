// SPDX-License-Identifier: GPL-2.0
/*
 * Scale: N established loopback connections, ACTIVE of them busy.
 *   idleconns N ACTIVE SECONDS BASEPORT
 * A forked server accepts the connections (spread over ports BASEPORT..
 * so that the ephemeral range suffices) into one epoll set and echoes; the
 * client then ping-pongs one byte on ACTIVE connections at once, round
 * after round. Prints the system memory per connection (MemTotal -
 * MemAvailable delta: kernel and user memory alike, approximate), the
 * echoes per second and the server's CPU time (user + system) per echoed
 * event: the epoll_wait, read and write it costs with its connections
 * registered.
 *
 * One process can hold only as many connections as its open-file limit,
 * and raising the hard limit needs CAP_SYS_RESOURCE. When N does not fit,
 * the connections are split into "groups" (a client and its server each),
 * as few as the limit allows; the first group holds the ACTIVE ones, the
 * others stay idle. The output then says "groups G" and "epoll_set S"
 * (the active server's set), and the memory is that of all N.
 */
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "tool.h"

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

/*
 * The client keeps at most this many connections beyond those the server
 * accepted: a full accept queue (somaxconn, 4096 by default) drops SYNs,
 * and each dropped one costs its connect a second.
 */
#define AHEAD 1024

/* Accepts @n connections (counted in *@accepted), reports on @report, echoes until SIGTERM. */
static void server(long n, int baseport, int nports, volatile long *accepted, int report)
{
	sigset_t waiting = term_only_while_waiting();
	int ep = epoll_create1(0), i, k;
	struct epoll_event evs[256];
	long events = 0;
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
				if (++*accepted == n) {
					cpu0 = cpu_s();
					if (write(report, &n, sizeof(n)) < 0)
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
	exit(0); /* through libc: libvelo marks its ends closed and the channel files go */
}

struct group_result {
	double cpu;	/* the server's, from all accepted to SIGTERM */
	long events;	/* echoes by the server */
};

/*
 * One group: a forked server and @n client connections to it, @active of
 * them ping-ponged for @seconds once @go is readable (closed); an idle
 * group (@active 0) holds its connections until @stop is. Says "connected"
 * on @report, then its result.
 */
static void group(long n, long active, double seconds, int baseport, int go, int stop, int report)
{
	int nports = (n + CONNS_PER_PORT - 1) / CONNS_PER_PORT, p[2], *fds, ep, k;
	struct group_result res;
	long i, ready;
	double end;
	char c;
	pid_t pid;

	volatile long *accepted = mmap(NULL, sizeof(*accepted), PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	fds = calloc(n, sizeof(*fds));
	if (!fds || pipe(p) || accepted == MAP_FAILED)
		die("setup");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(p[0]);
		server(n, baseport, nports, accepted, p[1]);
	}
	close(p[1]);
	usleep(200000);
	for (i = 0; i < n; i++) {
		while (i - *accepted > AHEAD)
			usleep(100);
		fds[i] = tcp_connect("127.0.0.1", baseport + i % nports);
		if (fds[i] < 0)
			die("connect");
	}
	if (read(p[0], &ready, sizeof(ready)) != sizeof(ready) || write(report, &ready, sizeof(ready)) < 0)
		die("server");
	if (read(go, &c, 1) < 0)
		die("go");

	ep = epoll_create1(0);
	for (i = 0; i < active; i++)
		if (add_in(ep, fds[i * (n / active)], 0))
			die("client epoll");
	end = now_s() + seconds;
	while (active && now_s() < end) {
		struct epoll_event evs[256];
		long pending = active;

		c = 'x';
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
	}
	if (!active && read(stop, &c, 1) < 0)
		die("stop");
	kill(pid, SIGTERM);
	if (read(p[0], &res.cpu, sizeof(res.cpu)) != sizeof(res.cpu) ||
	    read(p[0], &res.events, sizeof(res.events)) != sizeof(res.events))
		die("server stats");
	waitpid(pid, NULL, 0);
	if (write(report, &res, sizeof(res)) != sizeof(res))
		die("report");
	exit(0);
}

int main(int argc, char **argv)
{
	long n, active, per, groups, g, ready, first_n = 0;
	int baseport, go[2], stop[2], rep[2];
	struct group_result res, idle = { 0, 0 };
	double seconds, start, elapsed;
	long mem0, mem1;

	if (argc != 5) {
		fprintf(stderr, "usage: idleconns N ACTIVE SECONDS BASEPORT\n");
		return 2;
	}
	n = atol(argv[1]);
	active = atol(argv[2]);
	seconds = atof(argv[3]);
	baseport = atoi(argv[4]);
	/* room for the listeners, the epoll set, pipes and libvelo's own */
	per = nofile_up_to(n + 256) - 256;
	groups = (n + per - 1) / per;
	if (active > n / groups || pipe(go) || pipe(stop) || pipe(rep))
		die("setup");
	mem0 = mem_used_kb();
	for (g = 0; g < groups; g++) {
		long gn = n / groups + (g < n % groups);

		if (g == 0)
			first_n = gn;
		if (fork() == 0) {
			close(go[1]);
			close(stop[1]);
			close(rep[0]);
			group(gn, g == 0 ? active : 0, seconds, baseport, go[0], stop[0], rep[1]);
		}
		baseport += (gn + CONNS_PER_PORT - 1) / CONNS_PER_PORT;
	}
	close(go[0]);
	close(stop[0]);
	close(rep[1]);
	for (g = 0; g < groups; g++)
		if (read(rep[0], &ready, sizeof(ready)) != sizeof(ready))
			die("a group did not connect");
	usleep(200000);
	mem1 = mem_used_kb();
	start = now_s();
	close(go[1]);	/* go */
	/* the active group's result comes first: the idle ones wait for stop */
	if (read(rep[0], &res, sizeof(res)) != sizeof(res))
		die("the active group did not finish");
	elapsed = now_s() - start;
	close(stop[1]);
	for (g = 1; g < groups; g++) {
		struct group_result r;

		if (read(rep[0], &r, sizeof(r)) != sizeof(r))
			die("an idle group did not finish");
		idle.cpu += r.cpu;
	}
	while (wait(NULL) > 0)
		;
	printf("connections %ld\ngroups %ld\nepoll_set %ld\nmem_per_conn_bytes %.0f\n"
	       "echoes_per_s %.0f\nserver_cpu_ns_per_event %.0f\nidle_servers_cpu_s %.3f\n",
	       n, groups, first_n, (mem1 - mem0) * 1024.0 / n, res.events / elapsed,
	       res.events ? res.cpu / res.events * 1e9 : 0.0, idle.cpu);
	return 0;
}
