# velo.ko VM tests: all share velo_test.h; the netlink tests use veloctl's
# own generic netlink client (user/veloctl/genl.c) over libmnl, and
# veloctl_cli builds veloctl's main.c in.
VELOCTL_SRC := $(TOP)/user/veloctl/genl.c $(TOP)/user/veloctl/genl.h $(TOP)/user/veloctl/main.c \
	$(TOP)/user/veloctl/procs.c $(TOP)/user/veloctl/procs.h
$(filter $(OUT)/vm/%,$(TEST_GEN_PROGS)): vm/velo_test.h
$(OUT)/vm/netlink_sysfs $(OUT)/vm/fuzz $(OUT)/vm/veloctl_cli: $(VELOCTL_SRC)
$(OUT)/vm/netlink_sysfs $(OUT)/vm/fuzz $(OUT)/vm/veloctl_cli: LDLIBS += $(TOP)/user/veloctl/genl.c -lmnl
$(OUT)/vm/veloctl_cli: CFLAGS += -DVELO_VERSION='"vmtest"'
# after the archive on the command line: procs.c needs libvelo-core's statistics reader
$(OUT)/vm/veloctl_cli: LDLIBS += $(TOP)/user/veloctl/procs.c $(CORE)
