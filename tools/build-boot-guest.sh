#!/usr/bin/env bash
# Builds the bootable test guest (libs/testing/src/bootable-guest.ts): a 64 MiB raw MBR disk that
# really boots under QEMU, made from Debian packages only and without root-only steps (no loop
# devices, no mounts, no mknod):
#   p1  FAT16, active: syslinux (`syslinux --install` on the image file, through mtools), the kernel
#       of linux-image-<version>-cloud-amd64 (downloaded with apt-get download, never installed) and
#       an initramfs of busybox-static and the cloud kernel's disk modules
#   p2  ext4 root (mkfs.ext4 -d), Debian 12's identity files, /etc/fstab, a static busybox
#   p3  ext4 data filesystem, the target of fstab's second line
# The initramfs's /init finds the root by the UUID on the kernel command line, mounts it, runs the
# root's own `mount -a` (chrooted, so it reads the root's /etc/fstab and mounts relative to it), prints
# FERRY-BOOT-OK, then FERRY-FSTAB-OK or FERRY-FSTAB-FAIL, to ttyS0. A VM without a NIC then powers off.
# A VM with one (a PCI network controller) gets the network its root describes: init loads virtio_net,
# renames interfaces as the root's udev persistent-net rules say (ATTR{address}=="<mac>" ... NAME="<n>"),
# runs busybox udhcpc for each `iface <name> inet dhcp` of the root's /etc/network/interfaces (and
# interfaces.d/*), prints FERRY-NET-OK <iface> <ip>, or FERRY-NET-FAIL <iface>: <reason> when there is
# no such interface or no lease within about 15 s, and stays up (udhcpc renews the lease) until QEMU
# is stopped. The plain root has `iface eth0 inet dhcp` (the kernel names the virtio NIC eth0).
# --vmware-traits adds what a guest brought from vSphere has and part 2 of a migration must fix: the
# data line names /dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0-part1 (absent on KVM, so mount -a
# fails), VMware Tools files and a NIC pinned to ens192 by a VMware MAC (so a NIC with another MAC
# stays eth0 and ens192 fails; one with that MAC becomes ens192 and gets its lease).
#
# Usage: build-boot-guest.sh [--vmware-traits] [<outdir>]
#   With <outdir>: builds disk.raw and guest.json there (by hand, no cache).
#   Without: builds into $FERRY_CACHE_DIR (default /var/cache/ferry, else ~/.cache/ferry) under
#   bootable-guest-<key>/, keyed by this script, the package versions and the options, under a lock
#   so concurrent test workers build once, and prints that directory on stdout.
# The kernel .deb is cached under the cache root in debs/. Needs busybox-static, syslinux,
# syslinux-common, mtools, dosfstools, e2fsprogs, fdisk, cpio and kmod (tools/ensure-infra.sh).
set -euo pipefail

log() { printf '[build-boot-guest] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

traits=0
out=
for arg in "$@"; do
  case $arg in
    --vmware-traits) traits=1 ;;
    -*) die "unknown option $arg (usage: build-boot-guest.sh [--vmware-traits] [<outdir>])" ;;
    *) out=$arg ;;
  esac
done

export PATH="$PATH:/usr/sbin:/sbin"
script=$(readlink -f "${BASH_SOURCE[0]}")

ROOT_UUID=7d1c9b2e-4f3a-4e8d-9b6c-0a1b2c3d4e5f
DATA_UUID=3a9e5f71-8c2d-4b6e-a0f4-1e2d3c4b5a69
BOOT_ID=4645-5252 # the FAT volume id, "FERR"
VMWARE_MAC=00:50:56:a1:2b:3c
DATA_BY_PATH=/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0-part1
# The cloud kernel has these as modules (virtio, SCSI and ATA are all =m; ext4 is built in). It has
# no ahci (so `ide` means the i440fx machine's PIIX controller) and no vmw_pvscsi.
MODULES=(virtio_pci virtio_blk virtio_scsi sd_mod ata_piix)
# Loaded only when the VM has a NIC. The cloud kernel has virtio_net as a module (with net_failover
# and failover); AF_PACKET, which udhcpc's raw socket needs, is built in (CONFIG_PACKET=y).
NET_MODULES=(virtio_net)
MIB_SECTORS=2048
BOOT_START=$((1 * MIB_SECTORS)) BOOT_SIZE=$((24 * MIB_SECTORS))
ROOT_START=$((25 * MIB_SECTORS)) ROOT_SIZE=$((28 * MIB_SECTORS))
DATA_START=$((53 * MIB_SECTORS)) DATA_SIZE=$((11 * MIB_SECTORS))
DISK_BYTES=$((64 * 1024 * 1024))

cache_root=${FERRY_CACHE_DIR:-/var/cache/ferry}
if ! mkdir -p "$cache_root" 2>/dev/null || [ ! -w "$cache_root" ]; then
  cache_root=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/ferry
  mkdir -p "$cache_root"
fi

for cmd in busybox syslinux mcopy mkfs.vfat mkfs.ext4 sfdisk cpio gzip dpkg-deb depmod apt-get flock; do
  command -v "$cmd" >/dev/null || die "$cmd is missing: run tools/ensure-infra.sh"
done
[ -f /usr/lib/syslinux/mbr/mbr.bin ] || die "/usr/lib/syslinux/mbr/mbr.bin is missing (syslinux-common): run tools/ensure-infra.sh"
# A static busybox: the initramfs has no libc.
[ "$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null)" = 'install ok installed' ] \
  || die "busybox-static is not installed: run tools/ensure-infra.sh"
busybox_bin=$(command -v busybox)

# linux-image-cloud-amd64 is a metapackage; the kernel is in the package it depends on, at the same
# version ("Depends: linux-image-6.1.0-57-cloud-amd64 (= 6.1.192-3)"). One apt-cache call: each
# takes half a second where apt keeps no pkgcache.bin (Debian's container images).
read -r kernel_pkg kernel_version < <(apt-cache show --no-all-versions linux-image-cloud-amd64 2>/dev/null \
  | sed -n 's/^Depends: \(linux-image-[0-9][^ ,]*\) (= \([^)]*\)).*/\1 \2/p' | head -n1) || true
[ -n "${kernel_version:-}" ] || die "apt knows no linux-image-cloud-amd64 (apt-get update?)"

if [ -z "$out" ]; then
  key=$({
    cat "$script"
    echo "$kernel_pkg $kernel_version"
    dpkg-query -W -f='${Package} ${Version}\n' busybox-static syslinux syslinux-common e2fsprogs 2>/dev/null || true
    echo "traits=$traits"
  } | sha256sum | cut -c1-16)
  dir="$cache_root/bootable-guest-$key"
  if [ ! -f "$dir/guest.json" ]; then
    mkdir -p "$dir"
    exec 9>"$dir/.lock"
    flock 9
    if [ ! -f "$dir/guest.json" ]; then
      log "building $dir"
      tmp=$(mktemp -d "$dir/build.XXXXXX")
      args=("$tmp")
      [ "$traits" = 1 ] && args+=(--vmware-traits)
      bash "$script" "${args[@]}" || { rm -rf "$tmp"; exit 1; }
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

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The kernel .deb, fetched once per version (under a lock: the two variants may build at once, and
# into the cache's own filesystem so the rename is atomic). apt-get download needs current lists: a
# failure is retried after an update (as root only; otherwise the message says what to do).
debs="$cache_root/debs"
mkdir -p "$debs"
deb="$debs/${kernel_pkg}_${kernel_version//:/%3a}_amd64.deb"
if [ ! -f "$deb" ]; then
  exec 8>"$debs/.lock"
  flock 8
  if [ ! -f "$deb" ]; then
    log "downloading $kernel_pkg $kernel_version"
    dl=$(mktemp -d "$debs/download.XXXXXX")
    download() { (cd "$dl" && apt-get download -q "$kernel_pkg=$kernel_version") >"$work/apt.log" 2>&1; }
    download || { [ "$(id -u)" = 0 ] && apt-get update -qq && download; } \
      || { cat "$work/apt.log" >&2; rm -rf "$dl"; die "cannot download $kernel_pkg (apt-get update?)"; }
    mv -f "$dl"/*.deb "$deb"
    rm -rf "$dl"
  fi
  exec 8>&-
fi
dpkg-deb -x "$deb" "$work/kernel"
kver=$(basename "$(compgen -G "$work/kernel/lib/modules/*" | head -n1)")
vmlinuz="$work/kernel/boot/vmlinuz-$kver"
[ -f "$vmlinuz" ] || die "no vmlinuz in $deb"
# The .deb has no modules.dep (its postinst runs depmod): make one to know each module's dependencies.
depmod -b "$work/kernel" "$kver"
moddir="$work/kernel/lib/modules/$kver"

# The initramfs: busybox, the modules in load order (dependencies first, as modprobe would), /init.
initrd="$work/initrd"
mkdir -p "$initrd"/{bin,dev,proc,sys,root,lib/modules}
cp "$busybox_bin" "$initrd/bin/busybox"
ln -s busybox "$initrd/bin/sh"
declare -A seen=()
order=()
add_module() {
  local path=$1
  [ -n "${seen[$path]:-}" ] && return
  seen[$path]=1
  order+=("$path")
}
# Modules and their dependencies, dependencies first (as modprobe would), listed in a load-order file.
write_load_order() { # file, modules...
  local file=$1 m line path
  shift
  order=()
  for m in "$@"; do
    line=$(grep -E "(^|/)${m}\.ko:" "$moddir/modules.dep") || die "no module $m in $kver"
    read -r -a deps <<<"${line#*:}"
    for ((i = ${#deps[@]} - 1; i >= 0; i--)); do add_module "${deps[i]}"; done
    add_module "${line%%:*}"
  done
  : >"$file"
  for path in "${order[@]}"; do
    cp "$moddir/$path" "$initrd/lib/modules/"
    basename "$path" >>"$file"
  done
}
write_load_order "$initrd/lib/modules/load-order" "${MODULES[@]}"
write_load_order "$initrd/lib/modules/net-load-order" "${NET_MODULES[@]}"
# udhcpc's script: sets the address it leases, as ifupdown's would, and leaves it for init to print.
cat >"$initrd/bin/ferry-dhcp" <<'EOF'
#!/bin/sh
# busybox udhcpc runs this with deconfig, bound, renew, leasefail or nak ($interface, $ip, $mask, $router).
state=/run/ferry-ip.$interface
case $1 in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound | renew)
    if [ "$(cat "$state" 2>/dev/null)" != "$ip" ]; then
      ip -4 addr flush dev "$interface"
      ip addr add "$ip/${mask:-24}" dev "$interface"
      [ -z "$router" ] || ip route add default via "${router%% *}" dev "$interface" 2>/dev/null
      # A lease that brings another address later says so again; the first is init's to print.
      [ ! -s "$state" ] || echo "FERRY-NET-OK $interface $ip"
      echo "$ip" >"$state"
    fi
    ;;
esac
exit 0
EOF
chmod 755 "$initrd/bin/ferry-dhcp"
cat >"$initrd/init" <<'EOF'
#!/bin/sh
# The bootable test guest's init (tools/build-boot-guest.sh). Everything it prints goes to ttyS0.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
fail() {
  echo "FERRY-BOOT-FAIL: $*"
  poweroff -f
  exit 1 # a kernel panic, and panic=-1 reboots: either way QEMU (-no-reboot) ends
}
for m in $(cat /lib/modules/load-order); do insmod "/lib/modules/$m" || echo "ferry: insmod $m failed"; done
root=
for arg in $(cat /proc/cmdline); do case $arg in root=*) root=${arg#root=} ;; esac; done
[ -n "$root" ] || fail "no root= on the kernel command line"
# The disk drivers probe asynchronously: wait for the root until 10 s after the kernel started.
until dev=$(findfs "$root" 2>/dev/null); do
  [ "$(cut -d. -f1 /proc/uptime)" -lt 10 ] || fail "no filesystem $root"
  usleep 50000
done
mount -t ext4 "$dev" /root || fail "cannot mount $dev"
mount -t proc proc /root/proc
mount -t sysfs sysfs /root/sys
mount -t devtmpfs devtmpfs /root/dev
echo "FERRY-BOOT-OK root=$dev"
# The root's own mount -a against its /etc/fstab, relative to the root ("/" is mounted and skipped).
if chroot /root /bin/busybox mount -a; then rc=OK; else rc=FAIL; fi
grep -v -e ' proc ' -e ' sysfs ' -e ' devtmpfs ' -e ' rootfs ' /proc/mounts | sed 's/^/ferry: mounted /'
echo "FERRY-FSTAB-$rc"
sync
# A VM without a NIC is done. One with a NIC (a PCI network controller) is a server: it brings up the
# network its root describes and stays up, its DHCP client renewing the lease, until QEMU is stopped.
nic=
for class in /sys/bus/pci/devices/*/class; do case $(cat "$class") in 0x02*) nic=1 ;; esac; done
[ -n "$nic" ] || poweroff -f
for m in $(cat /lib/modules/net-load-order); do insmod "/lib/modules/$m" || echo "ferry: insmod $m failed"; done
netdevs() { for d in /sys/class/net/*; do [ "${d##*/}" = lo ] || echo "${d##*/}"; done; }
until [ -n "$(netdevs)" ]; do
  [ "$(cut -d. -f1 /proc/uptime)" -lt 20 ] || { echo "ferry: no network interface for the NIC"; break; }
  usleep 50000
done
# The root's udev persistent-net rules, applied as udev would: the interface whose address is the
# rule's ATTR{address} gets the rule's NAME.
for rules in /root/etc/udev/rules.d/*.rules; do
  [ -f "$rules" ] || continue
  grep -v '^[[:space:]]*#' "$rules" | grep 'ATTR{address}==' | while read -r rule; do
    mac=$(echo "$rule" | sed -n 's/.*ATTR{address}=="\([^"]*\)".*/\1/p')
    name=$(echo "$rule" | sed -n 's/.*NAME:\{0,1\}="\([^"]*\)".*/\1/p')
    [ -n "$mac" ] && [ -n "$name" ] || continue
    for dev in $(netdevs); do
      [ "$(cat "/sys/class/net/$dev/address")" = "$mac" ] && [ "$dev" != "$name" ] || continue
      ip link set "$dev" name "$name" && echo "ferry: renamed $dev to $name ($mac, ${rules#/root})"
    done
  done
done
mkdir -p /run
ifaces=$(cat /root/etc/network/interfaces /root/etc/network/interfaces.d/* 2>/dev/null \
  | awk '$1 == "iface" && $3 == "inet" && $4 == "dhcp" { print $2 }')
[ -n "$ifaces" ] || echo "FERRY-NET-FAIL none: no \"iface <name> inet dhcp\" in /etc/network/interfaces"
for ifc in $ifaces; do
  if [ ! -e "/sys/class/net/$ifc" ]; then
    echo "FERRY-NET-FAIL $ifc: no such interface (the NICs are: $(echo $(netdevs)))"
    continue
  fi
  ip link set "$ifc" up
  # 5 discovers 3 s apart, then it gives up (-n); with a lease it stays, renewing it.
  udhcpc -f -i "$ifc" -s /bin/ferry-dhcp -t 5 -T 3 -n &
  dhcp=$!
  while kill -0 "$dhcp" 2>/dev/null && [ ! -s "/run/ferry-ip.$ifc" ]; do usleep 100000; done
  if [ -s "/run/ferry-ip.$ifc" ]; then
    echo "FERRY-NET-OK $ifc $(cat "/run/ferry-ip.$ifc")"
  else
    echo "FERRY-NET-FAIL $ifc: no DHCP lease within 15 s"
  fi
done
echo "ferry: staying up"
while :; do sleep 3600; done
EOF
chmod 755 "$initrd/init"
(cd "$initrd" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9n) >"$work/initrd.img"

# The root filesystem.
tree="$work/root"
mkdir -p "$tree"/{bin,sbin,etc,proc,sys,dev,root,tmp,var/lib/dpkg,usr/bin,usr/sbin,lib,boot,data}
cp "$busybox_bin" "$tree/bin/busybox"
for applet in sh ls mount umount cat; do ln -s busybox "$tree/bin/$applet"; done
cat >"$tree/etc/os-release" <<'EOF'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
EOF
echo 12.5 >"$tree/etc/debian_version"
echo ferry-boot-guest >"$tree/etc/hostname"
if [ "$traits" = 1 ]; then data_spec=$DATA_BY_PATH; else data_spec=UUID=$DATA_UUID; fi
cat >"$tree/etc/fstab" <<EOF
# /etc/fstab: static file system information.
UUID=$ROOT_UUID / ext4 errors=remount-ro 0 1
$data_spec /data ext4 defaults 0 2
EOF
dpkg_entry() { printf 'Package: %s\nStatus: install ok installed\nArchitecture: amd64\nVersion: %s\n\n' "$1" "$2"; }
dpkg_entry busybox-static "$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo 1:1.35.0-4)" \
  >"$tree/var/lib/dpkg/status"
if [ "$traits" = 0 ]; then
  # The kernel names the virtio NIC eth0 (there is no udev to give it a predictable name).
  mkdir -p "$tree/etc/network"
  cat >"$tree/etc/network/interfaces" <<'EOF'
# interfaces(5) file used by ifup(8) and ifdown(8)
auto lo
iface lo inet loopback

auto eth0
iface eth0 inet dhcp
EOF
fi
if [ "$traits" = 1 ]; then
  dpkg_entry open-vm-tools 2:12.2.0-1+deb12u2 >>"$tree/var/lib/dpkg/status"
  mkdir -p "$tree/etc/vmware-tools" "$tree/etc/network" "$tree/etc/udev/rules.d"
  cat >"$tree/etc/vmware-tools/tools.conf" <<'EOF'
[logging]
log = true
vmtoolsd.level = message
vmtoolsd.handler = vmx

[guestinfo]
poll-interval = 30
EOF
  cat >"$tree/usr/bin/vmtoolsd" <<'EOF'
#!/bin/sh
# A stand-in for open-vm-tools's daemon: it has no VMware backdoor to talk to here.
echo "vmtoolsd: not running on VMware" >&2
exit 1
EOF
  chmod 755 "$tree/usr/bin/vmtoolsd"
  cat >"$tree/etc/network/interfaces" <<'EOF'
# interfaces(5) file used by ifup(8) and ifdown(8)
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

# The primary network interface (VMware vmxnet3)
allow-hotplug ens192
auto ens192
iface ens192 inet dhcp
EOF
  cat >"$tree/etc/udev/rules.d/70-persistent-net.rules" <<EOF
# This file was automatically generated by the /lib/udev/write_net_rules
# program, run by the persistent-net-generator.rules rules file.

# PCI device 0x15ad:0x07b0 (vmxnet3)
SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="$VMWARE_MAC", ATTR{dev_id}=="0x0", ATTR{type}=="1", NAME="ens192"
EOF
fi
datatree="$work/data"
mkdir -p "$datatree"
echo "the bootable test guest's data filesystem" >"$datatree/ferry-data"

mkext4() { # file, size in sectors, uuid, label, tree
  truncate -s $(($2 * 512)) "$1"
  mkfs.ext4 -q -F -t ext4 -U "$3" -L "$4" -E root_owner=0:0 -d "$5" "$1"
}
mkext4 "$work/root.ext4" "$ROOT_SIZE" "$ROOT_UUID" root "$tree"
mkext4 "$work/data.ext4" "$DATA_SIZE" "$DATA_UUID" data "$datatree"

# The boot filesystem: FAT, so syslinux installs into the image file without mounting it.
cat >"$work/syslinux.cfg" <<EOF
SERIAL 0 115200
DEFAULT ferry
PROMPT 0
TIMEOUT 0
LABEL ferry
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND root=UUID=$ROOT_UUID console=ttyS0 quiet panic=-1
EOF
mkfs.vfat -C -i "${BOOT_ID//-/}" -n FERRYBOOT "$work/boot.vfat" $((BOOT_SIZE / 2)) >/dev/null
syslinux --install "$work/boot.vfat"
cp "$vmlinuz" "$work/vmlinuz"
mcopy -i "$work/boot.vfat" "$work/vmlinuz" "$work/initrd.img" "$work/syslinux.cfg" ::/

disk="$work/disk.raw"
truncate -s "$DISK_BYTES" "$disk"
sfdisk -q "$disk" <<EOF
label: dos
label-id: 0x46455252
unit: sectors
start=$BOOT_START, size=$BOOT_SIZE, type=6, bootable
start=$ROOT_START, size=$ROOT_SIZE, type=83
start=$DATA_START, size=$DATA_SIZE, type=83
EOF
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$disk" bs=440 count=1 conv=notrunc status=none
dd if="$work/boot.vfat" of="$disk" bs=512 seek="$BOOT_START" conv=notrunc status=none
dd if="$work/root.ext4" of="$disk" bs=512 seek="$ROOT_START" conv=notrunc status=none
dd if="$work/data.ext4" of="$disk" bs=512 seek="$DATA_START" conv=notrunc status=none

mv -f "$disk" "$out/disk.raw"
cp "$tree/etc/fstab" "$out/fstab"
cat >"$out/guest.json" <<EOF
{
  "rootUuid": "$ROOT_UUID",
  "dataUuid": "$DATA_UUID",
  "bootUuid": "$BOOT_ID",
  "sizeBytes": $DISK_BYTES,
  "kernel": "$kernel_pkg $kernel_version",
  "modules": "$(tr '\n' ' ' <"$initrd/lib/modules/load-order" | sed 's/ $//')",
  "vmwareTraits": $([ "$traits" = 1 ] && echo true || echo false),
  "vmwareMac": "$([ "$traits" = 1 ] && echo "$VMWARE_MAC")",
  "dhcpInterface": "$([ "$traits" = 1 ] && echo ens192 || echo eth0)",
  "partitions": [
    { "number": 1, "startBytes": $((BOOT_START * 512)), "sizeBytes": $((BOOT_SIZE * 512)), "filesystem": "vfat" },
    { "number": 2, "startBytes": $((ROOT_START * 512)), "sizeBytes": $((ROOT_SIZE * 512)), "filesystem": "ext4" },
    { "number": 3, "startBytes": $((DATA_START * 512)), "sizeBytes": $((DATA_SIZE * 512)), "filesystem": "ext4" }
  ]
}
EOF
log "built $out/disk.raw ($kernel_pkg $kernel_version)"
