#!/bin/bash
# SPDX-License-Identifier: MIT
# Adaptive FEC (the default) leaves congestion loss alone: a clean link
# capped at 20 Mbit/s with a 50-packet queue (30 ms when full), driven into
# that queue by iperf3 (4 streams) through the tunnel. The bridge drops from its full
# queue (asserted from its own counters), the client's loss reports show it,
# and the client judges it congestion (RTT far above the path's minimum):
# congestion_holds > 0, no parity raised, parity under 2% of the records
# sent, parity 0 at the end. (A fixed 10+3, or adaptive FEC that took
# queue drops for random loss, sends 10-30% parity here.)
. "$(dirname "$0")/lib.sh"

bridged s c --rate-mbit 20 --limit-pkts 50
start server s -m server -l 10.96.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
start client c -m client -r 10.96.0.1:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc
wait_for 20 "client session up" sessions_up c lwtc
wait_for 20 "server session up" sessions_up s lwts
fec() { jget c lwtc ".peers[0].fec.$1"; }

[ "$(jget c lwtc .peers[0].fec.parity_now)" = 0 ] || fail "a new session starts at parity $(fec parity_now), want 0"
# An RTT sample of the idle path first (the keepalives give one).
wait_for 15 "client path RTT measured" sh -c "[ \"\$(ip netns exec $PFX-c $CTL -i lwtc stats --json | jq '.peers[0].fec.rtt_min_us')\" -gt 0 ]" ||
	fail "no RTT sample on an idle session"
# Records sent: at parity 0 packets leave as plain IP records, not shards.
d0=$(jget c lwtc .peers[0].tx_packets)
p0=$(fec parity_sent)
bps=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf.json" -t 8 -P 4)
d1=$(jget c lwtc .peers[0].tx_packets)
p1=$(fec parity_sent)
holds=$(fec congestion_holds)
raises=$(fec parity_raises)
ppm=$(fec peer_loss_ppm)
say "iperf3 $(jq -n "$bps / 1e6 | floor") Mbit/s; client: records $((d1 - d0)), parity $((p1 - p0)), congestion holds $holds, raises $raises, srtt $(fec srtt_us) us, min $(fec rtt_min_us) us, last reported loss $ppm ppm"
stop "$IMPAIR_PID"
qdrops=$(jq .ba.dropped_queue "$LOGDIR/impair.json")
say "bridge: client->server queue drops $qdrops"
[ "$qdrops" -gt 0 ] || fail "the bridge's queue never overflowed: nothing tested"
[ "$holds" -gt 0 ] || fail "queue drops ($qdrops) were never judged congestion"
[ "$raises" -eq 0 ] || fail "parity raised $raises times on congestion loss"
ovh=$(jq -n "($p1 - $p0) / ($d1 - $d0 + 1) * 100")
jq -e -n "$ovh < 2" >/dev/null || fail "parity $ovh% of the data on a congested clean link"
[ "$(fec parity_now)" = 0 ] || fail "parity $(fec parity_now) after congestion"
stop "$client_PID"
stop "$server_PID"
assert_no_rule s
assert_no_rule c
say PASS
