#!/bin/bash
# SPDX-License-Identifier: MIT
# The reconnect queue with a jumbo TUN MTU (9000): while the client has no
# session, packets larger than any record lwt can send are dropped and
# counted, not copied into a buffer too small for them (a heap overflow
# before); the small ones wait and go out once the server is up. The client
# survives and exits cleanly (run it with an ASan build: LWT_BIN=bin-asan).
. "$(dirname "$0")/lib.sh"

two_hosts
start_client -mtu 9000 -send-queue 50
wait_for 10 "client TUN up" nsx c sh -c "ip link show lwtc | grep -q 'mtu 9000'"
wait_for 10 "client control socket" ctl c lwtc status
before=$(jget c lwtc .totals.drop_malformed)
say "8000-byte pings while the server is down: dropped, not queued"
nsx c ping -c 5 -i 0.05 -W 0.1 -s 8000 10.0.0.1 >/dev/null 2>&1 && fail "a ping was answered with no server"
say "small pings while the server is down: queued"
nsx c ping -c 3 -i 0.05 -W 0.1 -s 100 10.0.0.1 >/dev/null 2>&1 && fail "a ping was answered with no server"
kill -0 "$client_PID" || fail "the client died with jumbo packets queued"
big=$(( $(jget c lwtc .totals.drop_malformed) - before ))
say "jumbo packets dropped: $big"
[ "$big" -eq 5 ] || fail "want the 5 jumbo packets counted as dropped, got $big"
start_server -mtu 9000
wait_for 30 "session up" sessions_up c lwtc
wait_for 5 "queued packets sent" grep -q "sending 3 packets queued during (re)connect" "$LOGDIR/client.log"
nsx c ping -c 3 -i 0.05 -W 1 -q -s 1000 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic after the session came up"
stop "$client_PID"
stop "$server_PID"
say PASS
