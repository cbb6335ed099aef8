#!/bin/bash
# SPDX-License-Identifier: MIT
# What a client may claim. Its tunnel IP must be a host address of the
# server's tunnel subnet and lie in no route another client advertised;
# an advert may not cover the server's or another client's tunnel IP, even
# when allowed_routes names it; a FEC shape over 32 shards a group is
# refused (its decoder would cost the server megabytes). Every refusal is
# told to the client with its reason, creates no session, and leaves the
# clients already up working.
. "$(dirname "$0")/lib.sh"

lan_switch
NH=0
host() { NH=$((NH + 1)); lan_host "$1" "10.98.0.$NH/24"; }
cli() { local n=$1 ip=$2; shift 2; start "$n" "$n" -m client -r 10.98.0.1:9000 -t "$ip" -k "$KEY" -tun-name lwtc "$@"; }
ping_ok() { nsx "$1" ping -c 3 -i 0.05 -W 1 -q "$2" | grep -q ' 0% packet loss'; }
nsess() { jget s lwts .sessions; }
# refused NAME REASON: the client NAME was told REASON, and has no session.
refused() {
	wait_for 10 "$1 told: $2" grep -q "rejected the handshake: $2" "$LOGDIR/$1.log"
	[ "$(jget "$1" lwtc .sessions)" = 0 ] || fail "$1 has a session although refused"
	stop "$(eval echo "\$${1}_PID")"
}

for h in s a b c r1 r2 r3 r4; do host "$h"; done
start server s -m server -l 10.98.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts \
	-allowed-routes 192.168.0.0/16,10.0.0.128/26,10.0.0.0/25
cli a 10.0.0.11/24 -routes 10.0.0.128/26
wait_for 10 "A up" sessions_up a lwtc
wait_for 10 "A's route inside the tunnel subnet accepted" grep -q "server accepted 10.0.0.128/26" "$LOGDIR/a.log"

# Four refused claims at once, each from a host of its own: a client acts
# on an (unauthenticated) REJECT only at its handshake timeout, 5 s, and
# one after another they would wait it out four times.
say "refused at once: a tunnel IP outside the server's subnet, the subnet's broadcast address, a tunnel IP inside A's route, a FEC shape over 32 shards"
cli r1 10.1.2.3/24
cli r2 10.0.0.255/24
cli r3 10.0.0.130/24
cli r4 10.0.0.12/24 -fec-data 100 -fec-parity 20
refused r1 "tunnel IP not allowed"
grep -q "tunnel IP 10.1.2.3 is not a host address of the server's tunnel subnet" "$LOGDIR/server.log" ||
	fail "server did not log why"
refused r2 "tunnel IP not allowed"
refused r3 "tunnel IP not allowed"
grep -q "tunnel IP 10.0.0.130 lies in the route 10.0.0.128/26" "$LOGDIR/server.log" || fail "server did not log the route"
refused r4 "FEC shape larger than the server accepts"
[ "$(nsess)" = 1 ] || fail "the server holds $(nsess) sessions, want only A's"
ping_ok a 10.0.0.1 || fail "A lost its tunnel"

say "an advert covering the server's or a client's tunnel IP is refused although allowed"
cli b 10.0.0.12/24
wait_for 10 "B up" sessions_up b lwtc
cli c 10.0.0.13/24 -routes 10.0.0.0/25,192.168.60.0/24
wait_for 10 "C up" sessions_up c lwtc
wait_for 10 "C told" grep -q "server refused 10.0.0.0/25: covers the server's or another client's tunnel address" "$LOGDIR/c.log"
grep -q "server accepted 192.168.60.0/24" "$LOGDIR/c.log" || fail "C's other route not accepted"
nsx s ip route show dev lwts | grep -q "^10.0.0.0/25" && fail "the covering route was installed"
ping_ok b 10.0.0.11 || fail "B cannot reach A"
ping_ok s 10.0.0.12 || fail "server cannot reach B"
[ "$(nsess)" = 3 ] || fail "the server holds $(nsess) sessions, want 3"
say PASS
