import { MemoryGuestfish } from '../testing/memory-guestfish';
import { mountGuest } from './mount-guest';

describe('mountGuest', () => {
  it('mounts the root, then known filesystems parents first, and by-path ones the resolver resolves', async () => {
    const guest = new MemoryGuestfish();
    const byPath = '/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0-part1';
    const result = await mountGuest(
      guest,
      {
        root: '/dev/sda2',
        mountpoints: [
          { device: '/dev/sda2', path: '/' },
          { device: '/dev/sda1', path: '/boot/efi' },
          { device: '/dev/sda4', path: '/boot' },
          { device: byPath, path: '/data' },
        ],
        filesystems: [
          { device: '/dev/sda1', type: 'vfat', uuid: 'A', label: null },
          { device: '/dev/sda2', type: 'ext4', uuid: 'B', label: null },
          { device: '/dev/sda3', type: 'ext4', uuid: 'C', label: null },
          { device: '/dev/sda4', type: 'ext4', uuid: 'D', label: null },
        ],
        fstab: [
          { spec: 'UUID=B', path: '/', type: 'ext4', options: null },
          { spec: 'UUID=D', path: '/boot', type: 'ext4', options: null },
          { spec: 'UUID=A', path: '/boot/efi', type: 'vfat', options: null },
          { spec: byPath, path: '/data', type: 'ext4', options: null },
        ],
      },
      { readOnly: false },
    );
    expect(guest.log).toEqual([
      'mount /dev/sda2 /',
      'mount /dev/sda4 "/boot"',
      'mount /dev/sda3 "/data"',
      'mount /dev/sda1 "/boot/efi"',
    ]);
    expect(result.skipped).toEqual([]);
  });

  it('asks libguestfs for what it was not given: list-filesystems, and inspect-os only for the mountpoints', async () => {
    const guest = new MemoryGuestfish();
    guest.inspection = {
      filesystems: '/dev/sda1: ext4\n/dev/sda2: swap\n/dev/sdb: unknown\n',
      mountpoints: '/: /dev/sda1\n/boot: /dev/sda3\n',
    };
    await mountGuest(
      guest,
      { root: '/dev/sda1', mountpoints: [{ device: '/dev/sda1', path: '/' }] },
      { readOnly: true },
    );
    expect(guest.log).toEqual(['list-filesystems', 'mount-ro /dev/sda1 /']);
    guest.log.length = 0;
    const result = await mountGuest(guest, { root: '/dev/sda1' }, { readOnly: true });
    expect(guest.log).toEqual([
      'inspect-os',
      'inspect-get-mountpoints /dev/sda1',
      'list-filesystems',
      'mount-ro /dev/sda1 /',
    ]);
    // /dev/sda3 is no filesystem libguestfs listed: not mounted, and said why.
    expect(result.skipped).toEqual([
      { device: '/dev/sda3', path: '/boot', why: 'not a filesystem libguestfs can mount' },
    ]);
  });
});
