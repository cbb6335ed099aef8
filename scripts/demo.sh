#!/bin/bash
# SPDX-License-Identifier: MIT
# make demo: two network namespaces joined by a veth, an lwt server and
# client in them, a ping and a short iperf3 through the tunnel, then the
# tunnel's own counters. Removes everything it made, also on Ctrl-C.
LWT_LOGDIR=${LWT_LOGDIR:-$(cd "$(dirname "$0")/.." && pwd)/build/demo-logs}
export LWT_LOGDIR
. "$(dirname "$0")/../tests/netns/lib.sh"
TEST=demo

say "topology: [ns $PFX-s 10.99.0.1] ==veth== [ns $PFX-c 10.99.0.2]; tunnel 10.0.0.1 <-> 10.0.0.2"
two_hosts
start_server
start_client
wait_for 10 "tunnel up" sessions_up c lwtc
say "tunnel is up:"
ctl c lwtc status
say "ping through the tunnel (client -> server):"
nsx c ping -c 5 -i 0.2 10.0.0.1
say "ping of the bare veth, for comparison:"
nsx c ping -c 5 -i 0.2 -q 10.99.0.1 | tail -1
say "iperf3 through the tunnel, 3 s each way:"
nsx s iperf3 -s -D -B 10.0.0.1 -p 5201 --pidfile "$LOGDIR/iperf.pid" >/dev/null
wait_for 5 "iperf3 listening" nsx s sh -c "ss -ltn | grep -q 10.0.0.1:5201"
PIDS+=("$(cat "$LOGDIR/iperf.pid")")
nsx c iperf3 -c 10.0.0.1 -p 5201 -t 3 | tail -4
nsx c iperf3 -c 10.0.0.1 -p 5201 -t 3 -R | tail -4
say "the tunnel's own counters (lwt-ctl stats), client then server:"
ctl c lwtc stats
ctl s lwts stats
say "logs: $LOGDIR; cleaning up"
