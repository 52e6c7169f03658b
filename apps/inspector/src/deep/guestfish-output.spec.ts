import transcript from './fixtures/guestfish-transcript.json';
import {
  diskOfPartition,
  isOptionalMount,
  parseBool,
  parseFstab,
  parseHash,
  parseList,
  parseString,
  parseVersion,
} from './guestfish-output';

/** What the real session printed for a command (fixtures/guestfish-transcript.json). */
function out(command: string, nth = 0): string {
  const entry = transcript.filter((e) => e.command === command)[nth];
  if (!entry) throw new Error(`no "${command}" in the transcript`);
  return entry.out;
}

describe('guestfish output parsers (on a real session transcript)', () => {
  it('reads lists', () => {
    expect(parseList(out('list-devices'))).toEqual(['/dev/sda', '/dev/sdb', '/dev/sdc']);
    expect(parseList(out('inspect-os'))).toEqual(['/dev/sda1', '/dev/sdb2']);
    expect(parseList('')).toEqual([]);
  });

  it('reads hashes in order, values with colons kept whole', () => {
    expect(parseList(out('list-partitions'))).toEqual(['/dev/sda1', '/dev/sdb1', '/dev/sdb2']);
    expect(parseHash(out('blkid /dev/sda')).slice(-2)).toEqual([
      ['PTUUID', '0f3b4d8e-6a51-4c1e-9b7d-2c8e5f1a3b90'],
      ['PTTYPE', 'gpt'],
    ]);
    expect(parseHash(out('inspect-get-mountpoints /dev/sda1'))).toEqual([
      ['/', '/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:0:0-part1'],
    ]);
    const blkid = new Map(parseHash(out('blkid /dev/sdb1')));
    expect([blkid.get('TYPE'), blkid.get('UUID'), blkid.get('LABEL')]).toEqual(['vfat', '1234-ABCD', 'EFI']);
    expect(parseHash('LABEL: \nUUID: x\n')).toEqual([
      ['LABEL', ''],
      ['UUID', 'x'],
    ]);
  });

  it('reads strings, versions and booleans; unknown and errors are null', () => {
    expect(parseString(out('inspect-get-distro /dev/sda1'))).toBe('debian');
    expect(parseString('unknown\n')).toBeNull();
    expect(parseString('')).toBeNull();
    expect(parseVersion(out('inspect-get-major-version /dev/sda1'))).toBe(12);
    expect(parseVersion(out('inspect-get-minor-version /dev/sda1'))).toBe(5);
    expect(parseVersion('')).toBeNull();
    expect(parseBool(out('is-dir /etc/vmware-tools'))).toBe(true);
    expect(parseBool(out('is-dir /etc/vmware-tools', 1))).toBe(false);
    expect(parseBool('')).toBeNull();
  });

  it('reads fstab as written: comments skipped, escapes decoded', () => {
    expect(parseFstab(out('cat /etc/fstab'))).toEqual([
      {
        spec: '/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:0:0-part1',
        path: '/',
        type: 'ext4',
        options: 'defaults',
      },
    ]);
    expect(parseFstab(out('cat /etc/fstab', 1))).toEqual([
      { spec: 'UUID=11111111-2222-3333-4444-555555555555', path: '/', type: 'ext4', options: 'defaults' },
      { spec: 'UUID=1234-ABCD', path: '/boot/efi', type: 'vfat', options: 'umask=0077' },
      { spec: '/dev/sdb1', path: '/data', type: 'ext4', options: 'defaults' },
      { spec: 'LABEL=swap', path: 'none', type: 'swap', options: 'sw' },
    ]);
    expect(parseFstab('LABEL=My\\040Data\t/mnt/my\\040data  ntfs\n  # x\nbroken\n')).toEqual([
      { spec: 'LABEL=My Data', path: '/mnt/my data', type: 'ntfs', options: null },
    ]);
  });

  it('tells mounts the boot can go on without', () => {
    const entry = (type: string, options: string) => ({ spec: 's', path: '/p', type, options });
    expect(isOptionalMount(entry('ext4', 'defaults'))).toBe(false);
    expect(isOptionalMount(entry('ext4', 'defaults,nofail'))).toBe(true);
    expect(isOptionalMount(entry('nfs', 'noauto,ro'))).toBe(true);
    expect(isOptionalMount(entry('swap', 'sw'))).toBe(true);
  });

  it('names the disk of a partition', () => {
    expect(diskOfPartition('/dev/sdb2')).toBe('/dev/sdb');
    expect(diskOfPartition('/dev/sdab12')).toBe('/dev/sdab');
    expect(diskOfPartition('/dev/sda')).toBe('/dev/sda');
    expect(diskOfPartition('/dev/vg0/root')).toBeNull();
  });
});
