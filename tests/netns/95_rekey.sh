#!/bin/bash
# SPDX-License-Identifier: MIT
# Key rotation: the server re-keys every 2 s with a fresh X25519 exchange
# while 1000 pings cross at 10 ms: not one is lost, nothing fails to
# authenticate, both sides move through the epochs together. Then a client
# that cannot answer a rotation (its path to the server cut for a while) is
# closed by the server and comes back through a new handshake.
. "$(dirname "$0")/lib.sh"

bridged s c
srv() { start server s -m server -l 10.96.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts "$@"; }
cli() { start client c -m client -r 10.96.0.1:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc "$@"; }
srv -config-push-interval 2
cli
wait_for 10 "client session up" sessions_up c lwtc
wait_for 5 "server session up" sessions_up s lwts

say "1000 pings at 10 ms, rekey every 2 s"
read -r loss avg < <(ping_stats c 10.0.0.1 1000 0.01)
es=$(jget s lwts '.peers[0].key_epoch')
ec=$(jget c lwtc '.peers[0].key_epoch')
rk=$(jget s lwts '.rekeys')
ms=$(jget s lwts '.peers[0].last_rekey_ms')
auth=$(( $(jget s lwts '.totals.drop_auth') + $(jget c lwtc '.totals.drop_auth') ))
stale=$(( $(jget s lwts '.totals.drop_stale_key') + $(jget c lwtc '.totals.drop_stale_key') ))
say "loss $loss%, rtt $avg ms; server rotations $rk (epoch $es, client $ec), last took $ms ms; auth drops $auth, stale-key drops $stale"
[ "$loss" = 0 ] || fail "pings lost across rotations ($loss%)"
[ "$rk" -ge 4 ] || fail "only $rk rotations in 10 s"
[ "$auth" -eq 0 ] || fail "$auth records failed authentication"
[ "$stale" -eq 0 ] || fail "$stale records under a key already gone"
jq -e -n "($es - $ec) | fabs <= 1" >/dev/null || fail "epochs apart: server $es client $ec"
reconnects=$(jget c lwtc '.reconnects')
[ "$reconnects" -eq 0 ] || fail "client reconnected during rotations"

say "a client that misses rotations must handshake again"
impair_restart --ba-loss 100
wait_for 20 "server closes the silent client" grep -q "did not answer key rotation" "$LOGDIR/server.log"
impair_restart
wait_for 20 "client back" sh -c "[ \"\$(ip netns exec $PFX-c $CTL -i lwtc stats --json | jq '.reconnects')\" -ge 1 ] && ip netns exec $PFX-c $CTL -i lwtc stats --json | jq -e '.sessions == 1'"
nsx c ping -c 5 -i 0.05 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no tunnel after the new handshake"
say PASS
