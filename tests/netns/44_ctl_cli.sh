#!/bin/bash
# SPDX-License-Identifier: MIT
# lwt-ctl as a user meets it: --version; `routes` says what became of every
# advert (the server: accepted with their client, refused with the reason;
# the client: its adverts with the server's answer, the server's routes
# installed or not, and why); `peers --json` is the array of peers; under
# --json every error is a JSON object on stdout, with exit status 1 (daemon
# side or not found) or 2 (usage); -i with a name that does not run here
# lists those that do; the bash completion completes commands and -i.
. "$(dirname "$0")/lib.sh"

two_hosts
# A network the client's host is connected to (the server will advertise it).
nsx c ip link add lan0 type veth peer name lan1
nsx c ip addr add 10.80.0.1/24 dev lan0
nsx c ip link set lan0 up
nsx c ip link set lan1 up
start_server -allowed-routes 10.50.0.0/16 -routes 10.70.0.0/24,10.80.0.0/24
start_client -routes 10.50.1.0/24,10.60.0.0/24
wait_for 10 "session up" sessions_up c lwtc

say "--version"
out=$("$CTL" --version) || fail "--version exited $?"
grep -q "^lwt-ctl (lwt) " <<<"$out" || fail "--version printed: $out"

say "routes, server side"
wait_for 10 "the server refused 10.60.0.0/24" sh -c \
	"ip netns exec $PFX-s $CTL -i lwts routes --json | jq -en 'input | .refused[] | select(.route == \"10.60.0.0/24\")' >/dev/null"
r=$(ctl s lwts routes --json)
printf '%s\n' "$r"
jq -en 'input | .accepted | map(select(.route == "10.50.1.0/24" and .via == "10.0.0.2")) | length == 1' <<<"$r" >/dev/null ||
	fail "10.50.1.0/24 not listed as accepted via 10.0.0.2"
jq -en 'input | .refused | map(select(.route == "10.60.0.0/24" and .client == "10.0.0.2" and
	(.reason | test("allowed_routes")))) | length == 1' <<<"$r" >/dev/null ||
	fail "10.60.0.0/24 not listed as refused for not being allowed"
jq -en 'input | .advertised | map(.route) == ["10.70.0.0/24", "10.80.0.0/24"]' <<<"$r" >/dev/null ||
	fail "the server's own routes are not listed as advertised"
ctl s lwts routes | grep -q "10.60.0.0/24 client 10.0.0.2 reason not in the server's allowed_routes" ||
	fail "the text form does not give the refusal's reason"

say "routes, client side"
wait_for 10 "the client heard the server's routes" sh -c \
	"ip netns exec $PFX-c $CTL -i lwtc routes --json | jq -en 'input | .from_server | length == 2' >/dev/null"
r=$(ctl c lwtc routes --json)
printf '%s\n' "$r"
jq -en 'input | .advertised | map(select(.route == "10.50.1.0/24" and .status == "accepted")) | length == 1' \
	<<<"$r" >/dev/null || fail "the client does not show 10.50.1.0/24 accepted"
jq -en 'input | .advertised | map(select(.route == "10.60.0.0/24" and .status == "refused" and
	(.reason | test("allowed_routes")))) | length == 1' <<<"$r" >/dev/null ||
	fail "the client does not show 10.60.0.0/24 refused with the reason"
jq -en 'input | .from_server | map(select(.route == "10.70.0.0/24" and .status == "installed")) | length == 1' \
	<<<"$r" >/dev/null || fail "10.70.0.0/24 from the server not shown installed"
jq -en 'input | .from_server | map(select(.route == "10.80.0.0/24" and .status == "not installed" and
	(.reason | test("overlaps")))) | length == 1' <<<"$r" >/dev/null ||
	fail "10.80.0.0/24 (connected here) not shown as not installed, with the reason"
nsx c ip route show 10.70.0.0/24 | grep -q lwtc || fail "10.70.0.0/24 is not routed to the TUN"

say "peers --json is the array of peers"
p=$(ctl s lwts peers --json)
jq -en 'input | type == "array" and length == 1 and .[0].tunnel_ip == "10.0.0.2"' <<<"$p" >/dev/null ||
	fail "peers --json: $p"

say "errors: exit status, and JSON under --json"
set +e
out=$(nsx s "$CTL" -i nosuch status 2>&1); rc=$?
set -e
[ "$rc" -eq 1 ] || fail "-i nosuch: exit $rc, want 1"
grep -q "no daemon 'nosuch' in this network namespace; running here: lwts" <<<"$out" ||
	fail "-i nosuch does not list the daemons that run: $out"
set +e
out=$(nsx s "$CTL" -i nosuch status --json 2>/dev/null); rc=$?
set -e
[ "$rc" -eq 1 ] || fail "-i nosuch --json: exit $rc"
jq -en 'input | .error | test("running here: lwts")' <<<"$out" >/dev/null || fail "-i nosuch --json: $out"
set +e
out=$(nsx s "$CTL" -i lwts bogus --json 2>/dev/null); rc=$?
set -e
[ "$rc" -eq 2 ] || fail "unknown command: exit $rc, want 2"
jq -en 'input | .error | test("unknown command")' <<<"$out" >/dev/null || fail "unknown command --json: $out"
set +e
out=$(nsx s "$CTL" -i lwts detach nosuchif0 --json 2>/dev/null); rc=$?
set -e
[ "$rc" -eq 1 ] || fail "a refused detach: exit $rc, want 1"
jq -en 'input | .error | length > 0' <<<"$out" >/dev/null || fail "a refused detach under --json: $out"
set +e
out=$(nsx s "$CTL" --json 2>/dev/null); rc=$?
set -e
[ "$rc" -eq 2 ] && jq -en 'input | .error' <<<"$out" >/dev/null || fail "no command under --json: rc $rc, $out"

say "bash completion"
comp() {
	ip netns exec "$PFX-s" env PATH="$BIN:$PATH" bash -c \
		"source '$ROOT/scripts/completion/lwt-ctl.bash'; COMP_WORDS=($1); COMP_CWORD=$2; _lwt_ctl; echo \${COMPREPLY[*]}"
}
[ "$(comp "lwt-ctl st" 1)" = "status stats" ] || fail "completing 'st': '$(comp "lwt-ctl st" 1)'"
[ "$(comp "lwt-ctl -i ''" 2)" = "lwts" ] || fail "completing -i: '$(comp "lwt-ctl -i ''" 2)'"
[ "$(comp "lwt-ctl -i lwts status --j" 4)" = "--json" ] || fail "completing --j"

stop "$client_PID"
stop "$server_PID"
say PASS
