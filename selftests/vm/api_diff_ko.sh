#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The differential socket-API suite across network namespaces on velo.ko's
# soft provider: selftests/host/api_diff_wire.sh (copied into the guest),
# whose wire stacks are velo.ko's here. A subset (TCG runs each program
# several times slower than the host): connects, listeners of each
# family (dual-stack too), data, shutdown, errors,
# signals, fork/exec/SCM_RIGHTS handoffs, options, readiness, exit.
here=$(cd "$(dirname "$0")" && pwd)
export VELO_TOP=$here/../.. VELO_BUILD=/usr/lib VELO_DIFF_DIR=$here/../diff
# the wire path's known differences, and those seen only on velo.ko in the VM
cat "$here/../diff/KNOWN_FAILING_WIRE" "$here/../diff/KNOWN_FAILING_KO" >/tmp/known-failing-ko
export VELO_DIFF_KNOWN=/tmp/known-failing-ko
export VELO_DIFF_ONLY='^(conn_listener_families|connect_nonblocking|data_half_close|data_oob|err_econnreset|err_epipe_sigpipe|fd_numbers|fd_fork_shared|fd_scm_rights|fd_exec_inherit|opt_roundtrip|readiness_states|sig_eintr_restart|timewait_bind|close_exit_delivers)$'
exec bash "$here/../host/api_diff_wire.sh"
