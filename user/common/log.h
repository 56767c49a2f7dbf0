/* SPDX-License-Identifier: GPL-2.0 */
/* Levelled logging to stderr for libvelo and veloctl (VELO_LOG=level). */
#ifndef VELO_COMMON_LOG_H
#define VELO_COMMON_LOG_H

enum velo_log_level {
	VELO_LOG_ERROR,
	VELO_LOG_WARN,
	VELO_LOG_INFO,
	VELO_LOG_DEBUG,
};

/* Reads VELO_LOG (error|warn|info|debug or 0..3); unknown values warn. */
void velo_log_init(void);
void velo_log(enum velo_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define velo_err(...) velo_log(VELO_LOG_ERROR, __VA_ARGS__)
#define velo_warn(...) velo_log(VELO_LOG_WARN, __VA_ARGS__)
#define velo_info(...) velo_log(VELO_LOG_INFO, __VA_ARGS__)
#define velo_dbg(...) velo_log(VELO_LOG_DEBUG, __VA_ARGS__)

#endif /* VELO_COMMON_LOG_H */
