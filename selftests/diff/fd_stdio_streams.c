// SPDX-License-Identifier: GPL-2.0
/*
 * stdio streams on connected TCP sockets (fdopen): lines written with
 * fprintf and read with fgets, mixed with send() and recv() on the same
 * socket in order; fileno() is the socket's fd; ftell fails with ESPIPE;
 * fread of an exact size; what a child leaves in its stream's buffer is
 * written at its exit; fclose closes the socket (the peer reads EOF); bad
 * modes fail as glibc's. glibc reads and writes a FILE with its internal
 * read() and write(): under libvelo they once missed the rings.
 */
#include "diff.h"

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
	char b[16];
	pid_t pid;
	size_t n;

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
