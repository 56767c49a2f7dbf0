# SPDX-License-Identifier: GPL-2.0
# AF_XDP backend tests (user/xdp): libvelo-core.a carries the backend and its
# embedded XDP program (build/velo_xdp.bpf.o, made by the top-level build).
XDP_TESTS := $(filter $(OUT)/host/xdp_%,$(TEST_GEN_PROGS))
$(XDP_TESTS): LDLIBS += -lxdp -lbpf
$(XDP_TESTS): $(wildcard host/xdp_*.h)
