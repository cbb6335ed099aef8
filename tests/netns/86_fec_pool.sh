#!/bin/bash
# SPDX-License-Identifier: MIT
# The FEC pool under pressure (user/fecpool.h). The server's pool is 1 MB
# (-fec-pool-mb 1: room for about 22 groups of 22+10 shards of the TUN MTU,
# shared out among its pollers); the client sends 6000 UDP datagrams at
# 3000 a second through a bridge that loses half of what goes to the
# server, so nearly every group misses more shards than its 10 parity make
# up and stays incomplete (a decoder keeps up to 32), more of them than the
# pool holds. Asserted: the oldest give way and are counted
# (fec_pool.evictions in the status JSON, and lwt_fec_pool_evictions_total
# in /metrics), the pool never passes its bound (peak_bytes), the data
# shards that arrive are still delivered (the server's TUN receives about
# half the datagrams), and once the traffic stops the pool's bytes in use
# and groups go back to 0 within a few seconds, through the expiry timer
# alone.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip "curl not installed"
bridged s c --seed 11

# Groups fill (22 datagrams in 7 ms) before their parity goes. Keepalives
# 30 s apart: once the traffic stops nothing but the data plane's timers
# closes the incomplete groups (1 s after their first shard).
echo '{ "keepalive": 30 }' >"$LOGDIR/ka.json"
FEC="-c $LOGDIR/ka.json -fec-data 22 -fec-parity 10 -fec-adaptive=false -fec-flush-us 200000"
# shellcheck disable=SC2086
start server s -m server -l 10.96.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts $FEC \
	-fec-pool-mb 1 -metrics-listen 127.0.0.1:9586
# shellcheck disable=SC2086
start client c -m client -r 10.96.0.1:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc $FEC
wait_for 20 "client session up" sessions_up c lwtc
wait_for 20 "server session up" sessions_up s lwts
pool() { jget s lwts ".fec_pool.$1"; }
bound=$(pool bound_bytes)
say "server pool: bound $bound bytes, in use $(pool in_use_bytes)"
[ "$bound" -eq $((1 << 20)) ] || fail "fec_pool.bound_bytes $bound, want 1048576 (-fec-pool-mb 1)"

impair_restart --seed 11 --ba-loss 50
tun_rx() { nsx s ip -j -s link show lwts | jq '.[0].stats64.rx.packets'; }
rx0=$(tun_rx)
say "6000 datagrams at 3000/s, half of what goes to the server lost"
nsx c python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t = time.time()
for i in range(6000):
    s.sendto(b"x" * 200, ("10.0.0.1", 9999))
    d = t + i / 3000 - time.time()
    if d > 0:
        time.sleep(d)
'
got=$(( $(tun_rx) - rx0 ))
ev=$(pool evictions)
peak=$(pool peak_bytes)
say "server TUN received $got of 6000; pool: evictions $ev, peak $peak of $bound bytes, refused $(pool refused)"
[ "$got" -ge 2000 ] || fail "the server's TUN received only $got of 6000: data shards not delivered?"
[ "$ev" -gt 0 ] || fail "no group evicted from a 1 MB pool (peak $peak bytes)"
[ "$peak" -le "$bound" ] || fail "the pool held $peak bytes, over its bound of $bound"
m=$(nsx s curl -s http://127.0.0.1:9586/metrics | awk '$1 == "lwt_fec_pool_evictions_total" { print $2 }')
say "/metrics: lwt_fec_pool_evictions_total $m"
[ -n "$m" ] && [ "$m" -ge "$ev" ] || fail "/metrics lwt_fec_pool_evictions_total '$m', status said $ev"

say "traffic over: the pool gives everything back"
impair_restart --seed 11
wait_for 4 "pool bytes in use back to 0" sh -c "[ \"\$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .fec_pool.in_use_bytes)\" = 0 ]"
[ "$(pool groups)" = 0 ] || fail "the pool still counts $(pool groups) groups with 0 bytes in use"
nsx c ping -n -q -c 3 -W 2 10.0.0.1 >/dev/null || fail "the tunnel no longer carries pings"
say PASS
