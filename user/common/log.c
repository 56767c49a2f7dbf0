// SPDX-License-Identifier: GPL-2.0
/*
 * Levelled logging. Writes go straight to fd 2 with one write() per line so
 * that lines from several threads or processes never interleave, and so that
 * logging never takes stdio's locks (libvelo logs from inside intercepted
 * calls, possibly in a signal handler's context).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"

static enum velo_log_level log_threshold = VELO_LOG_WARN;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void velo_log_init(void)
{
	const char *v = getenv("VELO_LOG");
	unsigned int i;

	if (!v || !*v)
		return;
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcasecmp(v, level_names[i]) || (v[0] == '0' + (int)i && !v[1])) {
			log_threshold = i;
			return;
		}
	}
	velo_warn("VELO_LOG=%s is not one of error, warn, info, debug, 0-3", v);
}

void velo_log(enum velo_log_level level, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (level > log_threshold)
		return;
	n = snprintf(line, sizeof(line), "velo[%d] %s: ", (int)getpid(), level_names[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return; /* nowhere left to report it */
}
