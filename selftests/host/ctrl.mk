$(OUT)/host/ctrl_rtnl: LDLIBS += -lmnl
