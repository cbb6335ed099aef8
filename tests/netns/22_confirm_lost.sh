#!/bin/bash
# SPDX-License-Identifier: MIT
# A lost CONFIRM does not cost the session. The router drops the client's
# CONFIRM frame (frame type 0x04 at the start of a segment's payload); the
# server gave the session keys to its data plane with the HELLO_ACK, so the
# client's first record, which only a holder of the key can make,
# authenticates and confirms the session as the CONFIRM would have. Without
# that the server drops the flow after 5 s and the client, which thought
# itself connected, only notices at its 15 s timeout.
. "$(dirname "$0")/lib.sh"

routed_hosts
# TCP header with timestamps: 32 bytes; the payload's first byte is bit 256.
nsx r nft -f - <<'NFT'
table inet lose {
	counter confirms {
	}
	chain through {
		type filter hook forward priority 0; policy accept;
		ip daddr 10.97.2.2 tcp dport 9000 @th,256,8 0x04 counter name "confirms" drop
	}
}
NFT
start server s -m server -l 10.97.2.2:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
start client c -m client -r 10.97.2.2:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc
wait_for 10 "client up" sessions_up c lwtc
wait_for 4 "server up without the CONFIRM" sessions_up s lwts
dropped=$(nsx r nft -j list counter inet lose confirms | jq '.nftables[] | select(.counter) | .counter.packets')
say "CONFIRM frames dropped at the router: $dropped"
[ "$dropped" -ge 1 ] || fail "the router dropped no CONFIRM (test premise)"
grep -q "confirmed by its first record (its CONFIRM was lost)" "$LOGDIR/server.log" ||
	fail "the server did not say how the session was confirmed"
nsx c ping -c 5 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic"
[ "$(jget c lwtc .reconnects)" = 0 ] || fail "the client reconnected"
[ "$(jget s lwts .handshakes_ok)" = 1 ] || fail "the server counts $(jget s lwts .handshakes_ok) handshakes"
say PASS
