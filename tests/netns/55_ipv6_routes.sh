#!/bin/bash
# SPDX-License-Identifier: MIT
# IPv6 route adverts inside the tunnel. Client A advertises the IPv6 LAN
# behind it (fd50:1::/64, a namespace with a host) and fd77::/64, which the
# hub's allowed_routes (fd50::/16) does not cover: the first is accepted,
# installed on the hub's TUN and on B's, and B and the hub reach the host on
# A's LAN (and it them); the second is refused, told to A, installed
# nowhere. A source inside A's route is A's alone: B sending from it is
# dropped and counted. C advertising a network inside A's is told it
# conflicts. A reload of allowed_routes withdraws A's route and gives it
# back; client_isolation keeps B from A's IPv6. When A leaves, its IPv6 route is gone on the hub and on B.
. "$(dirname "$0")/lib.sh"

lan_switch
NH=0
host() { NH=$((NH + 1)); lan_host "$1" "10.98.0.$NH/24"; }
cli() { local n=$1 ip=$2; shift 2; : >"$LOGDIR/$n.log"; start "$n" "$n" -m client -r 10.98.0.1:9000 -t "$ip" -k "$KEY" -tun-name lwtc "$@"; }
ping6_ok() { nsx "$1" ping -6 -c 3 -i 0.05 -W 1 -q "$2" 2>&1 | grep -q ' 0% packet loss'; }
spoofed() { ctl s lwts stats --json | jq '[.peers[].drop_spoofed_src // 0] | add // 0'; }
spoofed_ge() { [ "$(spoofed)" -ge "$1" ]; }

for h in s a b c; do host "$h"; done
# The IPv6 LAN behind A: host l, fd50:1::2, default route via A.
add_ns l
link a l 192.168.50.1/24 192.168.50.2/24
nsx a ip -6 addr add fd50:1::1/64 dev v-a-l nodad
nsx l ip -6 addr add fd50:1::2/64 dev v-l-a nodad
nsx l ip -6 route add default via fd50:1::1
nsx a sysctl -qw net.ipv6.conf.all.forwarding=1
# The LAN itself first (neighbour discovery waits for the link-local
# addresses' DAD): what fails later is the tunnel's.
wait_for 10 "A reaches its LAN host" nsx a ping -6 -c 1 -W 1 fd50:1::2 || fail "A's IPv6 LAN does not work (setup)"

# allowed_routes from a file, to reload it.
server_cfg() { printf '{ "allowed_routes": [%s]%s }\n' "$1" "${2:-}" >"$LOGDIR/server.json"; chmod 600 "$LOGDIR/server.json"; }
isolated() { ctl s lwts stats --json | jq '[.peers[].drop_isolation // 0] | add // 0'; }
isolated_ge() { [ "$(isolated)" -ge "$1" ]; }
server_cfg '"192.168.0.0/16", "fd50::/16"'
start server s -c "$LOGDIR/server.json" -m server -l 10.98.0.1:9000 -t 10.0.0.1/24,fd00::1/64 -k "$KEY" -tun-name lwts
cli a 10.0.0.11/24,fd00::11/64 -routes fd50:1::/64,fd77::/64 -route-update 1
cli b 10.0.0.12/24,fd00::12/64
wait_for 10 "A up" sessions_up a lwtc || fail "A did not connect"
wait_for 10 "B up" sessions_up b lwtc || fail "B did not connect"
wait_for 10 "hub installs A's IPv6 route" grep -q "routes: fd50:1::/64 via client 10.0.0.11" "$LOGDIR/server.log" ||
	fail "the hub did not take A's IPv6 route"
wait_for 10 "A told it was accepted" grep -q "server accepted fd50:1::/64" "$LOGDIR/a.log" || fail "A not told"
wait_for 10 "B installs A's IPv6 route" grep -q "fd50:1::/64 via the tunnel" "$LOGDIR/b.log" ||
	fail "B did not install A's IPv6 route"
nsx s ip -6 route show dev lwts | grep "^fd50:1::/64" >/dev/null || fail "no kernel route on the hub"
nsx b ip -6 route show dev lwtc | grep "^fd50:1::/64" >/dev/null || fail "no kernel route on B"
[ "$(ctl s lwts routes --json | jq -r '[.accepted6[].route] | join(",")')" = "fd50:1::/64" ] ||
	fail "lwt-ctl routes on the hub does not list the IPv6 route"

say "an IPv6 network outside allowed_routes is refused and learnt by no one"
wait_for 10 "A told fd77::/64 is refused" grep -q "server refused fd77::/64: not in the server's allowed_routes" \
	"$LOGDIR/a.log" || fail "A not told of the refusal"
grep -q "client 10.0.0.11 advertised fd77::/64: refused, not in the server's allowed_routes" "$LOGDIR/server.log" ||
	fail "the hub did not log the refusal"
nsx s ip -6 route show | grep "^fd77::" >/dev/null && fail "a kernel route to fd77::/64 on the hub"
nsx b ip -6 route show | grep "^fd77::" >/dev/null && fail "B installed the refused fd77::/64"

say "A's IPv6 LAN reachable from B and the hub, and they from it"
ping6_ok b fd50:1::2 || fail "B cannot reach A's IPv6 LAN"
ping6_ok s fd50:1::2 || fail "the hub cannot reach A's IPv6 LAN"
ping6_ok l fd00::12 || fail "A's IPv6 LAN cannot reach B"

say "B sending from an address in A's route is dropped and counted"
before=$(spoofed)
nsx b ip -6 addr add fd50:1::99/128 dev lwtc nodad
nsx b ping -6 -c 5 -i 0.05 -W 1 -I fd50:1::99 fd00::1 >/dev/null 2>&1 && fail "B's spoofed ping6 was answered"
wait_for 5 "the hub counted 5 spoofed packets" spoofed_ge $((before + 5)) ||
	fail "the hub did not count B's packets from A's network (before $before, now $(spoofed))"
nsx b ip -6 addr del fd50:1::99/128 dev lwtc

say "a network inside A's is refused to C"
cli c 10.0.0.13/24,fd00::13/64 -routes fd50:1::/96
wait_for 10 "C told" grep -q "server refused fd50:1::/96: already advertised by another client" "$LOGDIR/c.log" ||
	fail "C not told its route conflicts with A's"
ping6_ok b fd50:1::2 || fail "A's route lost to C's advert"

say "reload: allowed_routes without fd50::/16 withdraws A's route; with it again, A's next advert gets it back"
server_cfg '"192.168.0.0/16"'
out=$(ctl s lwts reload) || fail "lwt-ctl reload failed: $out"
wait_for 5 "hub withdraws after reload" grep -q "fd50:1::/64 withdrawn after reload: not in the server's allowed_routes" \
	"$LOGDIR/server.log" || fail "the reload did not withdraw A's IPv6 route"
wait_for 5 "B removes the route" grep -q "fd50:1::/64 gone" "$LOGDIR/b.log" || fail "B kept the withdrawn route"
wait_for 5 "A told" grep -q "server refused fd50:1::/64: not in the server's allowed_routes" "$LOGDIR/a.log" ||
	fail "A's next advert was not refused"
: >"$LOGDIR/b.log"
server_cfg '"192.168.0.0/16", "fd50::/16"'
out=$(ctl s lwts reload) || fail "lwt-ctl reload failed: $out"
wait_for 5 "B installs A's route again" grep -q "fd50:1::/64 via the tunnel" "$LOGDIR/b.log" ||
	fail "A's route did not come back after the second reload"
ping6_ok b fd50:1::2 || fail "B cannot reach A's IPv6 LAN after the reloads"

say "client_isolation (reloaded on): B no longer reaches A nor its LAN over IPv6, the hub still does"
before=$(isolated)
server_cfg '"192.168.0.0/16", "fd50::/16"' ', "client_isolation": true'
out=$(ctl s lwts reload) || fail "lwt-ctl reload failed: $out"
wait_for 5 "isolation applied" sh -c "! ip netns exec $PFX-b ping -6 -c 1 -W 1 fd00::11 >/dev/null 2>&1" ||
	fail "B still reaches A's IPv6 under client_isolation"
ping6_ok b fd50:1::2 && fail "B reaches A's IPv6 LAN under client_isolation"
wait_for 5 "the hub counted isolated packets" isolated_ge $((before + 3)) || fail "no drop_isolation counted"
ping6_ok s fd50:1::2 || fail "the hub lost A's IPv6 LAN under client_isolation"
ping6_ok b fd00::1 || fail "B lost the hub's IPv6 under client_isolation"
server_cfg '"192.168.0.0/16", "fd50::/16"'
out=$(ctl s lwts reload) || fail "lwt-ctl reload failed: $out"
wait_for 5 "isolation off" nsx b ping -6 -c 1 -W 1 fd00::11 || fail "B does not reach A again"

say "A leaves: its IPv6 LAN is gone for everyone"
stop "$a_PID"
wait_for 10 "hub withdraws" grep -q "fd50:1::/64 withdrawn" "$LOGDIR/server.log" || fail "the hub kept A's route"
wait_for 10 "B removes the route" grep -q "fd50:1::/64 gone" "$LOGDIR/b.log" || fail "B kept A's route"
nsx s ip -6 route show | grep "^fd50:1::/64" >/dev/null && fail "the hub kept the kernel route"
nsx b ip -6 route show | grep "^fd50:1::/64" >/dev/null && fail "B kept the kernel route"
say PASS
