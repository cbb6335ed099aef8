#!/bin/bash
# SPDX-License-Identifier: MIT
# Path MTU discovery (mtu 0) over an IPv6 underlay: client and server on
# 1500-byte links, a router between them whose routes both ways carry MTU
# 1400:
#
#   c (fd97:1::2) --1500-- r [routes mtu 1400] --1500-- s (fd97:2::2)
#
# (a) ICMPv6 Packet Too Big arrives: both sides find path MTU 1400, by
#     ICMP; the client's TUN MTU, in `ip link` and `lwt-ctl status`, is
#     1400 - 117 = 1283 (lwt's 97 bytes and IPv6's 20 more); the server
#     gives the client's tunnel IP a host route of MTU 1283;
# (b) Packet Too Big dropped on the router (a black hole): the same, found
#     by probes;
# in both: a ping larger than the TUN with DF fails, one of the TUN's size
# crosses, 4 MB each way compared by sha256, and the router forwarded no
# IPv6 fragment.
. "$(dirname "$0")/lib.sh"

PMTU=1400
INNER=$((PMTU - 117))

routed_hosts6
nsx r ip -6 route replace fd97:1::/64 dev v-r-c proto kernel metric 256 mtu $PMTU
nsx r ip -6 route replace fd97:2::/64 dev v-r-s proto kernel metric 256 mtu $PMTU
router_fw() {
	nsx r nft -f - <<NFT
table ip6 pm
delete table ip6 pm
table ip6 pm {
	counter frags { }
	counter ptb { }
	chain pmfwd {
		type filter hook forward priority 0;
		exthdr frag exists counter name frags
	}
	chain pmout {
		type filter hook output priority 0;
		icmpv6 type packet-too-big counter name ptb $1
	}
}
NFT
}
ctr() { nsx r nft -j list counter ip6 pm "$1" | jq '.nftables[] | select(.counter) | .counter.packets'; }
tun_mtu() { ip -n "$PFX-$1" -o link show "$2" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'; }
pm() { jget c lwtc ".pmtu.$1"; }
settled() { [ "$(pm state)" = "done" ] && [ "$(jget s lwts '.peers[0].pmtu.state // ""')" = "done" ]; }

for c in "a:accept:icmp" "b:drop:probes"; do
	IFS=: read -r name verdict by <<<"$c"
	say "($name) ICMPv6 Packet Too Big: $verdict on the router"
	router_fw "$verdict"
	start server s -m server -l '[::]:9000' -t 10.0.0.1/24 -k "$KEY" -tun-name lwts -mtu 0
	# The server's anti-RST rule stands before the client's first SYN.
	wait_for 5 "server listening" grep -q "listening on" "$LOGDIR/server.log"
	start client c -m client -r '[fd97:2::2]:9000' -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc -mtu 0
	wait_for 10 "session up" sessions_up c lwtc
	wait_for 15 "both sides settled" settled || {
		ctl c lwtc status --json | jq .pmtu; ctl s lwts status --json | jq '.peers[0].pmtu'
		fail "($name) path MTU search did not settle"
	}
	ctl c lwtc status --json | jq -c .pmtu
	ctl s lwts status --json | jq -c '.peers[0].pmtu'
	[ "$(pm path_mtu)" = $PMTU ] || fail "($name) client found path MTU $(pm path_mtu), want $PMTU"
	[ "$(pm found_by)" = "$by" ] || fail "($name) client found it by '$(pm found_by)', want $by"
	[ "$(tun_mtu c lwtc)" = $INNER ] || fail "($name) ip link: lwtc MTU $(tun_mtu c lwtc), want $INNER"
	[ "$(jget c lwtc .tun_mtu)" = $INNER ] || fail "($name) status: tun_mtu $(jget c lwtc .tun_mtu), want $INNER"
	[ "$(jget s lwts '.peers[0].pmtu.path_mtu')" = $PMTU ] ||
		fail "($name) server found path MTU $(jget s lwts '.peers[0].pmtu.path_mtu'), want $PMTU"
	nsx s ip route show 10.0.0.2/32 dev lwts | grep -q "mtu $INNER" ||
		fail "($name) server: no route of MTU $INNER to the client: $(nsx s ip route show dev lwts)"
	[ "$(ctr ptb)" -gt 0 ] || fail "($name) the router sent no Packet Too Big"
	nsx c ping -c 1 -W 1 -M do -s $((INNER + 100)) 10.0.0.1 >"$LOGDIR/big-ping.txt" 2>&1 &&
		fail "($name) a ping over the TUN MTU crossed with DF"
	nsx c ping -c 3 -i 0.2 -W 2 -q -M do -s $((INNER - 28)) 10.0.0.1 | grep -q ' 0% packet loss' ||
		fail "($name) full-size pings ($INNER) with DF do not cross"
	xfer_sha256 s 10.0.0.1 c 4 30
	xfer_sha256 c 10.0.0.2 s 4 30
	[ "$(ctr frags)" = 0 ] || fail "($name) $(ctr frags) IPv6 fragments forwarded"
	stop "$client_PID"
	stop "$server_PID"
done
say PASS
