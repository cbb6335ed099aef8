#!/bin/bash
# SPDX-License-Identifier: MIT
# Learned routes never take a host's own routes. Client A advertises five
# networks the server allows: one the server itself is connected to (the
# server refuses it: status 7); a /25 inside B's connected LAN (B does not
# install it although it is more specific, and keeps reaching its LAN); one
# B holds a static route for, and one an admin routed through B's TUN by
# hand (B's installs are refused by NLM_F_EXCL, the routes stay); and one
# B can take (installed with lwt's protocol, 76). When A leaves, only that
# one goes: a withdrawal removes only routes lwt installed.
. "$(dirname "$0")/lib.sh"

lan_switch
NH=0
host() { NH=$((NH + 1)); lan_host "$1" "10.98.0.$NH/24"; }
cli() { local n=$1 ip=$2; shift 2; start "$n" "$n" -m client -r 10.98.0.1:9000 -t "$ip/24" -k "$KEY" -tun-name lwtc "$@"; }
for h in s a b; do host "$h"; done
# The server's own LAN 192.168.60.0/24 (host x); B's LAN 192.168.50.0/24
# (host l); B's static route 192.168.70.0/24 via l.
add_ns x
link s x 192.168.60.1/24 192.168.60.2/24
add_ns l
link b l 192.168.50.1/24 192.168.50.2/24
nsx b ip route add 192.168.70.0/24 via 192.168.50.2 proto static
# has_b PATTERN: B's route table has a line matching PATTERN (the table is
# read whole first: grep -q closing a pipe early would fail the pipeline).
has_b() { local t; t=$(nsx b ip -4 route show); grep -q "$1" <<<"$t"; }

start server s -m server -l 10.98.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts -allowed-routes 192.168.0.0/16
cli b 10.0.0.12
wait_for 10 "B up" sessions_up b lwtc
# An admin's own route on B's TUN, which lwt did not install.
nsx b ip route add 192.168.90.0/24 dev lwtc proto static
cli a 10.0.0.11 -routes 192.168.60.0/24,192.168.50.0/25,192.168.70.0/24,192.168.80.0/24,192.168.90.0/24
wait_for 10 "A up" sessions_up a lwtc

say "the server refuses what overlaps its own LAN"
wait_for 10 "A told" grep -q "server refused 192.168.60.0/24: overlaps a network the server is connected to" "$LOGDIR/a.log"
grep -q "overlaps the connected route 192.168.60.0/24 on v-s-x here" "$LOGDIR/server.log" || fail "server did not say which route"
nsx s ip -4 route show 192.168.60.0/24 | grep -q "dev v-s-x proto kernel" || fail "the server's LAN route changed"
nsx s ping -c 2 -i 0.1 -W 1 -q 192.168.60.2 | grep -q ' 0% packet loss' || fail "the server lost its LAN"

say "B keeps its connected and static routes"
wait_for 10 "B installs the one free network" sh -c "ip -n $PFX-b -4 route show 192.168.80.0/24 | grep -q 'dev lwtc proto 76'"
nsx b ping -c 2 -i 0.1 -W 1 -q 192.168.50.2 | grep -q ' 0% packet loss' || fail "B lost its LAN"
grep -q "192.168.50.0/25 from the server overlaps the connected route 192.168.50.0/24 on v-b-l here: not installed" "$LOGDIR/b.log" ||
	fail "B did not refuse the overlap with its LAN"
grep -q "couldn't install 192.168.70.0/24 from the server: File exists" "$LOGDIR/b.log" ||
	fail "B's install over its static route was not refused"
nsx b ip -4 route show
has_b "^192.168.50.0/24 dev v-b-l proto kernel" || fail "B's connected route was replaced"
has_b "^192.168.70.0/24 via 192.168.50.2 dev v-b-l proto static" || fail "B's static route was replaced"

say "A leaves: only lwt's route goes"
stop "$a_PID"
wait_for 10 "B drops A's route" sh -c "! ip -n $PFX-b -4 route show 192.168.80.0/24 | grep -q ."
nsx b ip -4 route show
has_b "^192.168.50.0/24 dev v-b-l proto kernel" || fail "the withdrawal removed B's connected route"
has_b "^192.168.70.0/24 via 192.168.50.2 dev v-b-l proto static" || fail "the withdrawal removed B's static route"
has_b "^192.168.90.0/24 dev lwtc proto static" || fail "the withdrawal removed the admin's route on the TUN"
nsx b ping -c 2 -i 0.1 -W 1 -q 192.168.50.2 | grep -q ' 0% packet loss' || fail "B lost its LAN after the withdrawal"
say PASS
