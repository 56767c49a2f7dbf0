# velo.ko VM tests: all share velo_test.h; the netlink tests use veloctl's
# own generic netlink client (user/veloctl/genl.c) over libmnl.
$(filter $(OUT)/vm/%,$(TEST_GEN_PROGS)): vm/velo_test.h
$(OUT)/vm/netlink_sysfs $(OUT)/vm/fuzz: $(TOP)/user/veloctl/genl.c $(TOP)/user/veloctl/genl.h
$(OUT)/vm/netlink_sysfs $(OUT)/vm/fuzz: LDLIBS += $(TOP)/user/veloctl/genl.c -lmnl
