#!/usr/bin/env bash
# Makes sure libvirtd runs here (`libvirtd -d`, no systemd), for the libvirt discovery driver's tests
# against qemu:///system. Without libvirt-daemon-system (and udev), Debian's libvirtd lacks what its
# packaging would have set up, so this does that first:
#   - /var/log/libvirt: without it `libvirtd -d` exits at once ("failed to open .../libvirtd.log");
#   - the user libvirt-qemu (group libvirt-qemu, also in kvm): without it the QEMU driver fails to
#     initialise ("Failed to parse user 'libvirt-qemu'") and libvirtd exits;
#   - /dev/kvm group kvm, group read/write (udev's rule): when libvirt-qemu cannot open it, libvirt
#     re-probes QEMU on every call ("KVM was enabled when probing ..., but it is not available now"),
#     some 4 s per virsh command instead of milliseconds.
# dnsmasq, D-Bus and dmidecode errors in /var/log/libvirt/libvirtd.log are harmless here.
# Safe to run again; changes nothing that works.
set -euo pipefail

log() { printf '[ensure-libvirtd] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
answers() { virsh -r -c qemu:///system version >/dev/null 2>&1; }

libvirtd=$(command -v libvirtd || echo /usr/sbin/libvirtd)
[ -x "$libvirtd" ] && command -v virsh >/dev/null \
  || { log "libvirtd/virsh are not installed (tools/ensure-infra.sh installs them)"; exit 1; }

as_root mkdir -p /var/log/libvirt
getent group kvm >/dev/null || as_root groupadd --system kvm
if ! getent passwd libvirt-qemu >/dev/null; then
  log "creating the system user libvirt-qemu"
  as_root useradd --system --user-group --groups kvm --no-create-home --home-dir /var/lib/libvirt \
    --shell /usr/sbin/nologin libvirt-qemu
fi
id -nG libvirt-qemu | grep -qw kvm || as_root usermod -a -G kvm libvirt-qemu
if [ -c /dev/kvm ] && ! as_root setpriv --reuid=libvirt-qemu --regid=libvirt-qemu --init-groups \
  sh -c 'test -r /dev/kvm && test -w /dev/kvm'; then
  log "giving /dev/kvm to group kvm (rw), as udev would"
  as_root chgrp kvm /dev/kvm
  as_root chmod g+rw /dev/kvm
fi

if ! answers; then
  log "starting libvirtd"
  as_root "$libvirtd" -d
  # The first call probes QEMU's capabilities, which takes a few seconds.
  for _ in $(seq 1 150); do
    answers && break
    sleep 0.2
  done
fi
answers || { log "libvirtd does not answer on qemu:///system (see /var/log/libvirt/libvirtd.log)"; exit 1; }
log "libvirtd answers on qemu:///system"
