import { describe, expect, it } from 'vitest';
import type { Results } from './inspection-results';
import { resultsView } from './inspection-results';

const guest = {
  root: '/dev/sda2',
  rootDiskId: 'disk-0',
  osType: 'linux',
  distro: 'debian',
  majorVersion: 12,
  minorVersion: 5,
  productName: null,
  arch: 'x86_64',
  hostname: 'web-1',
  packageFormat: 'deb',
  packageManagement: 'apt',
  firmware: 'uefi' as const,
  mountpoints: [],
  filesystems: [{ device: '/dev/sda2', type: 'ext4', uuid: 'u-1', label: null }],
  fstab: [
    { spec: '/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:0:0-part2', path: '/', type: 'ext4', options: null },
  ],
  vmwareTools: null,
};

describe('inspection results, laid out', () => {
  it('shows a local VM’s image files and guest: OS, firmware, filesystems and fstab as written', () => {
    const results: Results = {
      source: 'local',
      durationMs: 2500,
      disks: [
        {
          deviceId: 'disk-0',
          path: '/var/lib/ferry/disks/a.qcow2',
          format: 'qcow2',
          virtualSizeBytes: 2 * 1024 ** 3,
          actualSizeBytes: 3 * 1024 ** 2,
          backingChain: [
            { path: 'a', format: 'qcow2', virtualSizeBytes: 1 },
            { path: 'b', format: 'raw', virtualSizeBytes: 1 },
          ],
          partitionTable: {
            type: 'gpt',
            partitions: [
              { number: 1, startBytes: 0, sizeBytes: 1, typeId: 'x', kind: 'efi-system' },
              { number: 2, startBytes: 1, sizeBytes: 1, typeId: 'y', kind: 'linux-filesystem' },
            ],
          },
        },
      ],
      guest,
    };
    const view = resultsView(results);
    const summary = new Map(view.summary);
    expect(summary.get('Guest OS')).toBe('debian 12.5');
    expect(new Map(resultsView({ guest: { ...guest, productName: '12.5' } }).summary).get('Guest OS')).toBe(
      'debian 12.5',
    );
    expect(
      new Map(
        resultsView({ guest: { ...guest, productName: 'Debian GNU/Linux 12 (bookworm)' } }).summary,
      ).get('Guest OS'),
    ).toBe('Debian GNU/Linux 12 (bookworm)');
    expect(summary.get('Firmware (guest)')).toBe('uefi');
    expect(summary.get('Packages')).toBe('deb (apt)');
    expect(summary.get('VMware tools in the guest')).toBe('none');
    expect(summary.get('Took')).toBe('2.5 s');
    expect(view.tables.map((t) => t.title)).toEqual(['Disk images', 'Filesystems', '/etc/fstab']);
    expect(view.tables[0]!.rows[0]).toEqual([
      'disk-0',
      'qcow2',
      '2.0 GiB',
      '3 MiB',
      '1',
      'gpt: 1 efi-system, 2 linux-filesystem',
    ]);
    expect(view.tables[2]!.rows[0]![0]).toMatch(/by-path/);
    expect(view.tables[1]!.rows[0]).toEqual(['/dev/sda2', 'ext4', 'u-1', '—']);
  });

  it('shows vSphere’s facts, says when no OS was found, and shows nothing for no results', () => {
    const results = {
      source: 'vsphere',
      guest: null,
      vsphere: {
        moref: 'vm-1',
        name: 'db-1',
        guestFullName: 'Red Hat Enterprise Linux 9 (64-bit)',
        firmware: 'efi',
        secureBoot: true,
        numCpu: 4,
        memoryMB: 8192,
        changeTrackingEnabled: false,
        snapshotCount: 0,
        vTpm: false,
        encrypted: false,
        passthroughDevices: [],
        disks: [
          {
            label: 'Hard disk 1',
            controller: 'pvscsi',
            capacityBytes: 1024 ** 3,
            fileName: '[ds1] db/db.vmdk',
            diskMode: 'persistent',
            rdm: 'physical',
            sharing: null,
          },
        ],
        nics: [],
      },
    } as unknown as Results;
    const view = resultsView(results);
    const summary = new Map(view.summary);
    expect(summary.get('Firmware (vSphere)')).toBe('efi, Secure Boot');
    expect(summary.get('Memory')).toBe('8192 MiB');
    expect(summary.get('Changed block tracking')).toBe('no');
    expect(summary.get('Power')).toBe('—');
    expect(summary.get('Guest')).toBe('no operating system found');
    expect(view.tables.map((t) => t.title)).toEqual(['vSphere disks']);
    expect(view.tables[0]!.rows[0]).toEqual([
      'Hard disk 1',
      'pvscsi',
      '1.0 GiB',
      '[ds1] db/db.vmdk',
      'persistent',
      'physical',
      '—',
    ]);
    expect(resultsView(null)).toEqual({ summary: [], tables: [] });
  });
});
