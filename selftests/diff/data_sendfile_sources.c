// SPDX-License-Identifier: GPL-2.0
/*
 * sendfile() to a connected socket from what the kernel takes and refuses
 * as its input: a regular file with and without an offset (past EOF, -1,
 * the file position moved), a pipe (EINVAL, or ESPIPE with an offset),
 * another socket (EINVAL), a file opened write-only (EBADF), a bad fd or
 * offset pointer; an O_APPEND socket (EINVAL); and splice() between two
 * sockets, or a socket and a file (EINVAL: no pipe). Under libvelo a
 * sendfile() from a socket or a pipe, and a splice() between sockets, read
 * the input as a file would: the reads of an empty socket hung.
 */
#include <sys/sendfile.h>

#include "diff.h"

static void show_read(int s)
{
	char b[256];
	ssize_t r;

	NEED(poll1(s, POLLIN, 2000) >= 0);
	r = read(s, b, sizeof(b));
	say("read %zd \"%.*s\"", r, r > 0 ? (int)r : 0, b);
}

static void *opaque(void *p)
{
	__asm__("" : "+r"(p));
	return p;
}

int main(void)
{
	char path[64];
	int c, s, f, wo, p[2], fl;
	FILE *t = tmpfile();
	off_t off;

	NEED(t && fputs("0123456789abcdefghijklmnopqrstuvwxyz", t) >= 0 && fflush(t) == 0);
	f = fileno(t);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f);
	wo = open(path, O_WRONLY);
	NEED(wo >= 0 && pipe(p) == 0);
	tcp_pair(&c, &s);
	set_nonblock(s, 1);

	off = 0;
	SHOW(sendfile(c, f, &off, 0));
	off = 100;
	SHOW(sendfile(c, f, &off, 10));
	say("off %ld", (long)off);
	off = -1;
	SHOW(sendfile(c, f, &off, 10));
	off = 30;
	SHOW(sendfile(c, f, &off, 100));
	say("off %ld", (long)off);
	SHOW(lseek(f, 5, SEEK_SET));
	SHOW(sendfile(c, f, NULL, 3));
	SHOW(lseek(f, 0, SEEK_CUR));
	show_read(s);

	SHOW(write(p[1], "pipe", 4));
	SHOW(sendfile(c, p[0], NULL, 4));
	SHOW(sendfile(c, p[0], &off, 4));
	SHOW(sendfile(c, -1, NULL, 4));
	SHOW(sendfile(c, f, opaque((void *)8), 4));
	SHOW(sendfile(s, c, NULL, 4));
	SHOW(sendfile(c, wo, NULL, 4));
	fl = fcntl(c, F_GETFL);
	SHOW(fcntl(c, F_SETFL, fl | O_APPEND));
	SHOW(sendfile(c, f, NULL, 4));
	SHOW(fcntl(c, F_SETFL, fl));
	SHOW(sendfile(c, f, NULL, (size_t)1 << 40));
	show_read(s);

	SHOW(splice(p[0], NULL, c, NULL, 4, 0));
	show_read(s);
	SHOW(splice(c, NULL, s, NULL, 4, 0));
	SHOW(splice(s, NULL, wo, NULL, 4, 0));
	SHOW(splice(f, NULL, c, NULL, 4, 0));
	SHOW(write(c, "tail", 4));
	show_read(s);
	close(c);
	close(s);
	close(wo);
	return 0;
}
