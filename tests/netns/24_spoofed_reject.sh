#!/bin/bash
# SPDX-License-Identifier: MIT
# A REJECT cannot be authenticated, so it does not end a client's handshake
# by itself. The bridge delays the server's segments to the client by
# 300 ms; an attacker in the bridge's namespace watches the handshake and,
# as soon as the client's HELLO passes, sends the client a REJECT ("server
# full") in the server's name, with the right sequence numbers. The client
# notes it and keeps waiting: the real HELLO_ACK arrives 300 ms later and
# the session comes up at the first attempt. (The old client gave up at the
# REJECT and backed off.)
. "$(dirname "$0")/lib.sh"

bridged s c --ab-delay-ms 300
cmac=$(ip -n "$PFX-c" -j link show v-c-m | jq -r '.[0].address')
# The server's SYN-ACK as it passes: its ISN and the client's.
nsbg m tcpdump -n -l -c 1 -i v-m-s 'src host 10.96.0.1 and tcp[13] == 0x12' >"$LOGDIR/synack.txt" 2>"$LOGDIR/td1.err"
wait_for 5 "tcpdump 1 listening" grep -q "listening on" "$LOGDIR/td1.err"
nsbg m tcpdump -n -l -c 1 -i v-m-c 'src host 10.96.0.2 and dst port 9000 and tcp[13] & 8 != 0' >"$LOGDIR/hello.txt" 2>"$LOGDIR/td2.err"
hellopid=$BG_PID
wait_for 5 "tcpdump 2 listening" grep -q "listening on" "$LOGDIR/td2.err"
start server s -m server -l 10.96.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
start client c -m client -r 10.96.0.1:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc
wait_for 10 "the client's HELLO seen" grep -q "Flags \[P" "$LOGDIR/hello.txt"
line=$(cat "$LOGDIR/synack.txt")
sisn=$(sed -n 's/.*seq \([0-9]*\),.*/\1/p' <<<"$line")
cack=$(sed -n 's/.*ack \([0-9]*\),.*/\1/p' <<<"$line")
cport=$(sed -n 's/.* > 10\.96\.0\.2\.\([0-9]*\):.*/\1/p' <<<"$line")
[ -n "$sisn" ] && [ -n "$cack" ] && [ -n "$cport" ] || fail "could not read the SYN-ACK: $line"
say "injecting a REJECT(3) as the server: seq $((sisn + 1)) ack $cack to port $cport"
nsx m "$TOOLS/lwt-inject" tcp-via v-m-c "$cmac" 10.96.0.1:9000 "10.96.0.2:$cport" $(( (sisn + 1) % 4294967296 )) "$cack" PA 0300000403000000 >/dev/null
wait_for 10 "client up" sessions_up c lwtc
n=$(grep -c "connecting to" "$LOGDIR/client.log")
[ "$n" = 1 ] || fail "the client needed $n attempts (it gave up on the spoofed REJECT)"
grep -q "rejected the handshake" "$LOGDIR/client.log" && fail "the client gave up on the spoofed REJECT"
[ "$(jget c lwtc .handshakes_failed)" = 0 ] || fail "a failed handshake was counted"
grep -q "sent REJECT (server full); unauthenticated" "$LOGDIR/client.log" || fail "the spoofed REJECT did not reach the client (test premise)"
nsx c ping -c 3 -i 0.1 -W 2 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic"
say PASS
