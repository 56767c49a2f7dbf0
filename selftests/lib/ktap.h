/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny KTAP producer for velo's C selftests.
 *
 * A test program is a table of cases; each case runs in a forked child so
 * that a crash, an abort or a hang (alarm) in one case is reported as that
 * case's failure instead of taking the whole program down. A case returns
 * KTAP_PASS, KTAP_FAIL or KTAP_SKIP. The program exits 0 when nothing
 * failed, 4 (kselftest "skip") when every case skipped, 1 otherwise.
 */
#ifndef VELO_KTAP_H
#define VELO_KTAP_H

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { KTAP_PASS = 0, KTAP_FAIL = 1, KTAP_SKIP = 4 };

struct ktap_case {
	const char *name;
	int (*run)(void);
	unsigned int timeout_s; /* 0: KTAP_DEFAULT_TIMEOUT_S */
};

#define KTAP_DEFAULT_TIMEOUT_S 60

/* Diagnostic line, part of the KTAP stream. */
static inline void ktap_diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void ktap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* Fail the current case with a message naming the failed condition. */
#define KTAP_EXPECT(cond)                                                  \
	do {                                                               \
		if (!(cond)) {                                             \
			ktap_diag("%s:%d: expected %s", __FILE__, __LINE__, \
				  #cond);                                  \
			return KTAP_FAIL;                                  \
		}                                                          \
	} while (0)

static inline int ktap_run_case(const struct ktap_case *c)
{
	unsigned int timeout = c->timeout_s ? c->timeout_s : KTAP_DEFAULT_TIMEOUT_S;
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return KTAP_FAIL;
	if (pid == 0) {
		alarm(timeout);
		exit(c->run());
	}
	if (waitpid(pid, &status, 0) < 0)
		return KTAP_FAIL;
	if (WIFSIGNALED(status)) {
		ktap_diag("%s: killed by signal %d%s", c->name, WTERMSIG(status),
			  WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
		return KTAP_FAIL;
	}
	return WEXITSTATUS(status);
}

/* KTAP_ONLY=text runs only the cases whose names contain it (the others skip). */
static inline int ktap_run(const struct ktap_case *cases, size_t n)
{
	const char *only = getenv("KTAP_ONLY");
	size_t i, failed = 0, skipped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n1..%zu\n", n);
	for (i = 0; i < n; i++) {
		int r = only && !strstr(cases[i].name, only) ? KTAP_SKIP : ktap_run_case(&cases[i]);

		if (r == KTAP_SKIP) {
			skipped++;
			printf("ok %zu %s # SKIP\n", i + 1, cases[i].name);
		} else if (r == KTAP_PASS) {
			printf("ok %zu %s\n", i + 1, cases[i].name);
		} else {
			failed++;
			printf("not ok %zu %s\n", i + 1, cases[i].name);
		}
	}
	if (failed)
		return 1;
	return skipped == n ? 4 : 0;
}

#define KTAP_MAIN(cases)                                                \
	int main(void)                                                  \
	{                                                               \
		return ktap_run(cases, sizeof(cases) / sizeof(cases[0])); \
	}

#endif /* VELO_KTAP_H */
