#!/bin/bash
# SPDX-License-Identifier: MIT
# FEC through the impairment bridge, 20 ms each way and 5% random loss each
# way, over AF_XDP (asserted): 500 pings through the tunnel lose under 0.5%
# with FEC 10+3 (about 10% without), and data never waits for parity: with
# parity flushed 20 ms after a group opens, the median RTT stays within
# 10 ms of FEC off (a data path that held packets for their parity would
# add 40 ms). 20 MB cross intact, and the pinned peers map shows the FEC
# counters (all of that with fixed parity, -fec-adaptive=false). Then
# adaptive FEC, the default: parity follows the measured loss, and a clean
# link pays under 2% of parity.
. "$(dirname "$0")/lib.sh"

bridged s c --delay-ms 20 --loss 5 --seed 42

srv() { start server s -m server -l 10.96.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts "$@"; }
cli() { start client c -m client -r 10.96.0.1:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc "$@"; }
up() {
	wait_for 20 "client session up" sessions_up c lwtc
	wait_for 20 "server session up" sessions_up s lwts
}
down() { stop "$client_PID"; stop "$server_PID"; }
fec() { jget "$1" "$2" ".peers[0].fec.$3"; }
# Pings "at 10 ms" are -i 0.009: iputils ping waits out an interval of 10
# ms or more on its socket timeout, which lands at ~16 ms; a shorter one it
# sleeps in 10 ms steps while replies are outstanding.
# ping_med NS DST COUNT INTERVAL -> "loss_pct median_rtt_ms": the median,
# unlike the mean, ignores the few pings that waited for a rebuild or met a
# busy CPU.
ping_med() {
	local out loss med
	out=$(ip netns exec "$PFX-$1" ping -n -c "$3" -i "$4" -W 2 "$2" 2>&1 || true)
	printf '%s\n' "$out" | tail -n 3 >&2
	loss=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p')
	med=$(printf '%s\n' "$out" | sed -n 's/.* time=\([0-9.]*\) ms$/\1/p' | sort -n |
		awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }')
	echo "${loss:-100} ${med:-0}"
}

say "FEC off: 500 pings"
srv -fec-parity 0
cli -fec-parity 0
up
read -r loss_off rtt_off < <(ping_med c 10.0.0.1 500 0.009)
say "FEC off: loss $loss_off%, median rtt $rtt_off ms"
down
# Two independent 5% losses: 9.75% expected; 500 samples.
jq -e -n "$loss_off >= 4" >/dev/null || fail "the bridge lost only $loss_off% without FEC"

say "FEC 10+3, parity 20 ms after a group opens: 500 pings"
srv -fec-data 10 -fec-parity 3 -fec-flush-us 20000 -fec-adaptive=false
cli -fec-data 10 -fec-parity 3 -fec-flush-us 20000 -fec-adaptive=false
up
# The path this test means: the pinned-map check below needs it.
ps=$(jget s lwts .path)
pc=$(jget c lwtc .path)
[ "$ps" = af-xdp ] && [ "$pc" = af-xdp ] || fail "data path server '$ps', client '$pc': want af-xdp"
read -r loss_on rtt_on < <(ping_med c 10.0.0.1 500 0.009)
rebuilt=$(fec s lwts packets_rebuilt)
say "FEC 10+3: loss $loss_on%, median rtt $rtt_on ms (off: $rtt_off ms); server rebuilt $rebuilt"
jq -e -n "$loss_on < 0.5" >/dev/null || fail "loss $loss_on% with FEC 10+3 (want < 0.5%)"
jq -e -n "$rtt_on - $rtt_off < 10" >/dev/null || fail "FEC added $(jq -n "$rtt_on - $rtt_off") ms to the median RTT: data waits for parity?"
[ "$rebuilt" -gt 0 ] || fail "nothing rebuilt at 5% loss"

say "20 MB under 5% loss, sha256 compared"
xfer_sha256 s 10.0.0.1 c 20 160
unrec=$(fec s lwts groups_unrecoverable)
rebuilt=$(fec s lwts packets_rebuilt)
lost=$(fec s lwts shards_lost)
dups=$(fec s lwts duplicates)
say "server FEC: shards lost $lost, rebuilt $rebuilt, groups unrecoverable $unrec, duplicates $dups"
[ "$rebuilt" -gt 100 ] || fail "too few packets rebuilt ($rebuilt)"
# The same counters in the pinned peers map (published every second), read
# through the daemon's own mount namespace where its bpffs is.
mapped() {
	nsenter -t "$server_PID" -m -n bpftool -j map dump pinned /sys/fs/bpf/lwt/lwts/xdp-v3/peers |
		jq -en "input | .[0].formatted.value.fec_packets_rebuilt >= $rebuilt and .[0].formatted.value.fec_shards_lost > 0"
}
wait_for 5 "FEC counters in the pinned peers map" mapped ||
	fail "pinned peers map lacks the FEC counters: $(nsenter -t "$server_PID" -m -n bpftool -j map dump pinned /sys/fs/bpf/lwt/lwts/xdp-v3/peers 2>&1 | head -c 600)"
nsenter -t "$server_PID" -m -n bpftool map dump pinned /sys/fs/bpf/lwt/lwts/xdp-v3/peers | grep -E '"fec_|tunnel_ip' | tr -s ' ' | tr '\n' ' '
echo
down

say "adaptive FEC (the default), ceiling 3, 5% loss: parity follows the loss"
srv
cli
up
# A new peer starts at parity 0: the first loss reports raise it.
nsbg c ping -q -i 0.009 -c 1000 10.0.0.1
warm=$BG_PID
wait_for 10 "client parity up" sh -c "[ \"\$(ip netns exec $PFX-c $CTL -i lwtc stats --json | jq .peers[0].fec.parity_now)\" -ge 1 ]"
wait_for 10 "server parity up" sh -c "[ \"\$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .peers[0].fec.parity_now)\" -ge 1 ]"
stop "$warm"
read -r loss_ad rtt_ad < <(ping_stats c 10.0.0.1 300 0.005)
pc=$(fec c lwtc parity_now)
ps=$(fec s lwts parity_now)
ppm=$(fec s lwts loss_ppm)
say "adaptive at 5%: ping loss $loss_ad%, server measured ${ppm} ppm, parity now client $pc server $ps"
[ "$pc" -ge 1 ] && [ "$ps" -ge 1 ] || fail "adaptive parity dropped to 0 on a lossy link"
jq -e -n "$loss_ad < 1" >/dev/null || fail "adaptive FEC lost $loss_ad% at 5% loss"

say "adaptive FEC on a clean link: parity stops"
impair_restart --delay-ms 20
# The first loss window after the change still holds the lossy past (and the
# bridge's restart gap); parity must reach 0 once a clean window is reported.
nsx c ping -q -c 300 -i 0.005 10.0.0.1 >/dev/null || true
wait_for 10 "client parity 0 on a clean link" sh -c "[ \"\$(ip netns exec $PFX-c $CTL -i lwtc stats --json | jq .peers[0].fec.parity_now)\" = 0 ]"
# Records sent: at parity 0 packets leave as plain IP records, not shards.
d0=$(jget c lwtc .peers[0].tx_packets)
p0=$(fec c lwtc parity_sent)
# Paced below what the bridge carries: queue drops are loss too, and the
# point here is a link without any.
bps=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf-clean.json" -t 4 -b 40M)
d1=$(jget c lwtc .peers[0].tx_packets)
p1=$(fec c lwtc parity_sent)
pc=$(fec c lwtc parity_now)
ovh=$(jq -n "($p1 - $p0) / ($d1 - $d0) * 100")
say "clean link: iperf3 $(jq -n "$bps / 1e6 | floor") Mbit/s, records $((d1 - d0)), parity $((p1 - p0)): overhead $ovh%, parity now $pc"
[ $((d1 - d0)) -gt 1000 ] || fail "too little traffic to judge ($((d1 - d0)) records)"
jq -e -n "$ovh < 2" >/dev/null || fail "FEC overhead $ovh% on a clean link"
[ "$pc" -eq 0 ] || fail "parity still $pc on a clean link"
down
assert_no_rule s
assert_no_rule c
say PASS
