#!/bin/bash
# SPDX-License-Identifier: MIT
# Route adverts: client A advertises the LAN behind it; the server (allowed
# 192.168.0.0/16) installs the route and tells client B; a host on A's LAN
# answers B and the server through the tunnel. A valid network outside the
# allow-list is refused: told to A, logged, installed nowhere, B never
# learns it. The server sends every client its peer list again every
# route_advert_interval. A client advertising 0.0.0.0/0 or a network A
# already holds is told no, on both sides, while A's route stays. Once A
# has left its LAN is gone everywhere, and C's next periodic advert
# (route_update_interval) gets the network A held.
. "$(dirname "$0")/lib.sh"

lan_switch
NH=0
# host NS: the next LAN address, 10.98.0.(NH+1)/24.
host() { NH=$((NH + 1)); lan_host "$1" "10.98.0.$NH/24"; }
# cli empties the log first: start truncates it in the background, and a
# wait on it must never read the previous run's.
cli() { local n=$1 ip=$2; shift 2; : >"$LOGDIR/$n.log"; start "$n" "$n" -m client -r 10.98.0.1:9000 -t "$ip/24" -k "$KEY" -tun-name lwtc "$@"; }
ping_ok() { nsx "$1" ping -c 3 -i 0.05 -W 1 -q "$2" | grep -q ' 0% packet loss'; }

host s
host a
host b
host c
# The LAN behind A: host l, 192.168.50.2, default route via A.
add_ns l
link a l 192.168.50.1/24 192.168.50.2/24
nsx l ip route add default via 192.168.50.1
nsx a sysctl -qw net.ipv4.ip_forward=1

# route_advert_interval is a file-only key; the rest are flags.
echo '{ "route_advert_interval": 1 }' >"$LOGDIR/server.json"
chmod 600 "$LOGDIR/server.json"
: >"$LOGDIR/server.log"
start server s -c "$LOGDIR/server.json" -m server -l 10.98.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts \
	-allowed-routes 192.168.0.0/16
cli a 10.0.0.11 -routes 192.168.50.0/24,172.16.5.0/24
cli b 10.0.0.12
wait_for 10 "A up" sessions_up a lwtc
wait_for 10 "B up" sessions_up b lwtc
wait_for 10 "server installs A's route" grep -q "192.168.50.0/24 via client 10.0.0.11" "$LOGDIR/server.log"
wait_for 10 "A told it was accepted" grep -q "server accepted 192.168.50.0/24" "$LOGDIR/a.log"
wait_for 10 "B installs A's route" grep -q "192.168.50.0/24 via the tunnel" "$LOGDIR/b.log"
nsx s ip route show dev lwts | grep -q "192.168.50.0/24" || fail "no kernel route on the server"
nsx b ip route show dev lwtc | grep -q "192.168.50.0/24" || fail "no kernel route on B"

say "a valid network outside allowed_routes is refused and learnt by no one"
wait_for 10 "A told 172.16.5.0/24 is refused" grep -q "server refused 172.16.5.0/24: not in the server's allowed_routes" "$LOGDIR/a.log"
grep -q "client 10.0.0.11 advertised 172.16.5.0/24: refused, not in the server's allowed_routes" "$LOGDIR/server.log" ||
	fail "the server did not log the refusal of 172.16.5.0/24"
grep -q "172.16.5.0/24 via" "$LOGDIR/server.log" && fail "the server took 172.16.5.0/24"
nsx s ip route show | grep -q "^172.16.5.0/24" && fail "a kernel route to 172.16.5.0/24 on the server"
# B learnt A's accepted route from the same advert: the refused one would
# have come with it.
nsx b ip route show | grep -q "^172.16.5.0/24" && fail "B installed the refused 172.16.5.0/24"
grep -q "172.16.5.0/24" "$LOGDIR/b.log" && fail "B was told of the refused 172.16.5.0/24"

say "the server sends every client its peer list again each route_advert_interval (1 s)"
# Nothing else is sent on the control channel while A and B are idle (A's
# next route advert is 30 s away): two clients, a list each per second.
ctl0=$(jget s lwts .control_tx_msgs)
wait_for 10 "4 peer lists re-sent" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .control_tx_msgs) -ge $((ctl0 + 4)) ]"
say "server control messages $ctl0 -> $(jget s lwts .control_tx_msgs)"

say "A's LAN reachable from B and from the server"
ping_ok b 192.168.50.2 || fail "B cannot reach A's LAN"
ping_ok s 192.168.50.2 || fail "the server cannot reach A's LAN"
nsx l ping -c 3 -i 0.05 -W 1 -q 10.0.0.12 | grep -q ' 0% packet loss' || fail "A's LAN cannot reach B"

say "a default route and a network A holds are refused"
# C re-advertises every second (route_update_interval).
cli c 10.0.0.13 -routes 0.0.0.0/0,192.168.50.0/25,10.0.0.0/25 -route-update 1
wait_for 10 "C up" sessions_up c lwtc
wait_for 10 "C told about the default route" grep -q "server refused 0.0.0.0/0: a default route is not allowed" "$LOGDIR/c.log"
grep -q "server refused 192.168.50.0/25: already advertised by another client" "$LOGDIR/c.log" || fail "C not told of the conflict"
grep -q "server refused 10.0.0.0/25: overlaps the tunnel subnet" "$LOGDIR/c.log" || fail "C not told of the tunnel subnet"
grep -q "client 10.0.0.13 advertised 0.0.0.0/0: refused" "$LOGDIR/server.log" || fail "server did not log the refusal"
nsx s ip route show | grep -q "^default.*lwts" && fail "a default route was installed on the server"
ping_ok b 192.168.50.2 || fail "A's route lost to C's conflicting advert"

cmsg0=$(jget c lwtc .control_tx_msgs)
wait_for 10 "C advertises again" sh -c "[ \$(ip netns exec $PFX-c $CTL -i lwtc stats --json | jq .control_tx_msgs) -ge $((cmsg0 + 2)) ]"
grep -q "192.168.50.0/25 via" "$LOGDIR/server.log" && fail "the server gave C a network A holds"

say "A leaves: its LAN is gone for everyone"
stop "$a_PID"
wait_for 10 "server withdraws" grep -q "192.168.50.0/24 withdrawn" "$LOGDIR/server.log"
wait_for 10 "B removes the route" grep -q "192.168.50.0/24 gone" "$LOGDIR/b.log"
nsx s ip route show | grep -q "^192.168.50.0/24" && fail "server kept the kernel route"
nsx b ip route show | grep -q "^192.168.50.0/24" && fail "B kept the kernel route"

say "C's next advert gets 192.168.50.0/25, free now"
wait_for 10 "server gives C 192.168.50.0/25" grep -q "routes: 192.168.50.0/25 via client 10.0.0.13" "$LOGDIR/server.log"
wait_for 5 "C told it was accepted" grep -q "server accepted 192.168.50.0/25" "$LOGDIR/c.log"
wait_for 5 "B installs C's route" grep -q "192.168.50.0/25 via the tunnel" "$LOGDIR/b.log"
nsx b ip route show dev lwtc | grep -q "^192.168.50.0/25" || fail "no kernel route to C's network on B"
nsx s ip route show | grep -q "^default.*lwts" && fail "a default route was installed on the server by a re-advert"
say PASS
