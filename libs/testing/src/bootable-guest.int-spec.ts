import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '@ferry/platform';
import type { BootableGuest } from './bootable-guest';
import {
  BOOT_OK_MARKER,
  FSTAB_FAIL_MARKER,
  FSTAB_OK_MARKER,
  FSTAB_RESULT,
  bootToMarker,
  buildBootableGuest,
} from './bootable-guest';
import { NET_RESULT, guestAddress, parseNetResults } from './guest-network';

/** After its network results the guest says this and stays up; without a NIC it powers off instead. */
const STAYS_UP_OR_OFF = /ferry: staying up\n|reboot: Power down/;

// A boot takes about 4 s under TCG on an idle machine; the whole suite running beside it slows that.
const BOOT_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = 180_000;

function debugfs(): string {
  return ['/usr/sbin/debugfs', '/sbin/debugfs'].find((p) => existsSync(p)) ?? 'debugfs';
}

function rootFs(guest: BootableGuest): string {
  return `${guest.path}?offset=${guest.partitions[1]!.startBytes}`;
}

/** A file of the guest's root filesystem, read from the image file (no mount). */
function readOnRoot(guest: BootableGuest, path: string): Promise<string> {
  return runCommand(debugfs(), ['-R', `cat ${path}`, rootFs(guest)], 30_000);
}

/** Replaces a file of the guest's root filesystem in the image file. */
async function writeOnRoot(guest: BootableGuest, path: string, content: string, dir: string): Promise<void> {
  const host = join(dir, 'replacement');
  await writeFile(host, content);
  await runCommand(
    debugfs(),
    ['-w', '-f', '-', rootFs(guest)],
    30_000,
    `rm ${path}\nwrite ${host} ${path}\n`,
  );
}

describe('the bootable test guest', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-bootable-guest-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'boots on virtio-blk with its VMware traits, and its by-path fstab line fails mount -a',
    async () => {
      const guest = await buildBootableGuest(join(dir, 'vmware'));
      expect(guest.sizeBytes).toBe(64 * 1024 * 1024);
      expect(guest.modules).toEqual(
        expect.arrayContaining(['virtio_blk.ko', 'virtio_scsi.ko', 'ata_piix.ko']),
      );
      expect(guest.fstab).toContain('/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0-part1 /data ext4');
      expect(await readOnRoot(guest, '/etc/network/interfaces')).toContain('iface ens192 inet dhcp');
      expect(guest.vmwareMac).toMatch(/^00:50:56(:[0-9a-f]{2}){3}$/);
      expect(await readOnRoot(guest, '/etc/udev/rules.d/70-persistent-net.rules')).toContain(
        `ATTR{address}=="${guest.vmwareMac}", ATTR{dev_id}=="0x0", ATTR{type}=="1", NAME="ens192"`,
      );
      expect(await readOnRoot(guest, '/etc/vmware-tools/tools.conf')).toContain('[guestinfo]');
      expect(await readOnRoot(guest, '/usr/bin/vmtoolsd')).toMatch(/^#!\/bin\/sh/);

      const boot = await bootToMarker(
        { path: guest.path, format: 'raw', bus: 'virtio' },
        FSTAB_RESULT,
        BOOT_TIMEOUT_MS,
      );
      expect(boot.matched).toBe(true);
      expect(boot.console).toContain(`${BOOT_OK_MARKER} root=/dev/vda2`);
      expect(boot.console).toContain(FSTAB_FAIL_MARKER);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'mounts /data once its fstab line names the data filesystem by UUID',
    async () => {
      const guest = await buildBootableGuest(join(dir, 'fixed'));
      const fixed = guest.fstab.replace(/^\/dev\/disk\/by-path\/\S+/m, `UUID=${guest.dataUuid}`);
      await writeOnRoot(guest, '/etc/fstab', fixed, dir);
      expect(await readOnRoot(guest, '/etc/fstab')).toBe(fixed);

      const boot = await bootToMarker({ path: guest.path, format: 'raw' }, FSTAB_RESULT, BOOT_TIMEOUT_MS);
      expect(boot.console).toContain(FSTAB_OK_MARKER);
      expect(boot.console).toMatch(/mounted \/dev\/vda3 \/root\/data ext4/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'without VMware traits boots on virtio-scsi and mounts its fstab',
    async () => {
      const guest = await buildBootableGuest(join(dir, 'plain'), { vmwareTraits: false });
      expect(guest.fstab).toContain(`UUID=${guest.dataUuid} /data ext4`);
      expect(await readOnRoot(guest, '/etc/network/interfaces')).not.toContain('ens192');

      const boot = await bootToMarker(
        { path: guest.path, format: 'raw', bus: 'scsi' },
        FSTAB_RESULT,
        BOOT_TIMEOUT_MS,
      );
      expect(boot.console).toContain(`${BOOT_OK_MARKER} root=/dev/sda2`);
      expect(boot.console).toContain(FSTAB_OK_MARKER);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'with a NIC brings eth0 up by DHCP, prints its address and stays up; without one it powers off',
    async () => {
      const guest = await buildBootableGuest(join(dir, 'net'), { vmwareTraits: false });
      expect(guest.dhcpInterface).toBe('eth0');
      expect(await readOnRoot(guest, '/etc/network/interfaces')).toContain('iface eth0 inet dhcp');

      const image = { path: guest.path, format: 'raw' as const };
      const withNic = await bootToMarker(
        { ...image, nicMac: '52:54:00:5e:00:10' },
        STAYS_UP_OR_OFF,
        BOOT_TIMEOUT_MS,
      );
      expect(withNic.console).toContain(FSTAB_OK_MARKER);
      // QEMU's user-mode network leases 10.0.2.15.
      expect(parseNetResults(withNic.console)).toEqual([{ iface: 'eth0', ok: true, ip: '10.0.2.15' }]);
      expect(withNic.console).toContain('ferry: staying up');
      expect(withNic.console).not.toContain('reboot: Power down');

      const without = await bootToMarker(image, STAYS_UP_OR_OFF, BOOT_TIMEOUT_MS);
      expect(without.console).toContain('reboot: Power down');
      expect(without.console).not.toMatch(/FERRY-NET|staying up/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'with VMware traits fails ens192 on a NIC of another MAC, and leases it on the VMware MAC',
    async () => {
      const guest = await buildBootableGuest(join(dir, 'vmware-net'));
      expect(guest.dhcpInterface).toBe('ens192');
      const image = { path: guest.path, format: 'raw' as const };

      const kvmMac = await bootToMarker(
        { ...image, nicMac: '52:54:00:5e:00:11' },
        NET_RESULT,
        BOOT_TIMEOUT_MS,
      );
      expect(parseNetResults(kvmMac.console)).toEqual([
        { iface: 'ens192', ok: false, reason: 'no such interface (the NICs are: eth0)' },
      ]);

      const vmwareMac = await bootToMarker(
        { ...image, nicMac: guest.vmwareMac },
        NET_RESULT,
        BOOT_TIMEOUT_MS,
      );
      expect(vmwareMac.console).toContain(`ferry: renamed eth0 to ens192 (${guest.vmwareMac}`);
      expect(guestAddress(vmwareMac.console, 'ens192')).toBe('10.0.2.15');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'boots converted to qcow2, on IDE',
    async () => {
      const guest = await buildBootableGuest(join(dir, 'qcow2'));
      const qcow2 = join(dir, 'qcow2', 'guest.qcow2');
      await runCommand('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', guest.path, qcow2], 60_000);

      const boot = await bootToMarker(
        { path: qcow2, format: 'qcow2', bus: 'ide' },
        /FERRY-BOOT-OK/,
        BOOT_TIMEOUT_MS,
      );
      expect(boot.matched).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'does not match on a blank disk (SeaBIOS finds nothing to boot and resets)',
    async () => {
      const blank = join(dir, 'blank.raw');
      await runCommand('truncate', ['-s', '64M', blank], 10_000);
      const started = Date.now();

      const boot = await bootToMarker({ path: blank, format: 'raw' }, /FERRY-BOOT-OK/, BOOT_TIMEOUT_MS);
      expect(boot.matched).toBe(false);
      // Ended by the reset, not by the deadline.
      expect(Date.now() - started).toBeLessThan(BOOT_TIMEOUT_MS / 2);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'does not match when the kernel on the boot partition is zeroed',
    async () => {
      const guest = await buildBootableGuest(join(dir, 'zeroed'));
      const zeros = join(dir, 'zeros');
      await writeFile(zeros, Buffer.alloc(1024 * 1024));
      const boot = guest.partitions[0]!;
      await runCommand(
        'mcopy',
        ['-o', '-i', `${guest.path}@@${boot.startBytes}`, zeros, '::/vmlinuz'],
        30_000,
      );

      // syslinux says so on the serial line and waits at its prompt: the deadline ends this boot.
      const result = await bootToMarker({ path: guest.path, format: 'raw' }, /FERRY-BOOT-OK/, 10_000);
      expect(result.matched).toBe(false);
      expect(result.console).toContain('Booting kernel failed');
    },
    TEST_TIMEOUT_MS,
  );
});
