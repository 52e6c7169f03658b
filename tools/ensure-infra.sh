#!/usr/bin/env bash
# Makes sure this machine has what Ferry needs to run and test: Debian's nats-server, PostgreSQL,
# QEMU (qemu-system-x86, qemu-utils), libvirt (virsh and a libvirtd with the QEMU driver, for the
# libvirt discovery driver; its tests start libvirtd with tools/ensure-libvirtd.sh) and python3-cs
# (for a test); NATS and Postgres are started on 127.0.0.1 if nothing listens.
# Safe to run again; changes nothing that works.
# Meant for development machines and CI (it uses apt-get as root). Production deploys use deploy/.
set -euo pipefail

PG_PORT="${FERRY_PG_PORT:-5432}"
NATS_PORT="${FERRY_NATS_PORT:-4222}"
NATS_STORE="${FERRY_NATS_STORE:-/var/lib/nats-server}"

log() { printf '[ensure-infra] %s\n' "$*" >&2; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

command -v nats-server >/dev/null || { log "installing nats-server"; apt_install nats-server; }
command -v pg_isready >/dev/null || { log "installing postgresql"; apt_install postgresql postgresql-client; }
command -v qemu-system-x86_64 >/dev/null && command -v qemu-img >/dev/null \
  || { log "installing qemu-system-x86 and qemu-utils"; apt_install qemu-system-x86 qemu-utils; }
# vm-operator's bridge networking (VM_NETWORK_MODE=bridge, the default): dnsmasq-base (the dnsmasq binary
# alone, without the system service that would take port 53) serves DHCP on the bridge; iproute2's `ip`
# makes the bridge and the taps. Both live in /usr/sbin, which a non-root PATH may lack.
{ command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ]; } && { command -v ip >/dev/null || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ]; } \
  || { log "installing dnsmasq-base and iproute2"; apt_install dnsmasq-base iproute2; }
# Debian 12's nbdkit package holds the curl plugin and the retry filter (@ferry/qemu's streaming import).
command -v nbdkit >/dev/null || { log "installing nbdkit"; apt_install nbdkit; }
# The curl CLI: the sequential floor of the vSphere import bench (test/bench/import-vsphere.ts).
command -v curl >/dev/null || { log "installing curl"; apt_install curl; }
# libvirtd is in /usr/sbin, which a non-root PATH may lack.
command -v virsh >/dev/null && { command -v libvirtd >/dev/null || [ -x /usr/sbin/libvirtd ]; } || {
  log "installing libvirt-clients, libvirt-daemon and libvirt-daemon-driver-qemu"
  apt_install libvirt-clients libvirt-daemon libvirt-daemon-driver-qemu
}
# The web console's browser test (test/e2e/console.e2e-spec.ts): Debian's chromium, driven by
# playwright-core (no browser download).
command -v chromium >/dev/null || { log "installing chromium"; apt_install chromium; }
# ssh: libvirt's qemu+ssh:// transport (host-capability's e2e test reaches a refused port through it).
command -v ssh >/dev/null || { log "installing openssh-client"; apt_install openssh-client; }
# The inspector: libguestfs (virt-inspector, guestfish) and what its tests build guest images with
# (mkfs.ext4, sfdisk, mkfs.vfat, mcopy). supermin builds libguestfs's appliance from the host's own
# kernel, and only *recommends* one: with --no-install-recommends a machine without /boot/vmlinuz-*
# gets "supermin: failed to find a suitable kernel", so the kernel is installed by name.
command -v guestfish >/dev/null && command -v virt-inspector >/dev/null \
  || { log "installing libguestfs-tools"; apt_install libguestfs-tools; }
compgen -G '/boot/vmlinuz-*' >/dev/null \
  || { log "installing linux-image-amd64 (the kernel of libguestfs's appliance)"; apt_install linux-image-amd64; }
{ [ -x /usr/sbin/sfdisk ] && [ -x /usr/sbin/mkfs.ext4 ] && [ -x /usr/sbin/mkfs.vfat ] && command -v mcopy >/dev/null; } \
  || { log "installing fdisk, e2fsprogs, dosfstools and mtools"; apt_install fdisk e2fsprogs dosfstools mtools; }
# The bootable test guest (tools/build-boot-guest.sh, for libs/testing's buildBootableGuest): busybox-static
# for its initramfs (no libc there), syslinux (installs into a FAT image through mtools) and
# syslinux-common (mbr.bin), cpio for the initramfs, kmod's depmod for the cloud kernel's modules.dep.
# (Installing busybox-static regenerates the host's initramfs once: initramfs-tools uses busybox.)
{ [ "$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null)" = 'install ok installed' ] && command -v syslinux >/dev/null \
  && [ -f /usr/lib/syslinux/mbr/mbr.bin ] && command -v cpio >/dev/null && { command -v depmod >/dev/null || [ -x /usr/sbin/depmod ]; }; } \
  || { log "installing busybox-static, syslinux, syslinux-common, cpio and kmod"; apt_install busybox-static syslinux syslinux-common cpio kmod; }
# Its kernel is linux-image-cloud-amd64's, fetched with apt-get download (never installed): the lists must know it.
apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1 || { log "updating apt's lists"; as_root apt-get update -qq; }
# The appliance is checked the way the tests use it (tools/ensure-libguestfs.sh: one boot, cached).
bash "$(dirname "$0")/ensure-libguestfs.sh"
# The migration's FIX stage (@ferry/qemu's v2v driver): virt-v2v 2.2's virt-v2v-in-place. It runs the
# disks through nbdkit (installed above) and libguestfs's appliance;
# libosinfo, which it links, reads /usr/share/misc/usb.ids and pci.ids (the usb.ids and pci.ids
# packages, which libosinfo-1.0-0 depends on: checked by file in case a minimal image removed them).
command -v virt-v2v-in-place >/dev/null || { log "installing virt-v2v"; apt_install virt-v2v; }
{ [ -f /usr/share/misc/usb.ids ] && [ -f /usr/share/misc/pci.ids ]; } \
  || { log "installing usb.ids and pci.ids"; apt_install usb.ids pci.ids; }
# The Debian test guest (tools/build-debian-guest.sh, for libs/testing's buildDebianGuest): debootstrap.
{ command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ]; } || { log "installing debootstrap"; apt_install debootstrap; }
# vcsim, the vSphere simulator the inspector is tested against: built from Debian's govmomi with
# Debian's Go and cached under /var/cache/ferry (tools/ensure-vcsim.sh; it installs Go when missing).
bash "$(dirname "$0")/ensure-vcsim.sh" >/dev/null
# The bootable test guest, both variants, built here once so CI caches the images and the kernel .deb
# under /var/cache/ferry and no test waits on the network; later runs only check the key (~1 s).
bash "$(dirname "$0")/build-boot-guest.sh" --vmware-traits >/dev/null
bash "$(dirname "$0")/build-boot-guest.sh" >/dev/null
# The Debian test guest (debootstrap from this machine's apt mirror, about 5 min the first time on a
# machine, cached under /var/cache/ferry by its key; later runs only check the key). Needs root.
if [ "$(id -u)" = 0 ]; then
  bash "$(dirname "$0")/build-debian-guest.sh" >/dev/null
else
  log "not root: the Debian test guest (tools/build-debian-guest.sh) is built by the first test that needs it, as root"
fi

# The CloudStack signer's test compares against the `cs` client; it installs for Debian's python3.
/usr/bin/python3 -c 'import cs' 2>/dev/null || { log "installing python3-cs"; apt_install python3-cs; }

if ! listening "$NATS_PORT"; then
  log "starting nats-server with JetStream on 127.0.0.1:$NATS_PORT"
  as_root mkdir -p "$NATS_STORE"
  # Known by its own pid file: with --exec alone, start-stop-daemon takes any nats-server already
  # running (a test's private one on another port, another container's) for ours and starts none.
  as_root start-stop-daemon --start --oknodo --background --make-pidfile --pidfile /run/ferry-nats-server.pid \
    --exec "$(command -v nats-server)" -- \
    -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$NATS_STORE" -l /var/log/nats-server.log
fi

if ! pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  if [ -z "$version" ]; then
    log "no PostgreSQL cluster found under /etc/postgresql"; exit 1
  fi
  # Debian gives a new cluster the first free port: one created while 5432 was taken listens elsewhere.
  port=$(pg_lsclusters -h 2>/dev/null | awk -v v="$version" '$1 == v && $2 == "main" { print $3 }')
  if [ -n "$port" ] && [ "$port" != "$PG_PORT" ]; then
    log "PostgreSQL cluster $version/main is set to port $port, not $PG_PORT (what the tests and npm run up use): set port = $PG_PORT in /etc/postgresql/$version/main/postgresql.conf, or free $PG_PORT and run again"
    exit 1
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || as_root pg_ctlcluster "$version" main start
fi

for _ in $(seq 1 50); do
  listening "$NATS_PORT" && pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
  sleep 0.2
done
listening "$NATS_PORT" || { log "NATS is not listening on 127.0.0.1:$NATS_PORT"; exit 1; }
pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || { log "PostgreSQL is not ready on 127.0.0.1:$PG_PORT"; exit 1; }

# A packaged cluster asks TCP clients for a password; this development setup uses trust on loopback.
if ! psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
  hba=$(as_root su postgres -c "psql -Atqc 'SHOW hba_file'" 2>/dev/null || true)
  if [ -n "$hba" ] && ! as_root grep -q '# ferry-dev' "$hba"; then
    log "allowing trust auth on loopback in $hba (development setup)"
    as_root sed -i '1i host all all 127.0.0.1/32 trust # ferry-dev\nhost all all ::1/128 trust # ferry-dev' "$hba"
    as_root su postgres -c "psql -Atqc 'SELECT pg_reload_conf()'" >/dev/null
    sleep 0.5
  fi
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null || { log "cannot connect to PostgreSQL as postgres"; exit 1; }
fi
log "PostgreSQL on 127.0.0.1:$PG_PORT and NATS on 127.0.0.1:$NATS_PORT are up"
