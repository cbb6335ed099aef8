#!/bin/bash
# SPDX-License-Identifier: MIT
# kill -9 the server (its firewall rule leaks), start it again: the stale
# rule is cleaned, and the client is back without a restart. Packets sent
# while the server is gone wait in the client's queue and reach the server
# afterwards, in order; the queue stops at send_queue_size and counts what it
# drops. Kill -9 the client: the server drops the dead session after
# `timeout`.
. "$(dirname "$0")/lib.sh"

QSIZE=5		# the client's send_queue_size
NSENT=12	# datagrams sent while the server is gone

# kill_hard PID: kill -9 a daemon on purpose and reap it; marked stopped so
# that cleanup does not judge its exit (bash keeps the 137 of a reaped job,
# so a second wait in cleanup would report it as a failed SIGTERM).
kill_hard() {
	run kill -9 "$1"
	wait "$1" 2>/dev/null || true
	STOPPED[$1]=1
}

two_hosts
cat >"$LOGDIR/server.json" <<JSON
{ "mode": "server", "local_addr": "10.99.0.1:9000", "tunnel_addr": "10.0.0.1/24",
  "key": "$KEY", "tun_name": "lwts", "keepalive": 1, "timeout": 3 }
JSON
cat >"$LOGDIR/client.json" <<JSON
{ "mode": "client", "remote_addr": "10.99.0.1:9000", "tunnel_addr": "10.0.0.2/24",
  "key": "$KEY", "tun_name": "lwtc", "keepalive": 1, "timeout": 3, "send_queue_size": $QSIZE }
JSON
chmod 600 "$LOGDIR"/*.json
start server s -c "$LOGDIR/server.json"
start client c -c "$LOGDIR/client.json"
wait_for 10 "session up" sessions_up c lwtc
kill_hard "$server_PID"
nsx s nft list tables | grep -q 'lwt_lwts' || fail "expected the killed server's rule to remain (test premise)"
wait_for 5 "TUN of the killed server gone" sh -c "! ip -n $PFX-s link show lwts"
start server s -c "$LOGDIR/server.json"
wait_for 5 "server up" sh -c "ip netns exec $PFX-s $CTL -i lwts status >/dev/null"
[ "$(nsx s nft list tables | grep -c 'lwt_lwts')" -eq 1 ] || fail "stale rule not replaced"
wait_for 30 "client reconnected" sessions_up s lwts
wait_for 5 "client session up" sessions_up c lwtc
nsx c ping -c 5 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic after reconnect"
[ "$(jget c lwtc .reconnects)" -ge 1 ] || fail "client did not count the reconnect"

say "queued during reconnect: $NSENT datagrams into a queue of $QSIZE"
kill_hard "$server_PID"
wait_for 10 "client noticed" sh -c "[ \$(ip netns exec $PFX-c $CTL -i lwtc stats --json | jq .sessions) -eq 0 ]"
drops0=$(jget c lwtc .totals.drop_queue_full)
# The receiver, bound before the server's TUN exists: it takes datagrams
# from the first sender only (nc -u connects to it) and ends by itself
# after QSIZE + 1 of them.
ip netns exec "$PFX-s" timeout 60 nc -d -u -l -W $((QSIZE + 1)) 0.0.0.0 7000 >"$LOGDIR/udp.got" 2>"$LOGDIR/udp.err" &
rcv_PID=$!
PIDS+=("$rcv_PID")
wait_for 5 "receiver bound" sh -c "ip netns exec $PFX-s ss -luntH | grep -q ':7000 '"
# The sender: one UDP socket in the client's namespace, one datagram per
# line written to the fifo, so every datagram has the same source port.
rm -f "$LOGDIR/udp.fifo"
mkfifo "$LOGDIR/udp.fifo"
ip netns exec "$PFX-c" bash -c 'exec 3>/dev/udp/10.0.0.1/7000; while IFS= read -r l; do printf "%s\n" "$l" >&3; done' \
	<"$LOGDIR/udp.fifo" &
snd_PID=$!
PIDS+=("$snd_PID")
exec 4>"$LOGDIR/udp.fifo"
for i in $(seq -w 1 $NSENT); do echo "seq-$i" >&4; done
# QSIZE go into the queue, the rest are dropped and counted: wait for the count.
queue_drops() { echo $(($(jget c lwtc .totals.drop_queue_full) - drops0)); }
wait_for 10 "$((NSENT - QSIZE)) drops counted" sh -c "[ \$(ip netns exec $PFX-c $CTL -i lwtc stats --json | jq .totals.drop_queue_full) -ge $((drops0 + NSENT - QSIZE)) ]"
[ "$(queue_drops)" -eq $((NSENT - QSIZE)) ] || fail "queue drops: $(queue_drops), expected $((NSENT - QSIZE))"
[ -s "$LOGDIR/udp.got" ] && fail "datagrams arrived while the server was down: $(cat "$LOGDIR/udp.got")"
# (4>&-: the daemon must not hold the fifo open, or the sender never sees EOF)
start server s -c "$LOGDIR/server.json" 4>&-
wait_for 30 "client reconnected" sessions_up c lwtc
wait_for 5 "queue flushed" grep -q "sending $QSIZE packets queued during (re)connect" "$LOGDIR/client.log"
# A last datagram through the live session: it follows the queued ones.
echo end >&4
exec 4>&-
wait "$snd_PID" || fail "the datagram sender failed"
rm -f "$LOGDIR/udp.fifo"
want=$(for i in $(seq -w 1 $NSENT); do echo "seq-$i"; done | head -n $QSIZE; echo end)
if ! wait_for 10 "receiver got $((QSIZE + 1)) datagrams" sh -c "[ \$(wc -l <'$LOGDIR/udp.got') -ge $((QSIZE + 1)) ]" ||
	[ "$(cat "$LOGDIR/udp.got")" != "$want" ]; then
	say "received: $(tr '\n' ' ' <"$LOGDIR/udp.got")"
	fail "expected the first $QSIZE datagrams in order, then 'end'"
fi
wait "$rcv_PID" || fail "the receiver failed: $(cat "$LOGDIR/udp.err")"
say "the first $QSIZE datagrams arrived in order after the reconnect, $(queue_drops) dropped"
[ "$(queue_drops)" -eq $((NSENT - QSIZE)) ] || fail "queue drops: $(queue_drops) after the flush, expected $((NSENT - QSIZE))"

say "server drops a dead client"
kill_hard "$client_PID"
wait_for 10 "server dropped the session" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .sessions) -eq 0 ]"
grep -q "client 10.0.0.2 (10.99.0.2:[0-9]*) timed out after 3 s of silence" "$LOGDIR/server.log" ||
	fail "server did not log the timeout"
say PASS
