#!/bin/bash
# SPDX-License-Identifier: MIT
# A server given by name (issue 12, first slice). The client's namespace
# gets a hosts file of its own (`ip netns exec` binds /etc/netns/NS/hosts
# over /etc/hosts, and glibc reads it at every look-up); it is rewritten in
# place (same inode) while the daemons run.
# (c) a name that does not resolve at start: the daemon waits, retrying;
#     SIGTERM then ends it at once, status 0, nothing left behind, also
#     while a look-up waits for a name server that does not answer;
# (a) the name appears: the waiting client starts, connects, pings pass;
# (b) the server moves to another address of the same link: the client's
#     next reconnect resolves again, follows it ("moved"), the anti-RST
#     rule names the new address, pings pass; a name with several
#     addresses, one of them the address in use, is no move;
# (d) the name then points behind another interface: followed, and the
#     client re-homes there (new interface and source address, roam.c);
# (e) a reconnect while the name server does not answer: the look-up is
#     waited for 2 s, then the last address is tried (keepalives and the
#     session never wait for a name server).
# A resolv.conf pointing at the namespace's own loopback keeps every DNS
# query inside it (it fails at once: nothing listens).
. "$(dirname "$0")/lib.sh"

two_hosts
ETC=/etc/netns/$PFX-c
mkdir -p "$ETC"
at_exit "rm -rf '$ETC'"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$ETC/resolv.conf"
# hosts_set [ADDR...]: hub.test at each ADDR, or not at all; truncated and
# written in place, so the file bound in the daemon's mount namespace
# changes too.
hosts_set() {
	local a
	{
		echo "127.0.0.1 localhost"
		for a in "$@"; do echo "$a hub.test"; done
	} >"$ETC/hosts"
}
hosts_set
cat >"$LOGDIR/server.json" <<JSON
{ "mode": "server", "local_addr": "10.99.0.1:9000", "tunnel_addr": "10.0.0.1/24",
  "key": "$KEY", "tun_name": "lwts", "keepalive": 1, "timeout": 3 }
JSON
sed 's/10\.99\.0\.1:9000/10.99.0.5:9000/' "$LOGDIR/server.json" >"$LOGDIR/server2.json"
sed 's/10\.99\.0\.1:9000/10.98.0.1:9000/' "$LOGDIR/server.json" >"$LOGDIR/server3.json"
cat >"$LOGDIR/client.json" <<JSON
{ "mode": "client", "remote_addr": "hub.test:9000", "tunnel_addr": "10.0.0.2/24",
  "key": "$KEY", "tun_name": "lwtc", "keepalive": 1, "timeout": 3 }
JSON
chmod 600 "$LOGDIR"/*.json

say "-check: a name that does not resolve now is a warning, exit 0"
out=$(ip netns exec "$PFX-c" "$LWT" -check -c "$LOGDIR/client.json" 2>&1) || fail "-check refused the name: $out"
grep -q "warn  remote_addr: hub.test does not resolve now (.*); the daemon would wait for it, retrying" <<<"$out" ||
	fail "-check did not warn: $out"
grep -q "^config OK: client, server hub.test:9000" <<<"$out" || fail "-check summary: $out"
out=$(ip netns exec "$PFX-c" "$LWT" -check -c "$LOGDIR/client.json" -r 'hub test:9000' 2>&1) &&
	fail "-check took a host with a space: $out"
grep -q 'remote_addr: bad address "hub test:9000"' <<<"$out" || fail "-check: $out"

say "(c) SIGTERM while the name does not resolve"
start waiter c -m client -r nowhere.test:9000 -t 10.0.1.2/24 -k "$KEY" -tun-name lwtw
wait_for 10 "first retry logged" grep -q "warn  couldn't resolve nowhere.test: .*; retrying in 1 s" "$LOGDIR/waiter.log"
wait_for 10 "second retry" grep -q "couldn't resolve nowhere.test: .*; retrying in 2 s" "$LOGDIR/waiter.log"
kill -0 "$waiter_PID" 2>/dev/null || fail "the client ended instead of waiting for its server's name"
LWT_STOP_TIMEOUT=2 stop "$waiter_PID"
grep -q "Terminated received; shutting down" "$LOGDIR/waiter.log" || fail "no shutdown line"

say "(c) SIGTERM while a look-up waits for a name server that never answers"
# 10.99.0.9 is on the link but nobody's: the query waits (5 s x 2) in the
# look-up's thread, never in the thread that reads the signals.
printf 'nameserver 10.99.0.9\noptions timeout:5 attempts:2\n' >"$ETC/resolv.conf"
start waiter c -m client -r slow.test:9000 -t 10.0.1.2/24 -k "$KEY" -tun-name lwtw
wait_for 5 "the look-up's query out" sh -c "ip netns exec $PFX-c ss -uanpH | grep -q '10.99.0.9:53 .*pid=$waiter_PID,'"
LWT_STOP_TIMEOUT=2 stop "$waiter_PID"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$ETC/resolv.conf"

say "(a) a client started before its server's name resolves"
start server s -c "$LOGDIR/server.json"
wait_for 5 "server up" sh -c "ip netns exec $PFX-s $CTL -i lwts status >/dev/null"
start client c -c "$LOGDIR/client.json"
wait_for 10 "retry logged" grep -q "couldn't resolve hub.test: .*; retrying in 2 s" "$LOGDIR/client.log"
kill -0 "$client_PID" 2>/dev/null || fail "the client ended instead of waiting"
ip -n "$PFX-c" link show lwtc >/dev/null 2>&1 && fail "TUN created before the server's address is known"
hosts_set 10.99.0.1
wait_for 10 "name resolved" grep -q "server hub.test resolved to 10.99.0.1" "$LOGDIR/client.log"
wait_for 10 "session up" sessions_up c lwtc
nsx c ping -c 3 -i 0.2 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic after the late start"
# (captured first: grep -q ends early, and nft's SIGPIPE would fail the pipe)
rules=$(nsx c nft list ruleset)
printf '%s\n' "$rules" | grep -q "ip daddr 10.99.0.1 tcp dport 9000" || fail "no anti-RST rule for 10.99.0.1: $rules"

say "(b) the server moves to 10.99.0.5 on the same link"
nsx s ip addr add 10.99.0.5/24 dev v-s-c
stop "$server_PID"
start server s -c "$LOGDIR/server2.json"
wait_for 5 "new server up" sh -c "ip netns exec $PFX-s $CTL -i lwts status >/dev/null"
hosts_set 10.99.0.5
wait_for 30 "client followed" grep -q "server hub.test moved from 10.99.0.1 to 10.99.0.5" "$LOGDIR/client.log"
wait_for 20 "session up again" sessions_up s lwts
wait_for 5 "client session up" sessions_up c lwtc
nsx c ping -c 3 -i 0.2 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic after the move"
rules=$(nsx c nft list ruleset)
printf '%s\n' "$rules" | grep -q "ip daddr 10.99.0.5 tcp dport 9000" || fail "the anti-RST rule does not name 10.99.0.5: $rules"
printf '%s\n' "$rules" | grep -q "10.99.0.1" && fail "the anti-RST rule still names 10.99.0.1: $rules"
say "(b) a name with two addresses, the one in use second: no move"
hosts_set 10.99.0.1 10.99.0.5
# The premise: the address in use comes second (getaddrinfo sorts by the
# longest prefix shared with the source, 10.99.0.2: .1 before .5).
first=$(ip netns exec "$PFX-c" getent ahostsv4 hub.test | awk 'NR == 1 {print $1}')
[ "$first" = 10.99.0.1 ] || fail "test premise: hub.test resolves to $first first, not 10.99.0.1"
stop "$server_PID"
start server s -c "$LOGDIR/server2.json"
wait_for 20 "session up again" sessions_up s lwts
wait_for 5 "client session up" sessions_up c lwtc
[ "$(grep -c 'server hub.test moved' "$LOGDIR/client.log")" -eq 1 ] ||
	fail "the client moved while its address was still the name's: $(grep 'moved' "$LOGDIR/client.log")"
[ "$(grep -c 'connecting to hub.test' "$LOGDIR/client.log")" -ge 3 ] || fail "no reconnect seen"

say "(d) the name points to an address behind another interface: followed, re-homed there"
# A second link to the server; its address is reached from another
# interface and source address: the client follows the name there and
# re-homes (roam.c): new source address, new interface.
ip link add w-c netns "$PFX-c" type veth peer w-s netns "$PFX-s"
nsx c ip addr add 10.98.0.2/24 dev w-c
nsx s ip addr add 10.98.0.1/24 dev w-s
nsx c ip link set w-c up
nsx s ip link set w-s up
hosts_set 10.98.0.1
stop "$server_PID"
start server s -c "$LOGDIR/server3.json"
wait_for 20 "client followed" grep -q "server hub.test moved from 10.99.0.5 to 10.98.0.1$" "$LOGDIR/client.log"
wait_for 5 "re-homed" grep -q "roaming: route to server hub.test:9000 moved from v-c-s (10.99.0.2) to w-c (10.98.0.2); re-homing" "$LOGDIR/client.log" ||
	fail "the client followed the name but did not re-home"
wait_for 20 "session up at the new address" sessions_up s lwts
wait_for 5 "client session up" sessions_up c lwtc
nsx c ping -c 3 -i 0.2 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic at the new address"
jget s lwts '.peers[0].endpoint' | grep -q '^10.98.0.2:' || fail "server sees $(jget s lwts '.peers[0].endpoint'), not 10.98.0.2"
rules=$(nsx c nft list ruleset)
printf '%s\n' "$rules" | grep -q "ip daddr 10.98.0.1 tcp dport 9000" || fail "the anti-RST rule does not name 10.98.0.1: $rules"

say "(e) a reconnect while the name server does not answer: bounded wait, then the last address"
hosts_set
printf 'nameserver 10.99.0.9\noptions timeout:5 attempts:2\n' >"$ETC/resolv.conf"
stop "$server_PID"
start server s -c "$LOGDIR/server3.json"
wait_for 20 "bounded wait logged" grep -q "resolving hub.test takes more than 2 s; trying 10.98.0.1 meanwhile" "$LOGDIR/client.log"
wait_for 20 "session up while the look-up hangs" sessions_up s lwts
wait_for 5 "client session up" sessions_up c lwtc
nsx c ping -c 3 -i 0.2 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic while the look-up hangs"
say PASS
