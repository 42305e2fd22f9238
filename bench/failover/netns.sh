#!/bin/bash
# bench:failover in a network namespace of its own, with that namespace's listen-queue cap:
#   unshare -n bench/failover/netns.sh <somaxconn> [bench/failover.ts arguments…]
# Everything the bench starts (coordinator, masters, simulated agents) is inside, so the
# storm line's listen-queue overflows and SYN retransmissions are this run's alone, and
# net.core.somaxconn can be raised without touching the host's. Needs root.
set -euo pipefail
somaxconn=$1
shift
ip link set lo up
echo "$somaxconn" > /proc/sys/net/core/somaxconn
echo "network namespace: net.core.somaxconn $(cat /proc/sys/net/core/somaxconn)"
ulimit -n 20000
cd "$(dirname "$0")/../.."
exec node --import tsx bench/failover.ts "$@"
