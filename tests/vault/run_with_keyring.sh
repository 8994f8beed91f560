#!/bin/sh
# Runs the keyring tests against a real Secret Service: a private D-Bus
# session with gnome-keyring-daemon, under a throw-away HOME so the user's
# own keyring is never touched. Usage: run_with_keyring.sh <test binary>
set -eu
test_binary="$1"
if ! command -v dbus-run-session >/dev/null || ! command -v gnome-keyring-daemon >/dev/null; then
  echo "dbus-run-session or gnome-keyring-daemon missing (apt-get install dbus gnome-keyring)" >&2
  exit 1
fi
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
export HOME="$home" XDG_DATA_HOME="$home/.local/share" XDG_CONFIG_HOME="$home/.config" \
       XDG_CACHE_HOME="$home/.cache" XDG_RUNTIME_DIR="$home/run"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
# The login keyring is created and unlocked with a throw-away password
# (an empty one makes gnome-keyring want an interactive prompt).
exec dbus-run-session -- sh -c '
  printf "bellwether-test" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  exec "$0" --gtest_filter="Keyring*"
' "$test_binary"
