#!/bin/sh
# SPDX-License-Identifier: MIT
# Install lightweight-tunnel as a systemd service (run by `make
# install-service`): the template unit lightweight-tunnel@.service
# (scripts/lightweight-tunnel@.service; instance NAME runs the config
# CONFIG_DIR/NAME.json), the service user and group 'lwt', and the config
# directory root:lwt 0750 with its files root:lwt 0640, so that the service
# user can read (and reload) what `lightweight-tunnel -g` wrote as root.
#
#   scripts/install-service.sh [PREFIX]           install (root)
#   scripts/install-service.sh --print-unit [PREFIX]   print the unit only
#
# Environment, as the reference's installer: CONFIG_PATH (default
# /etc/lightweight-tunnel/config.json; its directory holds the instances'
# files, its name without .json is the instance to enable) and SERVICE_NAME
# (default lightweight-tunnel: the unit is SERVICE_NAME@.service).
set -e
print=
if [ "$1" = --print-unit ]; then
	print=1
	shift
fi
PREFIX=${1:-/usr/local}
CONFIG_PATH=${CONFIG_PATH:-/etc/lightweight-tunnel/config.json}
SERVICE_NAME=${SERVICE_NAME:-lightweight-tunnel}
SERVICE_USER=lwt
HERE=$(cd "$(dirname "$0")" && pwd)
case "$CONFIG_PATH" in
/*.json) ;;
*) echo "install-service: CONFIG_PATH must be an absolute path ending in .json, got '$CONFIG_PATH'" >&2; exit 2 ;;
esac
CONFIG_DIR=$(dirname "$CONFIG_PATH")
INSTANCE=$(basename "$CONFIG_PATH" .json)

unit() {
	sed -e "s|@BINDIR@|$PREFIX/bin|g" -e "s|@USER@|$SERVICE_USER|g" \
	    -e "s|/etc/lightweight-tunnel/%i.json|$CONFIG_DIR/%i.json|g" "$HERE/lightweight-tunnel@.service"
}
if [ -n "$print" ]; then
	unit
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-service: run as root" >&2
	exit 1
fi
getent group "$SERVICE_USER" >/dev/null || groupadd --system "$SERVICE_USER"
id "$SERVICE_USER" >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin -g "$SERVICE_USER" "$SERVICE_USER"
install -d -m 0750 -o root -g "$SERVICE_USER" "$CONFIG_DIR"
# Files already there (e.g. from -g): readable by the service, no one else.
find "$CONFIG_DIR" -maxdepth 1 -type f -name '*.json' -exec chgrp "$SERVICE_USER" {} + \
	-exec chmod 0640 {} +
unit >"/etc/systemd/system/$SERVICE_NAME@.service"
chmod 0644 "/etc/systemd/system/$SERVICE_NAME@.service"
if [ -f /etc/systemd/system/lightweight-tunnel.service ]; then
	echo "install-service: an older unit lightweight-tunnel.service is still installed; the template" \
	     "replaces it: systemctl disable --now lightweight-tunnel; rm /etc/systemd/system/lightweight-tunnel.service" >&2
fi
[ -d /run/systemd/system ] && systemctl daemon-reload
echo "installed $SERVICE_NAME@.service; instance NAME runs $CONFIG_DIR/NAME.json:"
[ -f "$CONFIG_PATH" ] || echo "  lightweight-tunnel -g $CONFIG_PATH      # then edit it"
echo "  systemctl enable --now $SERVICE_NAME@$INSTANCE"
echo "  systemctl reload $SERVICE_NAME@$INSTANCE    # after editing the file (see lightweight-tunnel -h)"
