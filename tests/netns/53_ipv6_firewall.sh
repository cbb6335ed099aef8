#!/bin/bash
# SPDX-License-Identifier: MIT
# The IPv6 underlay through a strict stateful firewall, and lwt's anti-RST
# rule for IPv6. (1) A router that drops and counts conntrack-invalid
# packets (ct state invalid, nf_conntrack_tcp_be_liberal=0) carries iperf3
# each way over IPv6, and inner IPv6 (a dual-stack tunnel: ping6, 20 MB
# sha256, iperf3 -6); then, the underlay dual-stack, a second client over
# IPv4 to the same [::] server beside it (iperf3, inner IPv6 likewise): the
# invalid counter is still 0. The client's rule is
# nft "ip6 daddr"; on raw sockets, where the kernel sees the segments, it is
# what drops the kernel's RSTs. (2) nft hidden: the server on [::] falls
# back to an iptables and an ip6tables chain, the client to ip6tables; the
# chains drop the kernel's RSTs, none reaches the router, traffic flows.
. "$(dirname "$0")/lib.sh"

SECS=${LWT_FW_SECONDS:-3}
routed_hosts6
# Dual stack: the router's server side and the server get IPv4 too, and a
# second client reaches the server over IPv4 through the same firewall.
add_ns c4
link c4 r 10.97.3.2/24 10.97.3.1/24
ip -n "$PFX-r" addr add 10.97.2.1/24 dev v-r-s
ip -n "$PFX-s" addr add 10.97.2.2/24 dev v-s-r
nsx c4 ip route add default via 10.97.3.1
nsx s ip route add default via 10.97.2.1
nsx r sysctl -qw net.ipv4.ip_forward=1
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
start server s -m server -l '[::]:9000' -t 10.0.0.1/24,fd00::1/64 -k "$KEY" -tun-name lwts
# The server's anti-RST rule stands before the client's first SYN.
wait_for 5 "server listening" grep -q "listening on" "$LOGDIR/server.log"
start client c -m client -r '[fd97:2::2]:9000' -t 10.0.0.2/24,fd00::2/64 -k "$KEY" -tun-name lwtc
wait_for 10 "session up" sessions_up c lwtc
nsx c nft list table inet lwt_lwtc | tee "$LOGDIR/client-rule.txt"
grep -q 'ip6 daddr fd97:2::2 tcp dport 9000' "$LOGDIR/client-rule.txt" ||
	fail "the client's anti-RST rule does not name the IPv6 server"
for dir in up down; do
	extra=""; [ $dir = down ] && extra="-R"
	bps=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf-$dir.json" -t "$SECS" $extra)
	say "iperf3 $dir: $(jq -n "$bps/1e6|floor") Mbit/s"
	jq -e "$bps > 1e6" >/dev/null <<<null || fail "iperf3 $dir carried under 1 Mbit/s"
done
inner6_traffic s fd00::1 c lwtc
say "dual stack: a client over IPv4 through the same firewall, beside the IPv6 one"
start client4 c4 -m client -r 10.97.2.2:9000 -t 10.0.0.3/24,fd00::3/64 -k "$KEY" -tun-name lwtc4
wait_for 10 "IPv4 client up" sessions_up c4 lwtc4
wait_for 5 "server holds both" sessions_up s lwts 2
eps=$(jget s lwts '[.peers[].endpoint] | sort | join(" ")')
say "server endpoints: $eps"
[[ "$eps" == *"10.97.3.2:"* && "$eps" == *"[fd97:1::2]:"* ]] || fail "endpoints $eps, want one of each family"
bps=$(iperf_run s 10.0.0.1 c4 "$LOGDIR/iperf-c4.json" -t "$SECS")
say "iperf3 over IPv4: $(jq -n "$bps/1e6|floor") Mbit/s"
jq -e "$bps > 1e6" >/dev/null <<<null || fail "iperf3 over IPv4 carried under 1 Mbit/s"
inner6_traffic s fd00::1 c4 lwtc4
nsx c ping -c 5 -i 0.05 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "the IPv6 client lost traffic beside the IPv4 one"
nsx r nft list counters
inv=$(nsx r nft -j list counter inet fw cnt_invalid | jq '.nftables[] | select(.counter) | .counter.packets')
est=$(nsx r nft -j list counter inet fw cnt_est | jq '.nftables[] | select(.counter) | .counter.packets')
say "router: invalid $inv, established $est"
[ "$est" -gt 1000 ] || fail "the router did not track the flow as established"
[ "$inv" -eq 0 ] || fail "the router's conntrack found $inv invalid packets"
case "${LWT_EXTRA_ARGS:-}" in
*xdp=false*)
	# Raw sockets: the kernel saw every segment and answered with RSTs.
	dropped=$(nsx c nft -j list table inet lwt_lwtc |
		jq '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | add')
	say "client's rule dropped $dropped kernel RSTs"
	[ "$dropped" -gt 0 ] || fail "the client's ip6 rule dropped no RST"
	;;
esac
stop "$client4_PID"
stop "$client_PID"
stop "$server_PID"

command -v ip6tables >/dev/null || skip "no ip6tables binary (part 2)"
nft=$(command -v nft || true)
[ -n "$nft" ] || skip "no nft binary to hide (part 2)"
say "part 2: nft hidden: iptables and ip6tables chains"
nsbg r timeout 60 tcpdump -i v-r-s -n -U -s 96 -w "$LOGDIR/rst.pcap" 'ip6' 2>/dev/null
dump_pid=$BG_PID
wait_for 5 "tcpdump running" test -s "$LOGDIR/rst.pcap"
export LWT_HIDE="/usr/sbin/nft /usr/bin/nft"
for f in $LWT_HIDE; do [ -e "$f" ] || LWT_HIDE=${LWT_HIDE/$f/}; done
start server s -m server -l '[::]:9000' -t 10.0.0.1/24 -k "$KEY" -tun-name lwts -xdp=false
# The server's anti-RST rule stands before the client's first SYN.
wait_for 5 "server listening" grep -q "listening on" "$LOGDIR/server.log"
start client c -m client -r '[fd97:2::2]:9000' -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc -xdp=false
unset LWT_HIDE
wait_for 10 "client session up" sessions_up c lwtc
wait_for 5 "server session up" sessions_up s lwts
grep -q "firewall: iptables chain LWT-lwts" "$LOGDIR/server.log" || fail "server: no iptables chain"
grep -q "firewall: ip6tables chain LWT-lwts" "$LOGDIR/server.log" || fail "server: no ip6tables chain"
grep -q "firewall: ip6tables chain LWT-lwtc" "$LOGDIR/client.log" || fail "client: no ip6tables chain"
# drops6 NS: packets the ip6tables chain's DROP rule has matched.
drops6() { nsx "$1" ip6tables -w -L LWT-"$2" -v -n -x | awk '$3 == "DROP" {s += $1} END {print s + 0}'; }
nsx c ping -c 20 -i 0.05 -W 1 -q 10.0.0.1 | tee "$LOGDIR/ping.txt"
grep -q ' 0% packet loss' "$LOGDIR/ping.txt" || fail "loss through the tunnel"
xfer_sha256 s 10.0.0.1 c 4
ds=$(drops6 s lwts)
dc=$(drops6 c lwtc)
stop "$dump_pid"
rst=$(nsx r tcpdump -r "$LOGDIR/rst.pcap" -n 2>/dev/null | grep -c 'Flags \[R' || true)
say "kernel RSTs dropped by ip6tables: server $ds, client $dc; RSTs at the router: $rst"
[ "$ds" -gt 0 ] || fail "the server's ip6tables chain dropped no RST"
[ "$dc" -gt 0 ] || fail "the client's ip6tables chain dropped no RST"
[ "$rst" -eq 0 ] || fail "$rst RSTs reached the router"
stop "$client_PID"
stop "$server_PID"
assert_no_rule s
assert_no_rule c
say PASS
