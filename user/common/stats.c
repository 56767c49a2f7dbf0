// SPDX-License-Identifier: GPL-2.0
/* libvelo statistics: writer set-up and the reader used by veloctl. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/stats.h"

static const char *const stat_names[] = {
#define X(e, n, d) n,
	VELO_STAT_LIST(X)
#undef X
};

static const char *const state_names[] = { "free", "kernel", "pending", "listen", "loopback", "wire" };

const char *velo_stat_name(enum velo_stat s)
{
	return s < VELO_STAT_MAX ? stat_names[s] : "?";
}

const char *velo_sock_state_name(uint32_t st)
{
	return st < sizeof(state_names) / sizeof(state_names[0]) ? state_names[st] : "?";
}

static void stats_path(char *buf, size_t len, pid_t pid)
{
	snprintf(buf, len, "/dev/shm/velo-stats.%d", (int)pid);
}

struct velo_stats *velo_stats_create(pid_t pid, const char *comm,
				     const struct velo_stats *copy_from)
{
	struct velo_stats *st;
	char path[64];
	int fd;

	stats_path(path, sizeof(path), pid);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, sizeof(*st)) < 0) {
		close(fd);
		unlink(path);
		return NULL;
	}
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (st == MAP_FAILED) {
		unlink(path);
		return NULL;
	}
	if (copy_from)
		memcpy(st->sock, copy_from->sock, sizeof(st->sock));
	st->version = VELO_STATS_VERSION;
	st->pid = pid;
	st->nslots = VELO_STATS_SLOTS;
	snprintf(st->comm, sizeof(st->comm), "%s", comm ? comm : "");
	atomic_thread_fence(memory_order_release);
	st->magic = VELO_STATS_MAGIC;
	return st;
}

void velo_stats_gc(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *de;
	int saved = errno;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(de->d_name, "velo-stats.", 11))
			continue;
		pid = strtol(de->d_name + 11, &end, 10);
		if (*end || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			velo_stats_remove((pid_t)pid);
	}
	closedir(d);
	errno = saved;
}

void velo_stats_remove(pid_t pid)
{
	char path[64];

	stats_path(path, sizeof(path), pid);
	unlink(path);
}

const struct velo_stats *velo_stats_map(pid_t pid)
{
	const struct velo_stats *st;
	struct stat sb;
	char path[64];
	int fd;

	stats_path(path, sizeof(path), pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0 || (size_t)sb.st_size < sizeof(*st)) {
		close(fd);
		errno = EPROTO;
		return NULL;
	}
	st = mmap(NULL, sizeof(*st), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (st == MAP_FAILED)
		return NULL;
	if (st->magic != VELO_STATS_MAGIC || st->version != VELO_STATS_VERSION) {
		munmap((void *)st, sizeof(*st));
		errno = EPROTO;
		return NULL;
	}
	return st;
}

void velo_stats_unmap(const struct velo_stats *st)
{
	if (st)
		munmap((void *)st, sizeof(*st));
}

static void json_str(FILE *out, const char *s, size_t max)
{
	size_t i;

	fputc('"', out);
	for (i = 0; i < max && s[i]; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

int velo_stats_print(pid_t pid, bool json, FILE *out)
{
	const struct velo_stats *st = velo_stats_map(pid);
	unsigned int i, n;
	bool first = true;

	if (!st)
		return -errno;
	n = st->nslots < VELO_STATS_SLOTS ? st->nslots : VELO_STATS_SLOTS;
	if (json) {
		fprintf(out, "{\"pid\":%d,\"comm\":", (int)st->pid);
		json_str(out, st->comm, sizeof(st->comm));
		fputs(",\"counters\":{", out);
		for (i = 0; i < VELO_STAT_MAX; i++)
			fprintf(out, "%s\"%s\":%llu", i ? "," : "", stat_names[i],
				(unsigned long long)atomic_load(&st->ctr[i]));
		fputs("},\"sockets\":[", out);
	} else {
		fprintf(out, "pid %d (%.*s)\n", (int)st->pid, (int)sizeof(st->comm), st->comm);
		for (i = 0; i < VELO_STAT_MAX; i++)
			fprintf(out, "  %-26s %llu\n", stat_names[i],
				(unsigned long long)atomic_load(&st->ctr[i]));
		fprintf(out, "  %-5s %-9s %-10s %-24s %-24s %12s %12s %12s %12s\n", "fd", "state",
			"inode", "local", "peer", "tx_ring", "rx_ring", "tx_kernel", "rx_kernel");
	}
	for (i = 0; i < n; i++) {
		const struct velo_stats_sock *s = &st->sock[i];
		uint32_t state = atomic_load(&s->state);
		char local[57], peer[57];

		if (state == VELO_SS_FREE)
			continue;
		memcpy(local, s->local, 56);
		local[56] = 0;
		memcpy(peer, s->peer, 56);
		peer[56] = 0;
		if (json) {
			fprintf(out, "%s{\"fd\":%d,\"state\":\"%s\",\"inode\":%llu,\"local\":",
				first ? "" : ",", s->fd, velo_sock_state_name(state),
				(unsigned long long)s->ino);
			json_str(out, local, 56);
			fputs(",\"peer\":", out);
			json_str(out, peer, 56);
			fprintf(out, ",\"tx_ring\":%llu,\"rx_ring\":%llu,\"tx_kernel\":%llu,\"rx_kernel\":%llu}",
				(unsigned long long)s->tx_ring, (unsigned long long)s->rx_ring,
				(unsigned long long)s->tx_kernel, (unsigned long long)s->rx_kernel);
		} else {
			fprintf(out, "  %-5d %-9s %-10llu %-24s %-24s %12llu %12llu %12llu %12llu\n",
				s->fd, velo_sock_state_name(state), (unsigned long long)s->ino,
				local, peer, (unsigned long long)s->tx_ring,
				(unsigned long long)s->rx_ring, (unsigned long long)s->tx_kernel,
				(unsigned long long)s->rx_kernel);
		}
		first = false;
	}
	if (json)
		fputs("]}\n", out);
	velo_stats_unmap(st);
	return 0;
}
