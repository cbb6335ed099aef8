#!/bin/bash
# SPDX-License-Identifier: MIT
# Path MTU discovery (mtu 0, issue 12): client and server each on a
# 1500-byte link, a router between them whose routes both ways carry MTU
# 1280 (the router sends what does not fit back as ICMP "fragmentation
# needed", or drops it when the router's own ICMP is dropped):
#
#   c (10.97.1.2) --1500-- r [routes mtu 1280] --1500-- s (10.97.2.2)
#   c2 (10.97.4.2) --1500-/  (c2 <-> s: 1500)
#
# (a) ICMP arrives: the client finds path MTU 1280 and its TUN MTU, in
#     `ip link` and in `lwt-ctl status`, becomes 1280 - 97 = 1183, found by
#     ICMP; the server finds 1280 to the client and gives its tunnel IP a
#     host route of MTU 1183;
# (b) ICMP dropped by nft on the router (a black hole): the same, found by
#     probes vanishing;
# in both: a ping of 1400 with DF fails at the client's TUN, one of 1183
# crosses; 5 MB each way compared by sha256; the router forwarded no lwt
# segment without DF and no fragment, and fragmented nothing.
#     Then (b only) the path shrinks to 1200 under the settled sessions:
#     the periodic confirmation finds the black hole, both sides search
#     again and settle at 1200, transfers complete.
#     Then (a only) a forged ICMP frag-needed quoting the client's flow is
#     refuted by a confirmation probe (path MTU unchanged); the path
#     shrinking to 1200 is found through the router's ICMP within seconds.
#     And (a only) a second client on a 1500-byte path sends 5 MB to the
#     first through the hub: the hub answers packets too large for the
#     first client's path with ICMP frag-needed, the transfer completes.
# (c) a fixed mtu on both sides: nothing probes (no lwt segment over 1200
#     bytes at the router, status says "off"), the TUN keeps its MTU.
. "$(dirname "$0")/lib.sh"

PMTU=1280
INNER=$((PMTU - 97))

routed_hosts
# A second client (case a) behind the router too, on a path of 1500: the
# router's MTU 1280 towards the server holds for c's packets only (a
# policy rule by source).
add_ns c2
link c2 r 10.97.4.2/24 10.97.4.1/24
nsx c2 ip route add default via 10.97.4.1
nsx r ip rule add from 10.97.1.0/24 lookup 100
# router_mtu M: the path between c and s carries M bytes, both ways.
router_mtu() {
	nsx r ip route replace 10.97.1.0/24 dev v-r-c proto kernel scope link src 10.97.1.1 mtu "$1"
	nsx r ip route replace 10.97.2.0/24 dev v-r-s src 10.97.2.1 table 100 mtu "$1"
}
router_mtu $PMTU

# The router counts: lwt segments with and without DF, fragments, segments
# over 1200 bytes; its own ICMP frag-needed (dropped in case b).
router_fw() {
	local icmp=$1
	nsx r nft -f - <<NFT
table ip pm
delete table ip pm
table ip pm {
	counter df { }
	counter nodf { }
	counter frags { }
	counter big { }
	counter ptb { }
	chain pmfwd {
		type filter hook forward priority 0;
		ip frag-off & 0x3fff != 0 counter name frags
		tcp sport 9000 ip frag-off & 0x4000 == 0 counter name nodf
		tcp dport 9000 ip frag-off & 0x4000 == 0 counter name nodf
		tcp sport 9000 ip frag-off & 0x4000 != 0 counter name df
		tcp dport 9000 ip frag-off & 0x4000 != 0 counter name df
		tcp sport 9000 meta length > 1200 counter name big
		tcp dport 9000 meta length > 1200 counter name big
	}
	chain pmout {
		type filter hook output priority 0;
		icmp type destination-unreachable icmp code frag-needed counter name ptb $icmp
	}
}
NFT
}
ctr() { nsx r nft -j list counter ip pm "$1" | jq '.nftables[] | select(.counter) | .counter.packets'; }
tun_mtu() { ip -n "$PFX-$1" -o link show "$2" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'; }
pm() { jget c lwtc ".pmtu.$1"; }
srv() { start server s -m server -l 10.97.2.2:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts "$@"; }
cli() { start client c -m client -r 10.97.2.2:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc "$@"; }
settled() { [ "$(pm state)" = "done" ] && [ "$(jget s lwts '.peers[0].pmtu.state // ""')" = "done" ]; }

# no_frags WHAT: every lwt segment the router forwarded so far carried DF,
# none was a fragment, the router fragmented nothing.
no_frags() {
	[ "$(ctr nodf)" = 0 ] || fail "($1) $(ctr nodf) lwt segments without DF"
	[ "$(ctr frags)" = 0 ] || fail "($1) $(ctr frags) fragments forwarded"
	[ "$(nsx r nstat -az IpFragCreates | awk '/IpFragCreates/ {print $2}')" = 0 ] ||
		fail "($1) the router fragmented packets"
}

# case NAME ICMP_VERDICT FOUND_BY
pmtu_case() {
	local name=$1 verdict=$2 by=$3 st
	say "($name) ICMP $verdict on the router"
	router_fw "$verdict"
	router_mtu $PMTU
	# The last case's ICMP taught the hosts' kernels the path MTU (on raw
	# sockets the TCP raw socket takes it): lwt's segments must not heed
	# it (IP_PMTUDISC_PROBE), or (b) would see a local frag-needed, no
	# black hole. No route cache flush here on purpose.
	srv -mtu 0
	cli -mtu 0
	wait_for 10 "session up" sessions_up c lwtc
	wait_for 15 "both sides settled" settled || {
		ctl c lwtc status --json | jq .pmtu; ctl s lwts status --json | jq '.peers[0].pmtu'
		fail "($name) path MTU search did not settle"
	}
	ctl c lwtc status --json | jq -c .pmtu
	ctl s lwts status --json | jq -c '.peers[0].pmtu'
	no_frags "$name, search"
	[ "$(pm path_mtu)" = $PMTU ] || fail "($name) client found path MTU $(pm path_mtu), want $PMTU"
	[ "$(pm found_by)" = "$by" ] || fail "($name) client found it by '$(pm found_by)', want $by"
	[ "$(tun_mtu c lwtc)" = $INNER ] || fail "($name) ip link: lwtc MTU $(tun_mtu c lwtc), want $INNER"
	[ "$(jget c lwtc .tun_mtu)" = $INNER ] || fail "($name) status: tun_mtu $(jget c lwtc .tun_mtu), want $INNER"
	st=$(ctl c lwtc status)
	printf '%s\n' "$st" | grep -q "mtu $INNER  path mtu $PMTU (done, by $by)" ||
		fail "($name) lwt-ctl status does not show the path MTU: $(printf '%s\n' "$st" | grep '^tun:')"
	[ "$(jget s lwts '.peers[0].pmtu.path_mtu')" = $PMTU ] ||
		fail "($name) server found path MTU $(jget s lwts '.peers[0].pmtu.path_mtu'), want $PMTU"
	[ "$(jget s lwts '.peers[0].pmtu.found_by')" = "$by" ] ||
		fail "($name) server found it by '$(jget s lwts '.peers[0].pmtu.found_by')', want $by"
	nsx s ip route show 10.0.0.2/32 dev lwts | grep -q "mtu $INNER" ||
		fail "($name) server: no route of MTU $INNER to the client's tunnel IP: $(nsx s ip route show dev lwts)"
	if [ "$verdict" = drop ]; then
		[ "$(ctr ptb)" -gt 0 ] || fail "($name) the router dropped no ICMP: no black hole tested"
	else
		[ "$(ctr ptb)" -gt 0 ] || fail "($name) the router sent no ICMP frag-needed"
	fi
	nsx c ping -c 1 -W 1 -M do -s 1400 10.0.0.1 >"$LOGDIR/big-ping.txt" 2>&1 &&
		fail "($name) a 1428-byte ping with DF crossed a TUN of MTU $INNER"
	nsx c ping -c 3 -i 0.2 -W 2 -q -M do -s $((INNER - 28)) 10.0.0.1 | grep -q ' 0% packet loss' ||
		fail "($name) full-size pings ($INNER) with DF do not cross"
	xfer_sha256 s 10.0.0.1 c 5 30
	xfer_sha256 c 10.0.0.2 s 5 30
	no_frags "$name, transfers"
	[ "$(ctr df)" -gt 1000 ] || fail "($name) only $(ctr df) lwt segments counted: the counters see nothing"
	[ "$verdict" = drop ] && path_shrinks
	[ "$verdict" = accept ] && hub_relay && icmp_change
	stop "$client_PID"
	stop "$server_PID"
}

# (b, then) the path shrinks to 1200 under settled sessions, still without
# ICMP: the periodic confirmation probe vanishes while the base gets
# through, both sides declare a black hole and search again.
path_shrinks() {
	say "(b) the path shrinks to 1200, no ICMP"
	router_mtu 1200
	wait_for 30 "both sides found 1200" sh -c "[ \"\$(ip netns exec $PFX-c $CTL -i lwtc status --json | jq -c '[.pmtu.state, .pmtu.path_mtu]')\" = '[\"done\",1200]' ] &&
		[ \"\$(ip netns exec $PFX-s $CTL -i lwts status --json | jq -c '[.peers[0].pmtu.state, .peers[0].pmtu.path_mtu]')\" = '[\"done\",1200]' ]" || {
		ctl c lwtc status --json | jq -c .pmtu; ctl s lwts status --json | jq -c '.peers[0].pmtu'
		fail "(b) the smaller path MTU was not found"
	}
	ctl c lwtc status --json | jq -c .pmtu
	[ "$(pm black_holes)" -ge 1 ] || fail "(b) no black hole counted at the client"
	[ "$(jget s lwts '.peers[0].pmtu.black_holes')" -ge 1 ] || fail "(b) no black hole counted at the server"
	[ "$(tun_mtu c lwtc)" = $((1200 - 97)) ] || fail "(b) lwtc MTU $(tun_mtu c lwtc) after the change, want $((1200 - 97))"
	nsx s ip route show 10.0.0.2/32 dev lwts | grep -q "mtu $((1200 - 97))" || fail "(b) server route MTU not lowered"
	xfer_sha256 s 10.0.0.1 c 2 30
	xfer_sha256 c 10.0.0.2 s 2 30
}

# (a, then) a second client, c2, on a 1500-byte path sends 5 MB to the
# first through the hub: a ping of 1328 bytes with DF (TUN MTU 1403) is too
# large for the first client's path; the hub answers it with ICMP
# frag-needed naming 1183 (the relay does not pass the server's kernel and
# its route MTU), c2's kernel learns it, pings of 1183 cross; 5 MB by TCP.
hub_relay() {
	say "(a) hub relay from a client on a larger path"
	start client2 c2 -m client -r 10.97.2.2:9000 -t 10.0.0.3/24 -k "$KEY" -tun-name lwtc2 -mtu 0
	wait_for 10 "c2 up" sessions_up c2 lwtc2
	wait_for 10 "c2 settled" sh -c "[ \"\$(ip netns exec $PFX-c2 $CTL -i lwtc2 status --json | jq -r .pmtu.state)\" = done ]"
	[ "$(jget c2 lwtc2 .pmtu.path_mtu)" = 1500 ] || fail "(a) c2's path MTU $(jget c2 lwtc2 .pmtu.path_mtu), want 1500"
	[ "$(tun_mtu c2 lwtc2)" = 1403 ] || fail "(a) lwtc2 MTU $(tun_mtu c2 lwtc2), want 1403"
	# TCP would not show it (c's SYN-ACK announces MSS 1143): a ping of
	# 1328 bytes with DF, which the hub answers.
	nsx c2 ping -c 1 -W 2 -M do -s 1300 10.0.0.2 >"$LOGDIR/relay-ping.txt" 2>&1 || true
	cat "$LOGDIR/relay-ping.txt"
	grep -q "Frag needed and DF set (mtu = $INNER)" "$LOGDIR/relay-ping.txt" ||
		fail "(a) no ICMP frag-needed from the hub for a 1328-byte ping to c"
	n=$(jget s lwts '[.peers[] | select(.tunnel_ip == "10.0.0.2") | .drop_too_big][0]')
	[ "$n" -gt 0 ] || fail "(a) the hub limited nothing to the client (drop_too_big $n)"
	nsx c2 ip route get 10.0.0.2 | grep -q "mtu $INNER" ||
		fail "(a) c2's kernel did not learn MTU $INNER towards 10.0.0.2: $(nsx c2 ip route get 10.0.0.2)"
	nsx c2 ping -c 3 -i 0.2 -W 2 -q -M do -s $((INNER - 28)) 10.0.0.2 | grep -q ' 0% packet loss' ||
		fail "(a) full-size pings ($INNER) from c2 to c do not cross the hub"
	xfer_sha256 c 10.0.0.2 c2 5 30
	stop "$client2_PID"
}

# (a, then) ICMP under settled sessions: a forged frag-needed (sent to the
# client by a local raw socket, quoting its flow, naming 600) is refuted by
# a confirmation probe; the path really shrinking to 1200 is taken from
# the router's ICMP after one confirmation.
forge_ptb() {
	nsx c python3 - <<'PY'
import socket, struct
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
q = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 1500, 0, 0x4000, 64, 6, 0,
                socket.inet_aton("10.97.1.2"), socket.inet_aton("10.97.2.2"))
q += struct.pack("!HHI", 40000, 9000, 1)
m = struct.pack("!BBHHH", 3, 4, 0, 0, 600) + q
m = m[:2] + struct.pack("!H", csum(m)) + m[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.sendto(m, ("10.97.1.2", 0))
PY
}
icmp_change() {
	say "(a) a forged ICMP naming 600 under a settled session"
	forge_ptb
	wait_for 5 "the forged ICMP refuted" sh -c "ip netns exec $PFX-c $CTL -i lwtc status --json | jq -en 'input | .pmtu.icmp_refuted >= 1'" ||
		fail "(a) a forged ICMP was not refuted: $(ctl c lwtc status --json | jq -c .pmtu)"
	[ "$(pm path_mtu)" = $PMTU ] && [ "$(tun_mtu c lwtc)" = $INNER ] ||
		fail "(a) a forged ICMP moved the path MTU: $(pm path_mtu), TUN $(tun_mtu c lwtc)"
	say "(a) the path shrinks to 1200, with ICMP"
	router_mtu 1200
	# Traffic that no longer fits makes the router speak.
	nsx c ping -c 1 -W 1 -s $((INNER - 28)) 10.0.0.1 >/dev/null 2>&1 || true
	wait_for 5 "both sides found 1200 by ICMP" sh -c "[ \"\$(ip netns exec $PFX-c $CTL -i lwtc status --json | jq -c '[.pmtu.state, .pmtu.path_mtu, .pmtu.found_by]')\" = '[\"done\",1200,\"icmp\"]' ] &&
		[ \"\$(ip netns exec $PFX-s $CTL -i lwts status --json | jq -c '[.peers[0].pmtu.state, .peers[0].pmtu.path_mtu, .peers[0].pmtu.found_by]')\" = '[\"done\",1200,\"icmp\"]' ]" || {
		ctl c lwtc status --json | jq -c .pmtu; ctl s lwts status --json | jq -c '.peers[0].pmtu'
		fail "(a) the smaller path MTU was not found by ICMP"
	}
	[ "$(tun_mtu c lwtc)" = $((1200 - 97)) ] || fail "(a) lwtc MTU $(tun_mtu c lwtc) after the change, want $((1200 - 97))"
	# ICMP named the size: no black hole, no fall to the base on the way.
	[ "$(pm black_holes)" = 0 ] || fail "(a) the change was taken as a black hole: $(ctl c lwtc status --json | jq -c .pmtu)"
	nsx c ping -c 3 -i 0.2 -W 2 -q -M do -s $((1200 - 97 - 28)) 10.0.0.1 | grep -q ' 0% packet loss' ||
		fail "(a) full-size pings after the change do not cross"
}

pmtu_case a accept icmp
pmtu_case b drop probes

say "(c) fixed mtu: no probing"
router_mtu $PMTU
router_fw accept
srv -mtu 1100
cli -mtu 1100
wait_for 10 "session up" sessions_up c lwtc
xfer_sha256 s 10.0.0.1 c 2 30
[ "$(pm state)" = off ] || fail "(c) client PMTU state $(pm state) with a fixed mtu"
[ "$(jget s lwts '.peers[0].pmtu.state // "off"')" = off ] || fail "(c) server probes with a fixed mtu"
[ "$(tun_mtu c lwtc)" = 1100 ] || fail "(c) lwtc MTU $(tun_mtu c lwtc), want 1100"
[ "$(ctr big)" = 0 ] || fail "(c) $(ctr big) lwt segments over 1200 bytes: something probed"
[ "$(ctr df)" -gt 500 ] || fail "(c) only $(ctr df) lwt segments counted"
! grep -q "mtu 0:" "$LOGDIR/client.log" "$LOGDIR/server.log" || fail "(c) a PMTU search ran"
stop "$client_PID"
stop "$server_PID"
say PASS
