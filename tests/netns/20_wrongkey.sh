#!/bin/bash
# SPDX-License-Identifier: MIT
# A client with the wrong key is refused on both sides: it finds out from
# the server's key confirmation (one line naming the server) and still sends
# its CONFIRM, so the server logs every failed guess naming the peer and
# counts it; the client retries with growing backoff while a client with the
# right key works. A HELLO copying the live client's client_id and tunnel IP
# (both travel in clear) is answered but evicts nothing: only a verified
# CONFIRM may replace a session; one left without CONFIRM is dropped after
# 5 s, logged and counted. Online guessing is limited per source address:
# from one address 10 wrong guesses get a HELLO_ACK and then REJECT(1), the
# next ones REJECT(8) before any curve work, logged naming the peer, while a
# client from another address still connects.
. "$(dirname "$0")/lib.sh"

two_hosts
add_ns w
link s w 10.98.0.1/24 10.98.0.2/24
add_ns g
link s g 10.96.0.1/24 10.96.0.2/24
add_ns h
link s h 10.95.0.1/24 10.95.0.2/24
start server s -m server -l 0.0.0.0:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
start bad w -m client -r 10.98.0.1:9000 -t 10.0.0.3/24 -k "wrong-$KEY" -tun-name lwtw
start_client
wait_for 10 "good client up" sessions_up c lwtc
nsx c ping -c 5 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "good client cannot ping"
wait_for 10 "server logs the wrong key" grep -q "peer 10.98.0.2:[0-9]*: handshake failed: wrong key" "$LOGDIR/server.log"
wait_for 10 "client says the key is wrong, naming the server" grep -q "handshake failed: wrong key (key confirmation from server 10.98.0.1:9000 did not verify)" "$LOGDIR/bad.log"
wait_for 15 "client retried" sh -c "[ \$(grep -c 'reconnecting in' '$LOGDIR/bad.log') -ge 3 ]"
grep 'reconnecting in' "$LOGDIR/bad.log" | head -3
b1=$(grep -o 'reconnecting in [0-9]*' "$LOGDIR/bad.log" | awk 'NR==1{print $3}')
b3=$(grep -o 'reconnecting in [0-9]*' "$LOGDIR/bad.log" | awk 'NR==3{print $3}')
[ "$b3" -gt "$b1" ] || fail "backoff does not grow ($b1 -> $b3)"
[ "$(jget s lwts .sessions)" -eq 1 ] || fail "server should hold exactly one session"
if nsx w ping -c 2 -W 1 -q 10.0.0.1 >/dev/null 2>&1; then fail "wrong-key client reached the server"; fi
nsx c ping -c 5 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "good client disturbed"
# Every failure the client saw, the server saw too (its CONFIRM went out even
# though it knew): counted once a handshake, logged once a handshake.
stop "$bad_PID"
nb=$(grep -c 'handshake failed: wrong key (key confirmation' "$LOGDIR/bad.log")
wait_for 5 "server logged all $nb failed guesses" sh -c "[ \$(grep -c 'peer 10.98.0.2:[0-9]*: handshake failed: wrong key\$' '$LOGDIR/server.log') -eq $nb ]" ||
	fail "client failed $nb times, server logged $(grep -c 'peer 10.98.0.2:[0-9]*: handshake failed: wrong key$' "$LOGDIR/server.log") wrong keys"
[ "$(jget s lwts .handshakes_failed)" -eq "$nb" ] || fail "server counted $(jget s lwts .handshakes_failed) failed handshakes, the client failed $nb"
grep -q 'no CONFIRM' "$LOGDIR/server.log" && fail "a wrong-key client left the server waiting for its CONFIRM"

say "a HELLO with the live client's id and tunnel IP, from 10.95.0.2"
# lwt-inject opens kernel TCP connections; the server verifies TCP checksums,
# which the veth's offload leaves partial.
nsx h ethtool -K v-h-s tx off >/dev/null
cid=$(grep -o 'client id [0-9a-f]*' "$LOGDIR/client.log" | tail -1 | awk '{print $3}')
[ -n "$cid" ] || fail "the client did not log its client id"
sid=$(jget s lwts '.peers[0].session_id')
f0=$(jget s lwts .handshakes_failed)
ans=$(nsx h "$TOOLS/lwt-inject" guess 10.95.0.1:9000 10.0.0.2 1 "$cid")
[ "$ans" = "hello_ack reject 1" ] || fail "a HELLO copying the client's identity was answered '$ans', want a HELLO_ACK then REJECT(1)"
say "the same without a CONFIRM: dropped after 5 s"
nsbg h "$TOOLS/lwt-inject" guess 10.95.0.1:9000 10.0.0.2 1 "$cid" 8 >"$LOGDIR/hold.out"
hold=$BG_PID
wait_for 5 "HELLO_ACK to the held HELLO" grep -qx hello_ack "$LOGDIR/hold.out"
nsx c ping -c 5 -i 0.2 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "the live client lost traffic to an unconfirmed HELLO"
wait_for 8 "server drops the HELLO left without CONFIRM" grep -q "peer 10.95.0.2:[0-9]*: handshake failed: no CONFIRM within 5 s" "$LOGDIR/server.log"
stop "$hold"
[ "$(jget s lwts .handshakes_failed)" -eq $((f0 + 2)) ] || fail "handshakes_failed $f0 -> $(jget s lwts .handshakes_failed), want +2"
[ "$(jget s lwts '.peers[0].session_id')" = "$sid" ] || fail "the client's session was replaced by an unconfirmed HELLO"
[ "$(jget s lwts .sessions)" -eq 1 ] || fail "server should hold exactly one session"
[ "$(jget c lwtc .reconnects)" -eq 0 ] || fail "the client lost its session to a copied HELLO"
grep -q "reconnected from 10.95.0.2" "$LOGDIR/server.log" && fail "the server evicted the client's flow for an unconfirmed HELLO"
nsx c ping -c 5 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "the live client cannot ping after the copied HELLOs"

say "stale HELLOs: stamped 121 s ago, and before the server's start"
# Refused before any curve work and not charged as guesses (10.95.0.2 has
# spent 2 of its 10, so a charge would not show here; the guess section
# below counts exactly).
up_ms=$(jget s lwts '.uptime_s * 1000 | floor')
f0=$(jget s lwts .handshakes_failed)
ans=$(nsx h "$TOOLS/lwt-inject" guess 10.95.0.1:9000 10.0.0.60 1 - 0 -121000)
[ "$ans" = "reject 5" ] || fail "a HELLO stamped 121 s ago was answered '$ans', want REJECT(5)"
grep -q "peer 10.95.0.2:[0-9]*: handshake failed: stale or replayed HELLO (timestamp more than 120 s off" "$LOGDIR/server.log" ||
	fail "the server did not log the HELLO from 121 s ago"
ans=$(nsx h "$TOOLS/lwt-inject" guess 10.95.0.1:9000 10.0.0.60 1 - 0 -$((up_ms + 1000)))
[ "$ans" = "reject 5" ] || fail "a HELLO stamped before the server started was answered '$ans', want REJECT(5)"
grep -q "peer 10.95.0.2:[0-9]*: handshake failed: stale or replayed HELLO (sent before this server started)" "$LOGDIR/server.log" ||
	fail "the server did not log the HELLO from before its start"
[ "$(jget s lwts .handshakes_failed)" -eq $((f0 + 2)) ] || fail "handshakes_failed $f0 -> $(jget s lwts .handshakes_failed), want +2"

say "online guesses from 10.96.0.2: 10 answered, then refused"
nsx g ethtool -K v-g-s tx off >/dev/null
f0=$(jget s lwts .handshakes_failed)
t0=$(date +%s%N)
nsx g "$TOOLS/lwt-inject" guess 10.96.0.1:9000 10.0.0.50 14 >"$LOGDIR/guess.out"
t1=$(date +%s%N)
cat "$LOGDIR/guess.out"
[ "$(wc -l <"$LOGDIR/guess.out")" -eq 14 ] || fail "14 guesses, $(wc -l <"$LOGDIR/guess.out") answers"
head -10 "$LOGDIR/guess.out" | grep -vqx 'hello_ack reject 1' && fail "the first 10 guesses were not each answered HELLO_ACK then REJECT(1)"
acked=$(grep -c '^hello_ack' "$LOGDIR/guess.out" || true)
limited=$(grep -cx 'reject 8' "$LOGDIR/guess.out" || true)
[ $((acked + limited)) -eq 14 ] || fail "guesses answered otherwise than HELLO_ACK+REJECT(1) or REJECT(8)"
# One more guess is paid back every 6 s: exactly 10 when the 14 took less.
ms=$(((t1 - t0) / 1000000))
say "14 guesses in $ms ms: $acked answered, $limited refused"
if [ "$ms" -lt 5500 ]; then
	[ "$acked" -eq 10 ] || fail "$acked guesses answered in $ms ms, want 10"
else
	[ "$acked" -le $((10 + ms / 6000 + 1)) ] || fail "$acked guesses answered in $ms ms"
fi
wait_for 5 "all 14 counted" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .handshakes_failed) -eq $((f0 + 14)) ]" ||
	fail "handshakes_failed $f0 -> $(jget s lwts .handshakes_failed) after 14 guesses"
grep -q "peer 10.96.0.2:[0-9]*: refused: too many failed handshakes from 10.96.0.2" "$LOGDIR/server.log" ||
	fail "the server did not log the refused guesses naming the peer"
# (Rate-limited log lines: 5 a second for each kind; the counter is exact.)
grep -q "peer 10.96.0.2:[0-9]*: handshake failed: wrong key\$" "$LOGDIR/server.log" ||
	fail "the server did not log the wrong guesses naming the peer"

say "another address still connects; the guesser is still refused"
stop "$client_PID"
start_client
wait_for 10 "good client up again" sessions_up c lwtc
nsx c ping -c 5 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "good client cannot ping after the guesses"
[ "$(nsx g "$TOOLS/lwt-inject" guess 10.96.0.1:9000 10.0.0.50 1)" = "reject 8" ] || fail "the guesser was let in again"
[ "$(jget s lwts .sessions)" -eq 1 ] || fail "server should hold exactly one session"
say PASS
