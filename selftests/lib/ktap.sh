# SPDX-License-Identifier: GPL-2.0
# Sourced by test scripts: KTAP case lines. report OK|FAIL|SKIP NAME [REASON]
# numbers the cases in $n and sets fail=1 on a failure.
n=0 fail=0
report() {
	n=$((n + 1))
	case $1 in
	OK) echo "ok $n $2" ;;
	SKIP) echo "ok $n $2 # SKIP $3" ;;
	*) echo "not ok $n $2${3:+ # $3}"; fail=1 ;;
	esac
}
