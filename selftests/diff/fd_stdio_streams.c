// SPDX-License-Identifier: GPL-2.0
/*
 * stdio streams on connected TCP sockets (fdopen): lines written with
 * fprintf and read with fgets, mixed with send() and recv() on the same
 * socket in order; fileno() is the socket's fd; ftell fails with ESPIPE;
 * fread of an exact size; what a child leaves in its stream's buffer is
 * written at its exit; fclose closes the socket (the peer reads EOF); bad
 * modes fail as glibc's. dprintf() to a socket, and preadv2()/pwritev2()
 * at the current position (offset -1; RWF_NOWAIT; an offset: ESPIPE). glibc
 * reads and writes a FILE (and dprintf's) with its internal read() and
 * write(), and the *v2 calls are their own: under libvelo they once missed
 * the rings.
 */
#include "diff.h"
#include <sys/uio.h>

static void line(FILE *r, const char *what)
{
	char b[64];
	char *p = fgets(b, sizeof(b), r);

	say("%s: %s", what, p ? b : "NULL\n");
}

int main(void)
{
	int c, s, st, fd2;
	FILE *w, *r, *bad;
	struct iovec v;
	char b[16];
	pid_t pid;
	size_t n;
	ssize_t k;

	tcp_pair_fam(AF_INET, &c, &s);
	SHOW(send(c, "warm\n", 5, 0));
	NEED(wait_ev(s, POLLIN, 2000));
	SHOW(recv(s, b, 5, 0));
	w = fdopen(c, "w");
	r = fdopen(s, "r");
	NEED(w && r);
	say("fileno matches: %d %d", fileno(w) == c, fileno(r) == s);
	alarm(10);
	fprintf(w, "one %d\n", 1);
	SHOW(fflush(w));
	SHOW(send(c, "two\n", 4, 0));
	fprintf(w, "three\n");
	SHOW(fflush(w));
	line(r, "fgets");
	line(r, "fgets");
	line(r, "fgets");
	fputs("exactly-16-bytes", w);
	SHOW(fflush(w));
	n = fread(b, 1, sizeof(b), r);
	say("fread: %zu %.*s", n, (int)n, b);
	errno = 0;
	SHOW(ftell(r));
	say("errno %s", errname(errno));

	/* a child's buffered line is written when it exits */
	pid = fork();
	if (pid == 0) {
		fprintf(w, "from the child\n");
		exit(0);
	}
	NEED(waitpid(pid, &st, 0) == pid);
	line(r, "after the child's exit");

	SHOW(dprintf(c, "dprintf %d\n", 7));
	line(r, "fgets");
	v = (struct iovec){ .iov_base = "v2-", .iov_len = 3 };
	k = pwritev2(c, &v, 1, -1, 0);
	say("pwritev2 at -1: %zd", k);
	k = pwritev2(c, &v, 1, 0, 0);
	say("pwritev2 at 0: %zd %s", k, k < 0 ? errname(errno) : "");
	NEED(wait_ev(s, POLLIN, 2000));
	msleep(50);
	v = (struct iovec){ .iov_base = b, .iov_len = sizeof(b) };
	k = preadv2(s, &v, 1, -1, 0);
	say("preadv2 at -1: %zd %.*s", k, k > 0 ? (int)k : 0, b);
	k = preadv2(s, &v, 1, -1, RWF_NOWAIT);
	say("preadv2 RWF_NOWAIT, nothing queued: %zd %s", k, k < 0 ? errname(errno) : "");
	k = preadv2(s, &v, 1, 3, 0);
	say("preadv2 at 3: %zd %s", k, k < 0 ? errname(errno) : "");

	fd2 = dup(s);
	bad = fdopen(fd2, "q");
	say("fdopen mode q: %s %s", bad ? "FILE" : "NULL", bad ? "" : errname(errno));
	bad = fdopen(999, "r");
	say("fdopen fd 999: %s %s", bad ? "FILE" : "NULL", bad ? "" : errname(errno));
	close(fd2);

	SHOW(fclose(w));
	line(r, "after the writer's fclose");
	say("feof %d", feof(r) != 0);
	SHOW(fclose(r));
	return 0;
}
