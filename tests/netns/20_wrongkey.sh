#!/bin/bash
# SPDX-License-Identifier: MIT
# A client with the wrong key is refused (server names the peer and says the
# key is wrong; the client says so and retries with growing backoff) while a
# client with the right key works.
. "$(dirname "$0")/lib.sh"

two_hosts
add_ns w
link s w 10.98.0.1/24 10.98.0.2/24
start server s -m server -l 0.0.0.0:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
start bad w -m client -r 10.98.0.1:9000 -t 10.0.0.3/24 -k "wrong-$KEY" -tun-name lwtw
start_client
wait_for 10 "good client up" sessions_up c lwtc
nsx c ping -c 5 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "good client cannot ping"
wait_for 10 "server logs the wrong key" grep -q "peer 10.98.0.2:[0-9]*: handshake failed: wrong key" "$LOGDIR/server.log"
wait_for 10 "client says the key is wrong" grep -q "rejected the handshake: wrong key" "$LOGDIR/bad.log"
wait_for 15 "client retried" sh -c "[ \$(grep -c 'reconnecting in' '$LOGDIR/bad.log') -ge 3 ]"
grep 'reconnecting in' "$LOGDIR/bad.log" | head -3
b1=$(grep -o 'reconnecting in [0-9]*' "$LOGDIR/bad.log" | awk 'NR==1{print $3}')
b3=$(grep -o 'reconnecting in [0-9]*' "$LOGDIR/bad.log" | awk 'NR==3{print $3}')
[ "$b3" -gt "$b1" ] || fail "backoff does not grow ($b1 -> $b3)"
[ "$(jget s lwts .sessions)" -eq 1 ] || fail "server should hold exactly one session"
[ "$(jget s lwts .handshakes_failed)" -ge 2 ] || fail "server should count failed handshakes"
if nsx w ping -c 2 -W 1 -q 10.0.0.1 >/dev/null 2>&1; then fail "wrong-key client reached the server"; fi
nsx c ping -c 5 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "good client disturbed"
say PASS
