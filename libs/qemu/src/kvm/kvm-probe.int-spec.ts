import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '@ferry/platform';
import { KVM_PROBE_MARKER, bootSector, probeKvm } from './kvm-probe';

/** The real QEMU (Debian's qemu-system-x86, as tools/ensure-infra.sh installs it). */
describe('probeKvm', () => {
  /** The sector as the only disk of a TCG guest; what the guest printed on COM1. */
  const bootUnderTcg = async (sector: Buffer): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-kvm-probe-spec-'));
    try {
      const disk = join(dir, 'boot.raw');
      await writeFile(disk, sector);
      const args = ['-machine', 'pc,accel=tcg', '-nodefaults', '-no-user-config', '-display', 'none'];
      args.push('-m', '16M', '-serial', 'stdio', '-no-reboot', '-boot', 'reboot-timeout=0');
      args.push('-drive', `file=${disk},format=raw,if=ide`);
      return await runCommand('qemu-system-x86_64', args, 20_000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  it('has a boot sector that really runs: under TCG it prints the marker and QEMU ends', async () => {
    expect(await bootUnderTcg(bootSector())).toContain(KVM_PROBE_MARKER);
    // A sector that does not boot prints nothing (and the BIOS gives up): the marker is the sector's.
    expect(await bootUnderTcg(Buffer.alloc(512))).not.toContain(KVM_PROBE_MARKER);
  });

  it('gives a reason, never a hang, for a QEMU that cannot run', async () => {
    await expect(probeKvm('/nonexistent/qemu-system-x86_64', 5000)).resolves.toEqual(expect.any(String));
  });
});
