#!/bin/bash
# SPDX-License-Identifier: MIT
# The man pages render without a groff warning (man --warnings) and keep up
# with the binaries: every flag that `lightweight-tunnel -h` lists is in
# lightweight-tunnel(8), every JSON key in lightweight-tunnel.json(5), every
# lwt-ctl command of `lwt-ctl --help` in lwt-ctl(8).
# usage: tests/docs/check-man.sh BINDIR
set -u
BIN=${1:-bin}
MAN=docs/man
failed=0
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

command -v man >/dev/null || { echo "man-db missing: SKIP"; exit 77; }
for f in "$MAN"/*.[0-9]; do
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$f" 2>&1 >/dev/null)
	[ -z "$w" ] || bad "$f: $w"
	[ -s "$f" ] || bad "$f: empty"
done
# A name as it appears in troff source: every '-' written '\-'.
# and a flag ends there (-p2p is not found in -p2p-port).
in_page() {
	local page=$1 word=$2
	grep -qE -- "$(sed 's/-/\\\\-/g' <<<"$word")([^a-z0-9\\]|\$)" "$page"
}
help=$("$BIN/lightweight-tunnel" -h) || bad "lightweight-tunnel -h failed"
flags=$(sed -n 's/^  -\([a-z0-9-]*\) .*/\1/p' <<<"$help" | sed -n '/^[a-z0-9]/p')
keys=$(awk '/^file-only keys:/ {fo = 1; next} fo && /^  [a-z]/ {print $1; next}
	!fo && /^  -[a-z0-9-]+ +[a-z_0-9]+ / && $1 !~ /^-([cgv]|check)$/ {print $2}' <<<"$help")
[ "$(wc -w <<<"$flags")" -gt 30 ] || bad "too few flags read from -h: $(wc -w <<<"$flags")"
[ "$(wc -w <<<"$keys")" -gt 40 ] || bad "too few keys read from -h: $(wc -w <<<"$keys")"
for fl in $flags; do
	in_page "$MAN/lightweight-tunnel.8" "-$fl" || bad "lightweight-tunnel(8) lacks the flag -$fl"
done
for k in $keys; do
	grep -q "^\.B ${k//_/_}\$" "$MAN/lightweight-tunnel.json.5" ||
		bad "lightweight-tunnel.json(5) lacks the key $k"
done
cmds=$("$BIN/lwt-ctl" --help | sed -n '/^commands:/,/^-i/p' | sed -n 's/^  \([a-z]\+\) .*/\1/p')
[ "$(wc -w <<<"$cmds")" -ge 7 ] || bad "too few lwt-ctl commands read from --help: $cmds"
for c in $cmds; do
	grep -q "^\.B.* $c\b\|^\.B $c\$\|^\.BI $c " "$MAN/lwt-ctl.8" || bad "lwt-ctl(8) lacks the command $c"
done
echo "man pages: $(ls "$MAN"/*.[0-9] | wc -l) pages, $(wc -w <<<"$flags") flags, $(wc -w <<<"$keys") keys, $(wc -w <<<"$cmds") lwt-ctl commands checked, $failed problem(s)"
[ "$failed" -eq 0 ]
