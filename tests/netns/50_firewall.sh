#!/bin/bash
# SPDX-License-Identifier: MIT
# A router with a strict stateful firewall (ct state invalid dropped and
# counted, nf_conntrack_tcp_be_liberal=0) between client and server carries
# 3 s of iperf3 each way, and inner IPv6 (the tunnel is dual-stack: ping6,
# 20 MB sha256, iperf3 -6), with its invalid counter still 0.
. "$(dirname "$0")/lib.sh"

SECS=${LWT_FW_SECONDS:-3}
routed_hosts
nsx r nft -f - <<'NFT'
table inet fw {
	counter cnt_invalid { }
	counter cnt_est { }
	chain forward_chain {
		type filter hook forward priority 0; policy accept;
		ct state invalid counter name cnt_invalid drop
		ct state established counter name cnt_est
	}
}
NFT
nsx r sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=0
[ "$(nsx r sysctl -n net.netfilter.nf_conntrack_tcp_be_liberal)" = 0 ] || fail "be_liberal not 0"
start server s -m server -l 10.97.2.2:9000 -t 10.0.0.1/24,fd00::1/64 -k "$KEY" -tun-name lwts
start client c -m client -r 10.97.2.2:9000 -t 10.0.0.2/24,fd00::2/64 -k "$KEY" -tun-name lwtc
wait_for 10 "session up" sessions_up c lwtc
for dir in up down; do
	extra=""; [ $dir = down ] && extra="-R"
	bps=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf-$dir.json" -t "$SECS" $extra)
	say "iperf3 $dir: $(jq -n "$bps/1e6|floor") Mbit/s"
	jq -e "$bps > 1e6" >/dev/null <<<null || fail "iperf3 $dir carried under 1 Mbit/s"
done
inner6_traffic s fd00::1 c lwtc
nsx r nft list counters
inv=$(nsx r nft -j list counter inet fw cnt_invalid | jq '.nftables[] | select(.counter) | .counter.packets')
est=$(nsx r nft -j list counter inet fw cnt_est | jq '.nftables[] | select(.counter) | .counter.packets')
say "router: invalid $inv, established $est"
[ "$est" -gt 1000 ] || fail "the router did not track the flow as established"
[ "$inv" -eq 0 ] || fail "the router's conntrack found $inv invalid packets"
say PASS
