#!/usr/bin/env bash
# Builds tools/vcsim (govmomi's vCenter simulator, for the inspector's vSphere tests) and prints the
# binary's path on stdout. Debian's golang-github-vmware-govmomi-dev ships the simulator library under
# /usr/share/gocode but no vcsim command, so this builds ours in GOPATH mode against it (no network).
# The binary is cached under $FERRY_CACHE_DIR (default /var/cache/ferry, else ~/.cache/ferry), keyed
# by main.go, the govmomi package version and the Go version, so later runs on the machine reuse it.
# Safe to run again and concurrently (a lock guards the build); installs golang-go and
# golang-github-vmware-govmomi-dev with apt-get when they are missing.
set -euo pipefail

log() { printf '[ensure-vcsim] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/vcsim" && pwd)
gocode=/usr/share/gocode
pkg=golang-github-vmware-govmomi-dev

if ! command -v go >/dev/null || [ ! -d "$gocode/src/github.com/vmware/govmomi/simulator" ]; then
  log "installing golang-go and $pkg"
  # apt's progress goes nowhere; its errors still reach stderr.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go "$pkg" >/dev/null \
    || { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go "$pkg" >/dev/null; }
fi

cache_root=${FERRY_CACHE_DIR:-/var/cache/ferry}
if ! mkdir -p "$cache_root" 2>/dev/null || [ ! -w "$cache_root" ]; then
  cache_root=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/ferry
  mkdir -p "$cache_root"
fi

key=$({
  cat "$src_dir/main.go"
  dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || echo unknown
  go version
} | sha256sum | cut -c1-16)
dir="$cache_root/vcsim-$key"
bin="$dir/vcsim"

if [ ! -x "$bin" ]; then
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  flock 9
  if [ ! -x "$bin" ]; then
    log "building $bin"
    gopath=$(mktemp -d)
    trap 'rm -rf "$gopath"' EXIT
    (
      cd "$src_dir"
      GOPATH="$gopath:$gocode" GO111MODULE=off GOFLAGS='' GOCACHE="$cache_root/go-build" \
        go build -o "$dir/vcsim.tmp" .
    ) >&2
    mv -f "$dir/vcsim.tmp" "$bin"
  fi
fi
echo "$bin"
