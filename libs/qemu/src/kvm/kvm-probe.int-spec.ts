import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '@ferry/platform';
import { KVM_PROBE_MARKER, bootSector, probeKvm } from './kvm-probe';

/** The real QEMU (Debian's qemu-system-x86, as tools/ensure-infra.sh installs it). */
describe('probeKvm', () => {
  it('has a boot sector that really runs: under TCG it prints the marker and QEMU ends', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-kvm-probe-spec-'));
    try {
      const disk = join(dir, 'boot.raw');
      await writeFile(disk, bootSector());
      const out = await runCommand(
        'qemu-system-x86_64',
        [
          '-machine',
          'pc,accel=tcg',
          '-nodefaults',
          '-no-user-config',
          '-display',
          'none',
          '-m',
          '16M',
        ].concat(['-serial', 'stdio', '-no-reboot', '-drive', `file=${disk},format=raw,if=ide`]),
        20_000,
      );
      expect(out).toContain(KVM_PROBE_MARKER);
      // A sector that does not boot prints nothing (and the BIOS gives up): the marker is the sector's.
      await writeFile(disk, Buffer.alloc(512));
      const blank = await runCommand(
        'qemu-system-x86_64',
        [
          '-machine',
          'pc,accel=tcg',
          '-nodefaults',
          '-no-user-config',
          '-display',
          'none',
          '-m',
          '16M',
        ].concat([
          '-serial',
          'stdio',
          '-no-reboot',
          '-boot',
          'reboot-timeout=0',
          '-drive',
          `file=${disk},format=raw,if=ide`,
        ]),
        20_000,
      );
      expect(blank).not.toContain(KVM_PROBE_MARKER);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives a reason, never a hang, for a QEMU that cannot run', async () => {
    await expect(probeKvm('/nonexistent/qemu-system-x86_64', 5000)).resolves.toEqual(expect.any(String));
  });
});
