#!/bin/bash
# SPDX-License-Identifier: MIT
# remote_family: a server name with an A and an AAAA record on a dual-stack
# link. -remote-family ipv6 connects over IPv6, ipv4 over IPv4 (the server,
# on [::]:9000, sees the client's address of that family); a name with only
# an AAAA record and ipv4 does not resolve for the client (retried, no
# session); a literal of the other family is refused at start with the
# reason.
. "$(dirname "$0")/lib.sh"

two_hosts
ip -n "$PFX-s" addr add fd98::1/64 dev v-s-c nodad
ip -n "$PFX-c" addr add fd98::2/64 dev v-c-s nodad
ETC=/etc/netns/$PFX-c
mkdir -p "$ETC"
at_exit "rm -rf '$ETC'"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$ETC/resolv.conf"
printf '127.0.0.1 localhost\n10.99.0.1 hub.test\nfd98::1 hub.test\nfd98::1 hub6.test\n' >"$ETC/hosts"
start server s -m server -l '[::]:9000' -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
wait_for 5 "server listening" grep -q "listening on" "$LOGDIR/server.log"

for fam in ipv6 ipv4; do
	say "remote_family $fam"
	start "c$fam" c -m client -r hub.test:9000 -remote-family "$fam" -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc
	wait_for 10 "client up over $fam" sessions_up c lwtc || fail "no session with remote_family $fam"
	if [ "$fam" = ipv6 ]; then
		grep -q "server hub.test resolved to fd98::1 (IPv6)" "$LOGDIR/c$fam.log" || fail "hub.test not taken as fd98::1"
		want="[fd98::2]:"
	else
		grep -q "server hub.test resolved to 10.99.0.1$" "$LOGDIR/c$fam.log" || fail "hub.test not taken as 10.99.0.1"
		want="10.99.0.2:"
	fi
	ep=$(jget s lwts '.peers[0].endpoint')
	say "the server sees the client at $ep"
	[[ "$ep" == "$want"* ]] || fail "remote_family $fam: the server sees the client at $ep, want $want*"
	nsx c ping -c 3 -i 0.1 -W 1 -q 10.0.0.1 | grep -q ' 0% packet loss' || fail "no traffic over $fam"
	pid_var="c${fam}_PID"
	stop "${!pid_var}"
	wait_for 10 "server let go of the session" sh -c "[ \$(ip netns exec $PFX-s $CTL -i lwts stats --json | jq .sessions) -eq 0 ]"
done

say "a name with only an AAAA record and remote_family ipv4: not resolved, retried"
start c4only c -m client -r hub6.test:9000 -remote-family ipv4 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc
wait_for 10 "the client says why" grep -q "couldn't resolve hub6.test: no IPv4 (A) address (remote_family ipv4); retrying" "$LOGDIR/c4only.log" ||
	fail "no 'no IPv4 (A) address' line: $(tail -3 "$LOGDIR/c4only.log")"
[ "$(jget s lwts .sessions)" -eq 0 ] || fail "a session came up from an IPv4-only client for an AAAA-only name"
stop "$c4only_PID"

say "a literal of the other family is refused at start"
for bad in "[fd98::1]:9000 ipv4 IPv6" "10.99.0.1:9000 ipv6 IPv4"; do
	read -r r fam what <<<"$bad"
	if nsx c timeout 5 "$LWT" -m client -r "$r" -remote-family "$fam" -t 10.0.0.2/24 -k "$KEY" -tun-name lwtx \
		>"$LOGDIR/bad.out" 2>&1; then
		fail "-r $r -remote-family $fam started"
	fi
	grep -qF "remote_family: $fam, but remote_addr \"$r\" is an $what address" "$LOGDIR/bad.out" ||
		fail "-r $r -remote-family $fam: $(cat "$LOGDIR/bad.out")"
done
if nsx c timeout 5 "$LWT" -m client -r hub.test:9000 -remote-family ipx -t 10.0.0.2/24 -k "$KEY" >"$LOGDIR/bad.out" 2>&1; then
	fail "-remote-family ipx started"
fi
grep -qF 'remote_family: must be auto, ipv4 or ipv6, got "ipx"' "$LOGDIR/bad.out" || fail "ipx: $(cat "$LOGDIR/bad.out")"
say PASS
