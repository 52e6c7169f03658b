#!/usr/bin/env bash
# Builds the Debian test guest (libs/testing/src/debian-guest.ts): a real Debian 12 installed the way
# a vSphere guest has it, which a migration's FIX stage (virt-v2v in place, Ferry's own fixes) must
# make boot on KVM. A 1.5 GiB sparse raw MBR disk:
#   p1  ext4 root (/ by UUID= in fstab): debootstrap --variant=minbase of bookworm from the mirror
#       this machine's apt uses, plus systemd-sysv, linux-image-amd64, grub-pc, initramfs-tools (and
#       zstd, which it recommends), ifupdown, isc-dhcp-client, open-vm-tools and e2fsprogs; no docs
#   p2  ext4 data, mounted at /data by /dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:0-part2 (a
#       VMware pvscsi disk's path: it never appears on KVM, and systemd drops to emergency mode)
# GRUB (BIOS) in the MBR, `console=ttyS0` on the kernel command line (no `quiet`), ens192 by DHCP in
# /etc/network/interfaces and pinned to the VMware MAC 00:50:56:a1:2b:3c by
# /etc/udev/rules.d/70-persistent-net.rules, root's password locked, hostname ferry-debian12.
# ferry-boot-markers.service prints FERRY-BOOT-OK, then FERRY-FSTAB-OK or FERRY-FSTAB-FAIL (is /data
# mounted), then per DHCP interface FERRY-NET-OK <iface> <ip> or FERRY-NET-FAIL <iface>: <reason>
# (libs/testing's guest-network.ts) to ttyS0 once local-fs.target
# and network-online.target are done (even in emergency mode), and the guest stays up.
# Changes a vSphere guest would not have: GRUB's terminal is the serial port (Debian's default hangs
# in a VM without VGA, as QEMU's -nodefaults makes it), and for test time only: systemd waits 15 s,
# not 90 s, for a device fstab names (DefaultDeviceTimeoutSec), GRUB's menu waits 0 s, not 5 s, and
# initramfs-tools's MODULES=dep (after the first initramfs is built with MODULES=most): a rebuild in
# libguestfs's appliance under TCG then takes about 2 min instead of over 15.
#
# How, without loop devices or mounts on the host: debootstrap into a directory (its /proc and /sys
# mounts live in a private mount namespace, so a crash leaves none behind; INITRD=No skips the
# kernel's initramfs, which the initramfs-tools trigger would otherwise build a second time), the
# initramfs built once in a chroot, `mkfs.ext4 -d` straight into the partitions of the image file
# (`-E offset=`), then libguestfs's appliance runs the guest's own grub-install and update-grub
# inside it (as virt-builder does), so GRUB's core image and grub.cfg are exactly what Debian makes.
#
# Usage: build-debian-guest.sh [<outdir>]
#   With <outdir>: builds disk.raw, fstab and guest.json there (by hand, no cache).
#   Without: builds into $FERRY_CACHE_DIR (default /var/cache/ferry, else ~/.cache/ferry) under
#   debian-guest-<key>/, keyed by this script, the mirror and the package versions, under a lock so
#   concurrent test workers build once, and prints that directory on stdout.
# The .debs are cached under the cache root in debootstrap-debs/. Needs root (debootstrap, chroot),
# debootstrap, e2fsprogs, fdisk, util-linux's unshare and libguestfs-tools (tools/ensure-infra.sh).
set -euo pipefail

log() { printf '[build-debian-guest] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

out=
for arg in "$@"; do
  case $arg in
    -*) die "unknown option $arg (usage: build-debian-guest.sh [<outdir>])" ;;
    *) out=$arg ;;
  esac
done

export PATH="$PATH:/usr/sbin:/sbin"
script=$(readlink -f "${BASH_SOURCE[0]}")

SUITE=bookworm
PACKAGES=systemd-sysv,linux-image-amd64,grub-pc,initramfs-tools,zstd,ifupdown,isc-dhcp-client,open-vm-tools,e2fsprogs
ROOT_UUID=6f1d2c3b-9a8e-4d7c-8b6a-5e4f3d2c1b0a
DATA_UUID=0c9b8a7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d
MACHINE_ID=f3a1c0de5e1f4a2b9c8d7e6f50412233
HOSTNAME_=ferry-debian12
VMWARE_MAC=00:50:56:a1:2b:3c
DATA_BY_PATH=/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:0-part2
MIB=$((1024 * 1024))
ROOT_START=$((1 * MIB)) ROOT_SIZE=$((1407 * MIB))
DATA_START=$((1408 * MIB)) DATA_SIZE=$((64 * MIB))
DISK_BYTES=$((1536 * MIB))

cache_root=${FERRY_CACHE_DIR:-/var/cache/ferry}
if ! mkdir -p "$cache_root" 2>/dev/null || [ ! -w "$cache_root" ]; then
  cache_root=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/ferry
  mkdir -p "$cache_root"
fi

for cmd in debootstrap mkfs.ext4 sfdisk unshare chroot guestfish flock apt-cache sha256sum; do
  command -v "$cmd" >/dev/null || die "$cmd is missing: run tools/ensure-infra.sh"
done

# The mirror this machine's apt uses for Debian (deb822 .sources or one-line .list); the only network
# these machines reach. FERRY_DEBIAN_MIRROR wins.
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # One stanza per paragraph: the first whose Suites name $SUITE and whose Components have main.
    awk -v suite="$SUITE" 'BEGIN { RS = ""; FS = "\n" }
      { uris = ""; ok_suite = 0; ok_main = 0; deb = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
          if ($i ~ /^Types:/ && (" " $i " ") ~ / deb /) deb = 1
          if ($i ~ /^Suites:/ && (" " $i " ") ~ (" " suite " ")) ok_suite = 1
          if ($i ~ /^Components:/ && (" " $i " ") ~ / main /) ok_main = 1 }
        if (deb && ok_suite && ok_main && uris != "") { split(uris, u, " "); print u[1]; exit } }' "$f"
  done
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } \
    | awk -v suite="$SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit } }'
}
mirror=${FERRY_DEBIAN_MIRROR:-$(debian_mirror | head -n1 || true)}
[ -n "$mirror" ] || die "no Debian $SUITE mirror in /etc/apt/sources.list*: set FERRY_DEBIAN_MIRROR"

if [ -z "$out" ]; then
  # What the guest gets is what the mirror has: the candidate versions apt knows stand for it (an
  # `apt-get update` that brings a new kernel or systemd builds a new guest).
  key=$({
    cat "$script"
    echo "$mirror"
    apt-cache show --no-all-versions linux-image-amd64 systemd grub-pc open-vm-tools ifupdown 2>/dev/null \
      | grep -E '^(Package|Version|Depends: linux-image)' || true
    dpkg-query -W -f='${Package} ${Version}\n' debootstrap e2fsprogs libguestfs0 2>/dev/null || true
  } | sha256sum | cut -c1-16)
  dir="$cache_root/debian-guest-$key"
  if [ ! -f "$dir/guest.json" ]; then
    mkdir -p "$dir"
    exec 9>"$dir/.lock"
    flock 9
    if [ ! -f "$dir/guest.json" ]; then
      log "building $dir"
      tmp=$(mktemp -d "$dir/build.XXXXXX")
      bash "$script" "$tmp" || { rm -rf "$tmp"; exit 1; }
      mv -f "$tmp/disk.raw" "$dir/disk.raw"
      mv -f "$tmp/fstab" "$dir/fstab"
      # guest.json last: its presence means the directory is complete.
      mv -f "$tmp/guest.json" "$dir/guest.json"
      rm -rf "$tmp"
    fi
  fi
  echo "$dir"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "debootstrap and chroot need root"
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "$out/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$SECONDS
tree="$work/root"

# debootstrap; the .debs are kept for the next build (one build at a time uses the directory).
debs="$cache_root/debootstrap-debs"
mkdir -p "$debs"
log "debootstrap $SUITE from $mirror"
(
  flock 8
  INITRD=No unshare --mount --propagation private \
    debootstrap --variant=minbase --cache-dir="$debs" --include="$PACKAGES" "$SUITE" "$tree" "$mirror" \
    >"$work/debootstrap.out" 2>&1
) 8>"$debs/.lock" || {
  tail -n 20 "$work/debootstrap.out" >&2
  [ -f "$tree/debootstrap/debootstrap.log" ] && tail -n 20 "$tree/debootstrap/debootstrap.log" >&2
  die "debootstrap failed"
}
debootstrap_s=$((SECONDS - started))
kver=$(basename "$(compgen -G "$tree/lib/modules/*" | head -n1)")
[ -f "$tree/boot/vmlinuz-$kver" ] || die "no kernel in the debootstrapped tree"

# The system as an installer on vSphere leaves it.
echo "$HOSTNAME_" >"$tree/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n' \
  "$HOSTNAME_" >"$tree/etc/hosts"
# Fixed, not empty: an empty machine-id is a first boot, and systemd-firstboot would prompt on the console.
echo "$MACHINE_ID" >"$tree/etc/machine-id"
cat >"$tree/etc/fstab" <<EOF
# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
UUID=$ROOT_UUID /               ext4    errors=remount-ro 0       1
$DATA_BY_PATH /data           ext4    defaults        0       2
EOF
mkdir -p "$tree/data"
cat >"$tree/etc/network/interfaces" <<'EOF'
# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface (VMware vmxnet3)
allow-hotplug ens192
auto ens192
iface ens192 inet dhcp
EOF
mkdir -p "$tree/etc/udev/rules.d"
cat >"$tree/etc/udev/rules.d/70-persistent-net.rules" <<EOF
# This file was automatically generated by the /lib/udev/write_net_rules
# program, run by the persistent-net-generator.rules rules file.

# PCI device 0x15ad:0x07b0 (vmxnet3)
SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="$VMWARE_MAC", ATTR{dev_id}=="0x0", ATTR{type}=="1", NAME="ens192"
EOF
sed -i -e 's/^GRUB_TIMEOUT=.*/GRUB_TIMEOUT=0/' \
  -e 's/^GRUB_CMDLINE_LINUX_DEFAULT=.*/GRUB_CMDLINE_LINUX_DEFAULT=""/' \
  -e 's/^GRUB_CMDLINE_LINUX=.*/GRUB_CMDLINE_LINUX="console=ttyS0"/' "$tree/etc/default/grub"
grep -q '^GRUB_CMDLINE_LINUX="console=ttyS0"$' "$tree/etc/default/grub" || die "cannot set GRUB_CMDLINE_LINUX"
# GRUB on the serial port only: Debian's default (gfxterm on the BIOS console) hangs before the kernel
# in a VM without a VGA device, which is how QEMU runs with -nodefaults (tests, vm-operator).
printf '%s\n' 'GRUB_TERMINAL=serial' 'GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"' >>"$tree/etc/default/grub"
mkdir -p "$tree/etc/systemd/system.conf.d"
cat >"$tree/etc/systemd/system.conf.d/ferry-test-guest.conf" <<'EOF'
# Ferry's test guest: an fstab device that never appears fails after 15 s instead of 90 s.
[Manager]
DefaultDeviceTimeoutSec=15s
EOF
# No docs for what a conversion installs later either.
cat >"$tree/etc/dpkg/dpkg.cfg.d/01-ferry-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
chroot "$tree" passwd -l root >/dev/null

cat >"$tree/usr/local/sbin/ferry-boot-markers" <<'EOF'
#!/bin/sh
# Ferry's test guest (tools/build-debian-guest.sh): what the boot achieved, on the serial console.
out=/dev/ttyS0
say() { echo "$*" >"$out"; echo "$*"; }
say "FERRY-BOOT-OK root=$(findmnt -n -o SOURCE /) kernel=$(uname -r) state=$(systemctl is-system-running 2>/dev/null)"
if mountpoint -q /data; then
  say "FERRY-FSTAB-OK"
else
  say "ferry: /data is not mounted (fstab: $(findmnt -s -n -o SOURCE /data 2>/dev/null))"
  say "FERRY-FSTAB-FAIL"
fi
# One line per DHCP interface of /etc/network/interfaces, as the tiny guest prints them. ifup has
# waited for a lease on the auto ones; a hotplugged NIC may still be asking: 20 s more.
links=$(ip -o link show 2>/dev/null | awk -F': ' '$2 != "lo" { printf "%s%s", sep, $2; sep = "," }')
ifaces=$(cat /etc/network/interfaces /etc/network/interfaces.d/* 2>/dev/null \
  | awk '$1 == "iface" && $3 == "inet" && $4 == "dhcp" { print $2 }' | sort -u)
[ -n "$ifaces" ] || say "FERRY-NET-FAIL -: no DHCP interface in /etc/network/interfaces"
for iface in $ifaces; do
  if ! ip link show dev "$iface" >/dev/null 2>&1; then
    say "FERRY-NET-FAIL $iface: no such interface (links: ${links:-none})"
    continue
  fi
  i=0
  while :; do
    addr=$(ip -4 -o addr show dev "$iface" scope global 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }')
    [ -n "$addr" ] || [ "$i" -ge 20 ] && break
    i=$((i + 1))
    sleep 1
  done
  if [ -n "$addr" ]; then
    say "FERRY-NET-OK $iface $addr"
  else
    say "FERRY-NET-FAIL $iface: no DHCP lease"
  fi
done
EOF
chmod 755 "$tree/usr/local/sbin/ferry-boot-markers"
cat >"$tree/etc/systemd/system/ferry-boot-markers.service" <<'EOF'
[Unit]
Description=Ferry test guest: boot markers on ttyS0
# No default dependencies: after a failed mount, sysinit.target waits on emergency.service's shell
# for good, and the markers must still tell what happened.
DefaultDependencies=no
Wants=network-online.target
After=local-fs.target network-online.target systemd-remount-fs.service
Conflicts=shutdown.target
Before=shutdown.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/ferry-boot-markers
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/ferry-boot-markers.service \
  "$tree/etc/systemd/system/multi-user.target.wants/ferry-boot-markers.service"

# The initramfs, once (initramfs-tools's MODULES=most, as an installed system has it); mkinitramfs
# is faster with /proc, mounted in a private namespace.
log "update-initramfs for $kver"
initramfs_started=$SECONDS
unshare --mount --propagation private sh -c \
  'mount -t proc proc "$1/proc" && exec chroot "$1" update-initramfs -c -k "$2"' sh "$tree" "$kver" \
  >"$work/initramfs.out" 2>&1 || { cat "$work/initramfs.out" >&2; die "update-initramfs failed"; }
initramfs_s=$((SECONDS - initramfs_started))
# The initramfs above has every storage driver (MODULES=most, what an installed system has), so the
# guest boots on VMware and KVM alike. The rebuilds to come (virt-v2v's, in libguestfs's appliance)
# take only what the root's disk needs: under TCG a MODULES=most rebuild took over 15 min here,
# MODULES=dep about 2.
sed -i 's/^MODULES=most$/MODULES=dep/' "$tree/etc/initramfs-tools/initramfs.conf"
grep -q '^MODULES=dep$' "$tree/etc/initramfs-tools/initramfs.conf" || die "cannot set MODULES=dep"

rm -rf "$tree"/var/cache/apt/archives/*.deb "$tree"/var/lib/apt/lists/* "$tree"/debootstrap
find "$tree/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
rm -rf "$tree"/usr/share/man/* "$tree"/usr/share/info/*
find "$tree/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true

datatree="$work/data"
mkdir -p "$datatree"
echo "the Debian test guest's data filesystem" >"$datatree/ferry-data"

disk="$work/disk.raw"
truncate -s "$DISK_BYTES" "$disk"
sfdisk -q "$disk" <<EOF
label: dos
label-id: 0x46455244
unit: sectors
start=$((ROOT_START / 512)), size=$((ROOT_SIZE / 512)), type=83, bootable
start=$((DATA_START / 512)), size=$((DATA_SIZE / 512)), type=83
EOF
mkext4() { # offset, size, uuid, label, tree
  mkfs.ext4 -q -F -t ext4 -U "$3" -L "$4" -E "offset=$1,root_owner=0:0" -d "$5" "$disk" "$(($2 / 1024))k"
}
mkext4 "$ROOT_START" "$ROOT_SIZE" "$ROOT_UUID" root "$tree"
mkext4 "$DATA_START" "$DATA_SIZE" "$DATA_UUID" data "$datatree"

# GRUB, installed by the guest's own tools inside libguestfs's appliance (TCG unless told otherwise).
log "grub-install and update-grub in libguestfs's appliance"
grub_started=$SECONDS
LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct} LIBGUESTFS_CACHEDIR=${LIBGUESTFS_CACHEDIR:-/var/tmp} \
  LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg} \
  timeout 600 guestfish --rw -a "$disk" -m /dev/sda1 >"$work/grub.out" 2>&1 <<'EOF' \
  || { cat "$work/grub.out" >&2; die "grub-install or update-grub failed"; }
sh "grub-install --target=i386-pc /dev/sda 2>&1"
sh "update-grub 2>&1"
sh "grep -E 'linux|initrd' /boot/grub/grub.cfg"
EOF
grub_s=$((SECONDS - grub_started))
grep -q "initrd[[:space:]]*/boot/initrd.img-$kver" "$work/grub.out" \
  && grep -q "root=UUID=$ROOT_UUID ro console=ttyS0" "$work/grub.out" \
  || { cat "$work/grub.out" >&2; die "grub.cfg lacks the initrd or root=UUID= with console=ttyS0"; }

mv -f "$disk" "$out/disk.raw"
cp "$tree/etc/fstab" "$out/fstab"
cat >"$out/guest.json" <<EOF
{
  "rootUuid": "$ROOT_UUID",
  "dataUuid": "$DATA_UUID",
  "sizeBytes": $DISK_BYTES,
  "kernel": "$kver",
  "hostname": "$HOSTNAME_",
  "vmwareMac": "$VMWARE_MAC",
  "dataByPath": "$DATA_BY_PATH",
  "mirror": "$mirror",
  "partitions": [
    { "number": 1, "startBytes": $ROOT_START, "sizeBytes": $ROOT_SIZE, "filesystem": "ext4", "mountpoint": "/" },
    { "number": 2, "startBytes": $DATA_START, "sizeBytes": $DATA_SIZE, "filesystem": "ext4", "mountpoint": "/data" }
  ],
  "buildSeconds": { "debootstrap": $debootstrap_s, "initramfs": $initramfs_s, "grub": $grub_s, "total": $((SECONDS - started)) }
}
EOF
log "built $out/disk.raw (Linux $kver) in $((SECONDS - started)) s: debootstrap ${debootstrap_s} s, initramfs ${initramfs_s} s, grub ${grub_s} s"
