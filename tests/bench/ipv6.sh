#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench, IPv6 underlay: tunnel throughput over IPv6 against IPv4 on
# the same path. One veth between client and server carrying both an IPv4
# and an IPv6 address; one dual-stack server (-l [::]:9000); the client
# connects over IPv4 (-r 10.99.0.1:9000) or over IPv6 (-r [fd99::1]:9000),
# the two alternating, LWT_BENCH_IPV6_RUNS (3) times each, per data path
# (AF_XDP native, raw sockets). Both use a fixed TUN MTU of 1380, so the
# inner traffic is the same and only the outer header differs (72 bytes
# instead of 52). Each run: iperf3 client -> server for SECS seconds;
# reported: the median per family and the ratio IPv6/IPv4. Then inner IPv4
# against inner IPv6 through one dual-stack tunnel. The machine may
# be shared: figures are what this run saw. Asserts nothing about speed.
# Writes build/bench/ipv6.json.
. "$(dirname "$0")/lib.sh"
RUNS=${LWT_BENCH_IPV6_RUNS:-3}

add_ns s
add_ns c
link s c 10.99.0.1/24 10.99.0.2/24
ip -n "$PFX-s" addr add fd99::1/64 dev v-s-c nodad
ip -n "$PFX-c" addr add fd99::2/64 dev v-c-s nodad

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
results="[]"
for path in native raw; do
	args=""; [ $path = raw ] && args="-xdp=false"
	start server s -m server -l '[::]:9000' -t 10.0.0.1/24 -k "$KEY" -tun-name lwts -mtu 1380 $args
	wait_for 5 "server up" ip -n "$PFX-s" link show lwts
	: >"$LOGDIR/v4.txt"
	: >"$LOGDIR/v6.txt"
	for i in $(seq "$RUNS"); do
		for fam in v4 v6; do
			r=10.99.0.1:9000; [ $fam = v6 ] && r='[fd99::1]:9000'
			start client c -m client -r "$r" -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc -mtu 1380 $args
			wait_for 10 "client up" sessions_up c lwtc
			bps=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf-$path-$fam-$i.json" -t "$SECS")
			say "$path $fam run $i: $(jq -n "$bps/1e6|floor") Mbit/s"
			echo "$bps" >>"$LOGDIR/$fam.txt"
			stop "$client_PID"
		done
	done
	stop "$server_PID"
	m4=$(median <"$LOGDIR/v4.txt")
	m6=$(median <"$LOGDIR/v6.txt")
	ratio=$(jq -n "if $m4 > 0 then $m6 / $m4 else 0 end")
	say "$path: IPv4 median $(jq -n "$m4/1e6|floor") Mbit/s, IPv6 median $(jq -n "$m6/1e6|floor") Mbit/s, IPv6/IPv4 $(jq -n "$ratio*1000|floor/1000")"
	results=$(jq -c --arg p "$path" --argjson a "$m4" --argjson b "$m6" --argjson r "$ratio" \
		'. + [{path: $p, v4_bps: $a, v6_bps: $b, ratio: $r}]' <<<"$results")
done
# Inside: one dual-stack tunnel (10.0.0.x/24,fd00::x/64) over the IPv4
# underlay on AF_XDP; iperf3 to the server's inner IPv4 and IPv6 address,
# alternating (the TUN's coalescing of received TCP, gso.c, serves both).
start server s -m server -l 10.99.0.1:9000 -t 10.0.0.1/24,fd00::1/64 -k "$KEY" -tun-name lwts -mtu 1380
wait_for 5 "server up" ip -n "$PFX-s" link show lwts
start client c -m client -r 10.99.0.1:9000 -t 10.0.0.2/24,fd00::2/64 -k "$KEY" -tun-name lwtc -mtu 1380
wait_for 10 "client up" sessions_up c lwtc
wait_for 10 "inner IPv6 accepted" ip6_accepted c lwtc
: >"$LOGDIR/in4.txt"
: >"$LOGDIR/in6.txt"
for i in $(seq "$RUNS"); do
	for fam in in4 in6; do
		dst=10.0.0.1; [ $fam = in6 ] && dst=fd00::1
		bps=$(iperf_run s "$dst" c "$LOGDIR/iperf-inner-$fam-$i.json" -t "$SECS")
		say "inner $fam run $i: $(jq -n "$bps/1e6|floor") Mbit/s"
		echo "$bps" >>"$LOGDIR/$fam.txt"
	done
done
stop "$client_PID"
stop "$server_PID"
m4=$(median <"$LOGDIR/in4.txt")
m6=$(median <"$LOGDIR/in6.txt")
ratio=$(jq -n "if $m4 > 0 then $m6 / $m4 else 0 end")
say "inside: IPv4 median $(jq -n "$m4/1e6|floor") Mbit/s, IPv6 median $(jq -n "$m6/1e6|floor") Mbit/s, IPv6/IPv4 $(jq -n "$ratio*1000|floor/1000")"
results=$(jq -c --argjson a "$m4" --argjson b "$m6" --argjson r "$ratio" \
	'. + [{path: "inner-native", v4_bps: $a, v6_bps: $b, ratio: $r}]' <<<"$results")
jq -n --argjson r "$results" --argjson runs "$RUNS" --argjson secs "$SECS" \
	'{runs: $runs, seconds: $secs, tun_mtu: 1380, results: $r}' | tee "$OUT/ipv6.json"
