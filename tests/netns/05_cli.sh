#!/bin/bash
# SPDX-License-Identifier: MIT
# Bad flags and configs are refused before anything is touched: exit status
# 2, one line naming the key; no TUN, no firewall rule appears. A key given
# with -k is scrubbed from the process's command line (with a warning); the
# key can come from key_file instead, never from both.
. "$(dirname "$0")/lib.sh"

add_ns x
check_refused() {
	local want=$1; shift
	set +e
	out=$(ip netns exec "$PFX-x" "$LWT" "$@" 2>&1)
	rc=$?
	set -e
	printf '+ %s -> %d: %s\n' "$*" "$rc" "$out"
	[ "$rc" -eq 2 ] || fail "expected exit 2 for: $*"
	[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "expected one line for: $*"
	grep -q -- "$want" <<<"$out" || fail "message does not name '$want': $out"
}
check_refused remote_addr -m client -k somekey-123456
check_refused key -m server
check_refused fec_data -m server -k somekey-123456 -fec-data abc
check_refused tunnel_addr -m server -k somekey-123456 -t 10.0.0.1/33
check_refused nosuchflag -m server -k somekey-123456 -nosuchflag
check_refused mode -m router -k somekey-123456
check_refused "key: shorter than 12 characters" -m server -k short-key
check_refused "key: \"your-secret-key\" is an example key" -m server -k your-secret-key
check_refused "did you mean -fec-data?" -m server -k somekey-123456 -fec-dat 3
echo '{"mode":"server","key":"somekey-123456","fec_dta":3}' >"$LOGDIR/bad.json"
check_refused 'fec_dta" (did you mean "fec_data"?)' -c "$LOGDIR/bad.json"
printf '{"mode":"server",\n "key":"somekey-123456",\n "mtu" 1400}\n' >"$LOGDIR/bad5.json"
check_refused "bad5.json:3:8: not valid JSON" -c "$LOGDIR/bad5.json"
echo '{"mode":"server","key":5}' >"$LOGDIR/bad2.json"
check_refused key -c "$LOGDIR/bad2.json"
# A key name with a newline (JSON escape): still one line of error.
echo '{"mode":"server","key":"somekey-123456","fec\ndata":3}' >"$LOGDIR/bad4.json"
check_refused 'unknown key "fec?data"' -c "$LOGDIR/bad4.json"
# 1e999 parses as inf: refused by range, never converted (undefined before).
for v in 1e999 -1e999 1e300 4294967296; do
	echo "{\"mode\":\"server\",\"key\":\"somekey-123456\",\"mtu\":$v}" >"$LOGDIR/bad3.json"
	check_refused "mtu: must be an integer 0..9000, got" -c "$LOGDIR/bad3.json"
done
check_refused key_file -m server -key-file "$LOGDIR/no-such-file"
printf '\n' >"$LOGDIR/empty.key"
check_refused key_file -m server -key-file "$LOGDIR/empty.key"
printf 'somekey-123456\n' >"$LOGDIR/ok.key"
check_refused key_file -m server -k somekey-123456 -key-file "$LOGDIR/ok.key"
if nsx x ip -o link | grep -v ' lo:' | grep -q .; then fail "a link appeared"; fi
assert_no_rule x

say "-check: exit 0 and one summary line for a valid config, 2 and the start's message otherwise; nothing created"
# check_cfg WANT_RC ARGS...: -check under strace; sets out (stdout), errout
# (stderr) and the trace of every socket, open, bpf and ioctl call.
check_cfg() {
	local want=$1; shift
	set +e
	out=$(ip netns exec "$PFX-x" strace -f -qq -e trace=socket,openat,bpf,ioctl -o "$LOGDIR/check.trace" \
		"$LWT" -check "$@" 2>"$LOGDIR/check.err")
	rc=$?
	set -e
	errout=$(cat "$LOGDIR/check.err")
	printf '+ -check %s -> %d: %s / %s\n' "$*" "$rc" "$out" "$errout"
	[ "$rc" -eq "$want" ] || fail "-check $*: exit $rc, expected $want"
	if grep -E 'socket\(|/dev/net/tun|bpf\(|TUNSETIFF' "$LOGDIR/check.trace"; then
		fail "-check $* opened a socket, the TUN or a BPF object"
	fi
}
cat >"$LOGDIR/good.json" <<EOF2
{"mode":"server","local_addr":"10.99.0.1:9000","tunnel_addr":"10.0.0.1/24","key":"somekey-123456",
 "tun_name":"lwtchk","fec_parity":2}
EOF2
chmod 600 "$LOGDIR/good.json"
check_cfg 0 -c "$LOGDIR/good.json"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "-check printed more than one line: $out"
grep -q "^config OK: server, listen 10.99.0.1:9000, tunnel 10.0.0.1/24 on lwtchk, .*FEC 10+2" <<<"$out" ||
	fail "-check summary: $out"
# Flags beside -c override the file, as at start.
check_cfg 0 -c "$LOGDIR/good.json" -fec-parity 0 -xdp=false
grep -q "FEC off, data path raw sockets" <<<"$out" || fail "-check ignored the flags: $out"
# Invalid: the same message the start gives, exit 2.
for args in "-c $LOGDIR/bad.json" "-c $LOGDIR/good.json -fec-data abc" "-m client -k somekey-123456"; do
	set +e
	# shellcheck disable=SC2086
	start_msg=$(ip netns exec "$PFX-x" "$LWT" $args 2>&1)
	set -e
	# shellcheck disable=SC2086
	check_cfg 2 $args
	[ -z "$out" ] || fail "-check printed a summary for an invalid config: $out"
	[ "$errout" = "$start_msg" ] || fail "-check said '$errout', the start says '$start_msg'"
done
if nsx x ip -o link | grep -v ' lo:' | grep -q .; then fail "a link appeared after -check"; fi
assert_no_rule x

say "-k is scrubbed from /proc/PID/cmdline; key_file works"
two_hosts
secret="cmdline-secret-$(od -An -N6 -tx8 /dev/urandom | tr -d ' ')"
printf '%s\n' "$secret" >"$LOGDIR/client.key"
chmod 600 "$LOGDIR/client.key"
start server s -m server -l 10.99.0.1:9000 -t 10.0.0.1/24 -k "$secret" -tun-name lwts
start client c -m client -r 10.99.0.1:9000 -t 10.0.0.2/24 -key-file "$LOGDIR/client.key" -tun-name lwtc
wait_for 10 "session up with the key from key_file" sessions_up c lwtc
tr '\0' ' ' </proc/"$server_PID"/cmdline >"$LOGDIR/cmdline"
cat "$LOGDIR/cmdline"; echo
grep -q "$secret" "$LOGDIR/cmdline" && fail "the key is still in /proc/PID/cmdline"
grep -q -- "-k x\{${#secret}\} " "$LOGDIR/cmdline" || fail "the -k value was not overwritten in place"
grep -q "key: given with -k" "$LOGDIR/server.log" || fail "no warning about -k"
grep -q "key: given with -k" "$LOGDIR/client.log" && fail "warned about -k to a client that used key_file"
stop "$client_PID"
stop "$server_PID"

say "-v and -g"
"$LWT" -v | grep -q 'lwt' || fail "-v"
"$LWT" -g "$LOGDIR/gen.json" >/dev/null
[ "$(stat -c %a "$LOGDIR/gen.json")" = 600 ] || fail "-g file mode"
[ "$(stat -c %a "$LOGDIR/gen.json.client")" = 600 ] || fail "-g client file mode"
jq -en 'input | .mode == "server"' "$LOGDIR/gen.json" >/dev/null || fail "-g server template"
jq -en 'input | .mode == "client"' "$LOGDIR/gen.json.client" >/dev/null || fail "-g client template"
say PASS
