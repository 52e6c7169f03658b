import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { V2vOutputScanner } from './v2v-output';
import type { V2vProgress } from './v2v-types';

/** Captured from virt-v2v-in-place 2.2.0 -v -x on the Debian test guest (stderr: the lines that matter, cut at 200 characters). */
function fixture(name: string): string[] {
  return readFileSync(join(__dirname, 'fixtures', name), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

function scan(stdout: string[], stderr: string[]): { scanner: V2vOutputScanner; progress: V2vProgress[] } {
  const progress: V2vProgress[] = [];
  const scanner = new V2vOutputScanner((p) => progress.push(p));
  // Its log comes first in each stage; the order across the two pipes is not kept anyway.
  for (const line of stderr) scanner.push('stderr', line);
  for (const line of stdout) scanner.push('stdout', line);
  return { scanner, progress };
}

describe('V2vOutputScanner on a real conversion of Debian 12', () => {
  const { scanner, progress } = scan(
    fixture('debian12-in-place.stdout'),
    fixture('debian12-in-place.stderr'),
  );

  it('reports each stage as virt-v2v announces it, with a rising share', () => {
    expect(progress.map((p) => [p.stage, p.atSeconds])).toEqual([
      ['setup', 0],
      ['opening', 1.1],
      ['inspecting', 39.7],
      ['checking-space', 69.7],
      ['converting', 69.7],
      ['mapping', 193.2],
      ['closing', 205.2],
      ['assigning-buses', 205.9],
      ['checking-firmware', 205.9],
      ['finishing', 205.9],
    ]);
    const shares = progress.map((p) => p.share);
    expect(shares).toEqual([...shares].sort((a, b) => a - b));
    expect(shares[0]).toBe(0);
    expect(shares[shares.length - 1]).toBeLessThan(1);
    expect(progress[4]!.message).toBe('Converting 12.15 to run on KVM');
  });

  it('times each stage until the next, the last until the end of the run', () => {
    const times = scanner.stageTimes(206.4);
    expect(times.find((t) => t.stage === 'opening')!.seconds).toBe(38.6);
    expect(times.find((t) => t.stage === 'converting')!.seconds).toBe(123.5);
    expect(times[times.length - 1]).toMatchObject({ stage: 'finishing', seconds: 0.5 });
  });

  it('reads what the conversion did from the verbose log', () => {
    expect(scanner.conversionFacts()).toEqual({
      product: '12.15',
      conversionModule: 'linux',
      kernel: '6.1.0-50-amd64',
      removedPackages: ['open-vm-tools'],
      initramfsModules: [
        'virtio',
        'virtio_ring',
        'virtio_blk',
        'virtio_scsi',
        'virtio_net',
        'virtio_pci',
        'xts',
        'bochs',
      ],
      initramfsRebuilt: true,
      bootloaderUpdated: false,
      deviceMap: [
        { from: 'sda', to: 'vda' },
        { from: 'xvda', to: 'vda' },
      ],
      guestcaps: expect.objectContaining({ block_bus: 'virtio-blk', net_bus: 'virtio-net', machine: 'q35' }),
      firstbootScripts: [
        '5000-0001-wait-online',
        '5000-0002-setenforce-0',
        '5000-0003-install-qga',
        '5000-0004-setenforce-restore',
        '5000-0005-start-qga',
      ],
      firmware: 'bios',
    });
  });

  it('keeps warnings and informational lines apart, without the program name', () => {
    expect(scanner.warnings).toEqual([
      'mount: mount_stub: /dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:0-part2: No such file or directory (ignored)',
      'could not determine a way to update the configuration of Grub2',
    ]);
    expect(scanner.info).toEqual([
      'The QEMU Guest Agent will be installed for this guest at first boot.',
      'This guest has virtio drivers installed.',
    ]);
    expect(scanner.errorMessage()).toBeUndefined();
  });
});

describe('V2vOutputScanner on a refusal', () => {
  it("takes virt-v2v's error message, all its lines, and the stage it stopped in", () => {
    const { scanner } = scan(
      [
        '[   0.0] Setting up the source: -i disk tiny.raw',
        '[   1.1] Opening the source',
        '[  22.8] Inspecting the source',
        '[  51.7] Checking for sufficient free disk space in the guest',
      ],
      [
        'libguestfs: trace: v2v: statvfs "/"',
        'virt-v2v-in-place: error: not enough free space for conversion on filesystem ‘/data’.  9.1 MB free < 10 MB needed',
        '',
        'If reporting bugs, run virt-v2v-in-place with debugging enabled and include the complete output:',
        '',
        '  virt-v2v-in-place -v -x [...]',
      ],
    );
    expect(scanner.errorMessage()).toBe(
      'not enough free space for conversion on filesystem ‘/data’.  9.1 MB free < 10 MB needed',
    );
    expect(scanner.currentStage()).toBe('checking-space');
    expect(scanner.lastLines(2)).toEqual(['', '  virt-v2v-in-place -v -x [...]']);
  });

  it('joins a message that runs over several lines, and sees the inspector and virt-v2v the same way', () => {
    const scanner = new V2vOutputScanner();
    for (const line of [
      'virt-v2v-inspector: error: inspection could not detect the source guest (or physical machine).',
      '',
      'Assuming that you are running virt-v2v/virt-p2v on a source which is',
      'supported (and not, for example, a blank disk), then this should not',
      'happen.',
      '',
      'If reporting bugs, run virt-v2v-inspector with debugging enabled and include the complete output:',
    ]) {
      scanner.push('stderr', line);
    }
    expect(scanner.errorMessage()).toBe(
      'inspection could not detect the source guest (or physical machine).\nAssuming that you are running virt-v2v/virt-p2v on a source which is\nsupported (and not, for example, a blank disk), then this should not\nhappen.',
    );
  });

  it('calls an unknown message `other`, at the share of the stage before it', () => {
    const progress: V2vProgress[] = [];
    const scanner = new V2vOutputScanner((p) => progress.push(p));
    scanner.push('stdout', '[  12.0] Inspecting the source');
    scanner.push('stdout', '[  13.5] Doing something new');
    expect(progress[1]).toEqual({
      stage: 'other',
      message: 'Doing something new',
      atSeconds: 13.5,
      share: progress[0]!.share,
    });
    expect(scanner.conversionFacts().firmware).toBeUndefined();
  });

  it('reads a UEFI guest from its informational line', () => {
    const scanner = new V2vOutputScanner();
    scanner.push('stdout', '[ 100.0] Checking if the guest needs BIOS or UEFI to boot');
    scanner.push('stdout', 'virt-v2v-in-place: This guest requires UEFI on the target to boot.');
    expect(scanner.conversionFacts().firmware).toBe('uefi');
  });
});
