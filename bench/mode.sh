# SPDX-License-Identifier: GPL-2.0
# Sourced by bench/run (and by its servers' shells): in_mode MODE CMD...
# runs the command as a kernel application or under libvelo ($libvelo).
in_mode() {
	local mode=$1
	shift
	if [ "$mode" = velo ]; then
		env LD_PRELOAD="$libvelo" "$@"
		return
	fi
	env -u LD_PRELOAD "$@"
}
