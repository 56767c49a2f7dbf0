# Per-test link flags for host tests: one line per test, e.g.
#   $(OUT)/host/foo: LDLIBS += -lmnl
