#!/bin/bash
# SPDX-License-Identifier: MIT
# Unauthenticated floods cost no slot for good. From an attacker namespace
# on the server's LAN: plain TCP connections (the attacker's own kernel
# TCP) that each pour 64 KiB of 8-byte REJECT frames into the server while
# more plain connections arrive and close. A server sees no REJECT, HELLO_ACK
# or second HELLO from a client: they are dropped in the data plane
# (drop_handshake) and never reach the control thread, whose queue once
# filled up and lost the events that free slots. Afterwards every slot the
# attack took is free again (both the data plane's and the control thread's
# view), a legitimate client connects, its session, up before the attack,
# kept its traffic throughout, and the server's memory grew by under 16 MB.
. "$(dirname "$0")/lib.sh"

lan_switch
lan_host s 10.98.0.1/24
lan_host c 10.98.0.2/24
lan_host x 10.98.0.66/24
# The attacker's kernel leaves TCP checksums to an offload veth never does;
# lwt drops such segments as malformed. Finished in software here.
nsx x ethtool -K v-x tx off >/dev/null
start server s -m server -l 10.98.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts -max-clients 8
start client c -m client -r 10.98.0.1:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc
wait_for 10 "client up" sessions_up c lwtc
sid=$(jget c lwtc '.peers[0].session_id')

rss() { awk '/^VmRSS/ {print $2}' /proc/"$server_PID"/status; }
rss0=$(rss)
say "the attacker pours REJECT frames into plain TCP connections while others connect"
# 8192 frames: type 3 (REJECT), flags 0, length 4, reason 1, pad.
printf '\003\000\000\004\001\000\000\000%.0s' $(seq 8192) >"$LOGDIR/rejects.bin"
[ "$(stat -c %s "$LOGDIR/rejects.bin")" = 65536 ] || fail "frame file not 64 KiB"
nsbg c ping -i 0.02 -c 400 -W 1 10.0.0.1 >"$LOGDIR/ping.txt" 2>&1
pingpid=$BG_PID
attack=()
for round in 1 2 3; do
	for i in 1 2 3 4; do
		nsbg x timeout 5 sh -c "nc -q 2 10.98.0.1 9000 <'$LOGDIR/rejects.bin' >/dev/null 2>&1"
		attack+=("$BG_PID")
	done
	for i in $(seq 20); do
		nsx x timeout 2 nc -z -w 1 10.98.0.1 9000 >/dev/null 2>&1 || true
	done
done
for pid in "${attack[@]}"; do wait "$pid" 2>/dev/null || true; done
wait "$pingpid" || true
lost=$(awk '/packets transmitted/ {print $1 - $4}' "$LOGDIR/ping.txt")
say "pings lost during the attack: $lost of 400"
dh=$(jget s lwts .totals.drop_handshake)
say "server: handshake frames dropped in the data plane: $dh; events lost: $(jget s lwts .totals.events_lost)"
[ "$dh" -gt 1000 ] || fail "the REJECT frames were not dropped in the data plane ($dh)"
rss1=$(rss)
say "server RSS before the attack $rss0 kB, after $rss1 kB"
# Bounded: the attack may touch buffers sized at start, never grow per flow.
[ $((rss1 - rss0)) -lt 16384 ] || fail "the server's memory grew by $((rss1 - rss0)) kB under the attack"
[ "$(jget c lwtc '.peers[0].session_id')" = "$sid" ] || fail "the client's session changed during the attack"
[ "$(jget c lwtc .reconnects)" = 0 ] || fail "the client reconnected during the attack"
[ -n "$lost" ] && [ "$lost" -le 8 ] || fail "the session lost $lost of 400 pings during the attack"

say "every slot the attack took is free again"
busy() { [ "$(jget s lwts .slots_busy_dataplane)" = 1 ] && [ "$(jget s lwts .slots_busy_control)" = 1 ]; }
wait_for 15 "only the client's slot busy in both views" busy || {
	ctl s lwts stats --json | jq '{slots, slots_busy_dataplane, slots_busy_control, slot_repairs}'
	fail "slots the attack took are still held"
}
ctl s lwts stats --json | jq -c '{slots, slots_busy_dataplane, slots_busy_control, slot_repairs}'
say "a second legitimate client connects at once"
lan_host c2 10.98.0.3/24
start client2 c2 -m client -r 10.98.0.1:9000 -t 10.0.0.3/24 -k "$KEY" -tun-name lwtc
wait_for 5 "second client up" sessions_up c2 lwtc
nsx c2 ping -c 3 -i 0.05 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "the second client has no traffic"
say PASS
