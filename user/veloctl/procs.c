// SPDX-License-Identifier: GPL-2.0
/*
 * veloctl sockets / top: libvelo's per-process statistics, read live from
 * the shared memory each process under libvelo keeps up to date
 * (/dev/shm/velo-stats.<pid>, see common/stats.h), like onload_stackdump
 * or xlio_stats. Reading takes no lock and changes nothing in the process.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/stats.h"
#include "veloctl/procs.h"

#define STATS_PREFIX "velo-stats."
#define MAX_PROCS 1024

static int pid_cmp(const void *a, const void *b)
{
	return *(const pid_t *)a - *(const pid_t *)b;
}

/*
 * Whether @pid is still the process that wrote its statistics: a process
 * killed before its clean-up leaves the file behind, and its pid may since
 * have gone to another program.
 */
static bool is_writer(pid_t pid)
{
	const struct velo_stats *st;
	char path[64], comm[32] = "";
	bool same;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	st = velo_stats_map(pid);
	if (!st)
		return false;
	same = !strncmp(st->comm, comm, 15);	/* the kernel keeps 15 characters */
	velo_stats_unmap(st);
	return same;
}

/* Live processes publishing statistics. */
static int live_pids(pid_t *pids, int max)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		pid_t pid;

		if (strncmp(e->d_name, STATS_PREFIX, strlen(STATS_PREFIX)))
			continue;
		pid = atoi(e->d_name + strlen(STATS_PREFIX));
		if (pid > 0 && is_writer(pid))
			pids[n++] = pid;
	}
	closedir(d);
	qsort(pids, n, sizeof(*pids), pid_cmp);
	return n;
}

/*
 * The PID argument if there is one, else every live process. Options with
 * a value (-d S, -n N) are skipped with it.
 */
static int select_pids(int argc, char **argv, pid_t *pids, int max)
{
	int i;

	for (i = 2; i < argc; i++) {
		char *end;
		long pid = strtol(argv[i], &end, 10);

		if (argv[i][0] == '-') {
			i += argv[i][1] == 'd' || argv[i][1] == 'n';
			continue;
		}
		if (!*end && pid > 0) {
			pids[0] = pid;
			return 1;
		}
	}
	return live_pids(pids, max);
}

int veloctl_sockets(int argc, char **argv, bool json)
{
	static pid_t pids[MAX_PROCS];
	int n = select_pids(argc, argv, pids, MAX_PROCS), i, shown = 0;

	if (json)
		fputs("[", stdout);
	for (i = 0; i < n; i++) {
		if (json && shown)
			fputs(",", stdout);
		if (velo_stats_print(pids[i], json, stdout) == 0)
			shown++;
		else if (n == 1)
			velo_err("process %d: no velo statistics: %s", (int)pids[i], strerror(errno));
	}
	if (json)
		fputs("]\n", stdout);
	else if (!shown && n != 1)
		puts("no process runs under libvelo");
	return n == 1 && !shown ? 1 : 0;
}

/* One process's counters at one moment, for rates between two moments. */
struct sample {
	pid_t pid;
	uint64_t ctr[VELO_STAT_MAX];
};

static const struct sample *previous(const struct sample *prev, int nprev, pid_t pid)
{
	int i;

	for (i = 0; i < nprev; i++)
		if (prev[i].pid == pid)
			return &prev[i];
	return NULL;
}

static void count_sockets(const struct velo_stats *st, unsigned int *open, unsigned int *loop)
{
	unsigned int i, n = st->nslots < VELO_STATS_SLOTS ? st->nslots : VELO_STATS_SLOTS;

	*open = *loop = 0;
	for (i = 0; i < n; i++) {
		uint32_t state = atomic_load(&st->sock[i].state);

		*open += state != VELO_SS_FREE;
		*loop += state == VELO_SS_LOOP;
	}
}

static double rate(const struct sample *now, const struct sample *then, enum velo_stat s,
		   double seconds)
{
	return then ? (now->ctr[s] - then->ctr[s]) / seconds : 0.0;
}

/* The frame backends of the process's wire stacks: "ko", "xdp", both, or "-". */
static const char *wire_backends(const struct sample *now)
{
	static const char *const names[] = { "-", "ko", "xdp", "ko+xdp" };

	bool ko = now->ctr[VELO_STAT_WIRE_STACKS_KO], xdp = now->ctr[VELO_STAT_WIRE_STACKS_XDP];

	return names[ko + 2 * xdp];
}

static void top_row(const struct velo_stats *st, const struct sample *now,
		    const struct sample *then, double seconds)
{
	unsigned int open, loop;

	count_sockets(st, &open, &loop);
	printf("%7d %-15.15s %7u %7u %11.0f %11.0f %11.0f %11.0f %9.0f %9.0f %7llu %-6s\n",
	       (int)st->pid, st->comm, open, loop,
	       rate(now, then, VELO_STAT_TX_RING_BYTES, seconds),
	       rate(now, then, VELO_STAT_RX_RING_BYTES, seconds),
	       rate(now, then, VELO_STAT_TX_KERNEL_BYTES, seconds),
	       rate(now, then, VELO_STAT_RX_KERNEL_BYTES, seconds),
	       rate(now, then, VELO_STAT_DOORBELLS, seconds),
	       rate(now, then, VELO_STAT_SLEEPS, seconds),
	       (unsigned long long)(now->ctr[VELO_STAT_EPOLL_STALE_CLOSED] +
				    now->ctr[VELO_STAT_EPOLL_STALE_REOPEN_SAME] +
				    now->ctr[VELO_STAT_EPOLL_STALE_REOPEN_OTHER]),
	       wire_backends(now));
}

/* One screen; returns how many samples it leaves in @now. */
static int top_screen(int argc, char **argv, const struct sample *prev, int nprev,
		      struct sample *now, double seconds)
{
	static pid_t pids[MAX_PROCS];
	int n = select_pids(argc, argv, pids, MAX_PROCS), i, k = 0;

	if (isatty(STDOUT_FILENO))
		fputs("\033[H\033[2J", stdout);
	printf("%7s %-15s %7s %7s %11s %11s %11s %11s %9s %9s %7s %-6s\n", "PID", "COMMAND",
	       "SOCKETS", "LOOP", "TX_SHM B/s", "RX_SHM B/s", "TX_KRN B/s", "RX_KRN B/s",
	       "BELLS/s", "SLEEPS/s", "STALE", "WIRE");
	for (i = 0; i < n; i++) {
		const struct velo_stats *st = velo_stats_map(pids[i]);
		int s;

		if (!st)
			continue;
		now[k].pid = pids[i];
		for (s = 0; s < VELO_STAT_MAX; s++)
			now[k].ctr[s] = atomic_load(&st->ctr[s]);
		top_row(st, &now[k], previous(prev, nprev, pids[i]), seconds);
		velo_stats_unmap(st);
		k++;
	}
	if (!k)
		puts("(no process runs under libvelo)");
	fflush(stdout);
	return k;
}

int veloctl_top(int argc, char **argv)
{
	static struct sample a[MAX_PROCS], b[MAX_PROCS];
	struct sample *prev = a, *now = b, *t;
	double delay = 1.0;
	long iterations = -1;
	int i, nprev = 0;

	for (i = 2; i < argc - 1; i++) {
		if (!strcmp(argv[i], "-d"))
			delay = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "-n"))
			iterations = atol(argv[i + 1]);
	}
	if (delay <= 0) {
		velo_err("top: -d takes a positive number of seconds");
		return 2;
	}
	while (iterations < 0 || iterations-- > 0) {
		struct timespec ts = { (time_t)delay, (long)((delay - (time_t)delay) * 1e9) };

		nprev = top_screen(argc, argv, prev, nprev, now, delay);
		t = prev;
		prev = now;
		now = t;
		if (iterations != 0)
			nanosleep(&ts, NULL);
	}
	return 0;
}
