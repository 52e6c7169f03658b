#!/usr/bin/env bash
# Checks that libguestfs's appliance builds and boots here, the way the inspector's tests use it
# (LIBGUESTFS_BACKEND=direct, the appliance cached in /var/tmp, TCG), so a missing piece (no kernel
# for supermin, an unreadable /boot/vmlinuz-*, a QEMU that cannot boot it) fails here, early, with
# libguestfs's own words, rather than as "the libguestfs appliance did not start" in three tests.
# One boot (about a minute under TCG the first time, when supermin builds the appliance); the success
# is remembered under $FERRY_CACHE_DIR (default /var/cache/ferry) per set of package versions and
# kernels, so later runs cost nothing until the host's packages change.
set -euo pipefail

log() { printf '[ensure-libguestfs] %s\n' "$*" >&2; }

cache_root=${FERRY_CACHE_DIR:-/var/cache/ferry}
if ! mkdir -p "$cache_root" 2>/dev/null || [ ! -w "$cache_root" ]; then
  cache_root=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/ferry
  mkdir -p "$cache_root"
fi

key=$({
  dpkg-query -W -f='${Package} ${Version}\n' libguestfs0 supermin qemu-system-x86 2>/dev/null || true
  ls /boot/vmlinuz-* 2>/dev/null || true
  id -u
} | sha256sum | cut -c1-16)
marker="$cache_root/libguestfs-ok-$key"
[ -e "$marker" ] && exit 0

exec 9>"$cache_root/libguestfs.lock"
flock 9
[ -e "$marker" ] && exit 0

if ! compgen -G '/boot/vmlinuz-*' >/dev/null; then
  log "no kernel in /boot: supermin needs one for libguestfs's appliance (apt-get install linux-image-amd64)"
  exit 1
fi
for k in /boot/vmlinuz-*; do
  [ -r "$k" ] || { log "$k is not readable by $(id -un): supermin cannot build the appliance from it"; exit 1; }
done

log "booting libguestfs's appliance once (libguestfs-test-tool, TCG; the first build takes a minute)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! LIBGUESTFS_BACKEND=direct LIBGUESTFS_CACHEDIR="${LIBGUESTFS_CACHEDIR:-/var/tmp}" \
  LIBGUESTFS_BACKEND_SETTINGS=force_tcg timeout 900 libguestfs-test-tool >"$out" 2>&1; then
  log "libguestfs's appliance did not boot; the end of libguestfs-test-tool's output:"
  tail -n 25 "$out" >&2
  exit 1
fi
touch "$marker"
log "libguestfs's appliance boots"
