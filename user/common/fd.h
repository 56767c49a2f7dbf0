/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvelo's private fds: the eventfds, AF_XDP, netlink and BPF fds and port
 * reservations it keeps for itself. They live at the top of the fd space
 * (a span under RLIMIT_NOFILE's soft limit) instead of at the lowest free
 * numbers, so the application's own fds get the numbers they get without
 * libvelo; and the application cannot close them or dup2() over them by
 * accident (a program that closes every fd, or dup2()s onto fixed high
 * numbers, would otherwise cut a stack's wires).
 */
#ifndef VELO_COMMON_FD_H
#define VELO_COMMON_FD_H

#include <stdbool.h>

/*
 * Moves new fd @fd into the private span and marks it private; returns the
 * fd to use from now on (@fd itself if it could not move, -1 if @fd < 0).
 * With @slot, the number is also stored there, and an application dup2()
 * onto it later moves the fd again and updates *@slot; without one, such a
 * dup2() fails with EBUSY.
 */
int velo_fd_private(int fd, int *slot);
/* Private fd @fd's owner is now *@slot (NULL: none, dup2() onto it fails). */
void velo_fd_rehome(int fd, int *slot);
/* Closes private fd @fd (-1: nothing). */
void velo_fd_close(int fd);
/* @fd stops being private: a library that owns it closes it next. */
void velo_fd_forget(int fd);
bool velo_fd_is_private(int fd);
/* Before the application's dup2/dup3 onto @fd: 0 once it is free to take, -EBUSY. */
int velo_fd_make_room(int fd);
/*
 * Between begin and end, sockets this thread makes through socket() are
 * private, and it may close private fds with close(): for libraries that
 * make and close their own fds (libxdp, libmnl).
 */
void velo_fd_capture_begin(void);
void velo_fd_capture_end(void);
bool velo_fd_capturing(void);
/* Calls @fn for each private fd in [@first, @last], in order. */
void velo_fd_private_foreach(unsigned int first, unsigned int last, void (*fn)(int fd, void *arg),
			     void *arg);

#endif /* VELO_COMMON_FD_H */
