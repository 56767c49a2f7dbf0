// SPDX-License-Identifier: GPL-2.0
/*
 * What an accelerated socket fd looks like to the rest of the system and
 * that none leak: fstat reports S_ISSOCK (fresh, listening, connected and
 * accepted sockets, and dups, which share the inode while different
 * sockets do not); /proc/self/fd/N links to "socket:[inode]"; isatty is
 * ENOTTY; F_GETPIPE_SZ is EBADF. Then 3000 connections are opened, used
 * and closed: afterwards the next socket() gets the same fd number as
 * before and the number of open fds is unchanged.
 */
#include "diff.h"
#include <dirent.h>
#include <sys/stat.h>

static void ident(const char *what, int fd)
{
	struct stat st;
	char path[64], link[128];
	ssize_t n;
	unsigned long ino = 0;
	int tty, tty_err;

	errno = 0;
	tty = isatty(fd);
	tty_err = errno;
	NEED(fstat(fd, &st) == 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	sscanf(link, "socket:[%lu]", &ino);
	say("%s: S_ISSOCK %d, link is socket:[ino] with ino == st_ino: %s, isatty %d (%s)", what,
	    S_ISSOCK(st.st_mode), YN(ino && ino == (unsigned long)st.st_ino), tty,
	    errname(tty_err));
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	NEED(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

int main(void)
{
	int fd, l, c, s, d, i, before_fd, before_n;
	uint16_t port;
	struct stat a, b;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ident("fresh", fd);
	SHOW(fcntl(fd, F_GETPIPE_SZ));
	close(fd);
	l = tcp_listener(&port);
	ident("listener", l);
	c = tcp_connect(port);
	s = accept(l, NULL, NULL);
	NEED(c >= 0 && s >= 0);
	ident("connected", c);
	ident("accepted", s);
	d = dup(c);
	ident("dup of connected", d);
	NEED(fstat(c, &a) == 0 && fstat(d, &b) == 0);
	say("dup shares the inode: %s", YN(a.st_ino == b.st_ino && a.st_dev == b.st_dev));
	NEED(fstat(s, &b) == 0);
	say("the two ends have different inodes: %s", YN(a.st_ino != b.st_ino));
	close(d);
	close(c);
	close(s);

	/* churn: no fd leaks */
	{
		int probe = socket(AF_INET, SOCK_STREAM, 0);

		before_fd = probe;
		close(probe);
	}
	before_n = count_fds();
	for (i = 0; i < 3000; i++) {
		char x;

		c = tcp_connect(port);
		NEED(c >= 0);
		s = accept(l, NULL, NULL);
		NEED(s >= 0);
		NEED(send(c, "x", 1, 0) == 1 && recv(s, &x, 1, 0) == 1);
		if (i & 1) {
			close(c);
			close(s);
		} else {
			close(s);
			close(c);
		}
	}
	{
		int probe = socket(AF_INET, SOCK_STREAM, 0);

		say("after 3000 connections: next socket gets the same fd number: %s",
		    YN(probe == before_fd));
		close(probe);
	}
	say("open fd count unchanged: %s", YN(count_fds() == before_n));
	close(l);
	return 0;
}
