// SPDX-License-Identifier: GPL-2.0
/*
 * exec and epoll sets: an exec that fails leaves the process's epoll sets
 * working (a member that gets data is reported, once read it is not); an
 * exec that succeeds leaves nothing of the old image's sets behind. Under
 * libvelo a set may have a watch area in shared memory
 * (/dev/shm/velo-<uid>/ep-*, the creator's pid after the 8-byte id): the
 * new image, same pid, counts those still naming it (on the kernel there
 * are none either).
 */
#include "diff.h"
#include <dirent.h>

static int areas_of_this_pid(void)
{
	char dir[64], path[352];
	struct dirent *d;
	int n = 0;
	DIR *dp;

	snprintf(dir, sizeof(dir), "/dev/shm/velo-%u", (unsigned int)geteuid());
	dp = opendir(dir);
	if (!dp)
		return 0;
	while ((d = readdir(dp))) {
		uint32_t pid = 0;
		int fd;

		if (strncmp(d->d_name, "ep-", 3))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (pread(fd, &pid, sizeof(pid), 8) == sizeof(pid) && pid == (uint32_t)getpid())
			n++;
		close(fd);
	}
	closedir(dp);
	return n;
}

static const char *ready(int ep, int timeout)
{
	struct epoll_event ev;
	int n = epoll_wait(ep, &ev, 1, timeout);

	if (n < 0)
		return errname(errno);
	return n ? (ev.data.u32 == 7 && (ev.events & EPOLLIN) ? "member 7 IN" : "other") : "-";
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 7 };
	char *bad[] = { "/nonexistent/velo-exec", NULL };
	int c, s, ep;
	char b[8];

	if (argc > 1 && !strcmp(argv[1], "after-exec")) {
		say("new image: watch areas naming this pid: %d", areas_of_this_pid());
		return 0;
	}
	tcp_pair(&c, &s);
	ep = epoll_create1(0);
	NEED(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0);
	say("idle: %s", ready(ep, 0));
	NEED(send(c, "a", 1, 0) == 1);
	say("data: %s", ready(ep, 2000));
	NEED(recv(s, b, sizeof(b), 0) == 1);

	SHOWL("execv of a missing file", execv(bad[0], bad));
	say("after the failed exec, idle: %s", ready(ep, 0));
	NEED(send(c, "b", 1, 0) == 1);
	say("after the failed exec, data: %s", ready(ep, 2000));
	NEED(recv(s, b, sizeof(b), 0) == 1);
	say("after the failed exec, read: %s", ready(ep, 0));
	NEED(send(c, "c", 1, 0) == 1);
	NEED(recv(s, b, sizeof(b), 0) == 1);
	say("after the failed exec, sent and read: %s", ready(ep, 0));

	{
		char *args[] = { argv[0], "after-exec", NULL };

		execv("/proc/self/exe", args);
	}
	say("exec: %s", errname(errno));
	return 1;
}
