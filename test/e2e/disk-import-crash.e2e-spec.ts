import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiskDto, ImportStage, VolumeOperationDto } from '@ferry/contracts';
import { compareImages } from '@ferry/qemu';
import { HttpsFileServer, eventually } from '@ferry/testing';
import { Suite } from '../support/suite';

const MiB = 1024 * 1024;
const QEMU_IMG = { qemuImg: 'qemu-img', timeoutMs: 60_000 };

/** Whether any process's command line mentions `text` (a convert or an nbdkit a crash left behind). */
function processesMentioning(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', text]).toString().trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * volume-daemon killed with -9 while an import fetches and while it converts: the import is taken
 * over at restart, starts again from the beginning, and ends verified; nothing the dead daemon ran
 * is left running, and no file is left but the disk's.
 */
describe('disk import across volume-daemon crashes', () => {
  let suite: Suite;
  let server: HttpsFileServer;
  const root = mkdtempSync(join(tmpdir(), 'ferry-import-crash-'));
  const raw = join(root, 'web01.raw');
  let env: Record<string, string> = {};

  beforeAll(async () => {
    execFileSync('qemu-img', ['create', '-f', 'raw', raw, '48M'], { stdio: 'ignore' });
    execFileSync('dd', ['if=/dev/urandom', `of=${raw}`, 'bs=1M', 'count=24', 'seek=8', 'conv=notrunc'], {
      stdio: 'ignore',
    });
    // Slow enough (8 MiB/s, 300 ms a request) that each stage can be caught.
    server = await HttpsFileServer.start({ root, bytesPerSecond: 8 * MiB, latencyMs: 300 });
    env = { VOLUME_IMPORT_CA_FILE: server.caFile, VOLUME_RECOVERY_INTERVAL_MS: '500' };
    suite = await Suite.start(['gateway', 'vm-operator']);
    await suite.startService('volume-daemon', env);
  }, 120_000);

  afterAll(async () => {
    await suite?.dispose();
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const operation = async (id: string) =>
    (await suite.request<VolumeOperationDto>('GET', `/api/v1/volume-operations/${id}`)).body;

  for (const stage of ['fetch', 'convert'] as ImportStage[]) {
    it(`resumes an import whose daemon was killed during ${stage}, and ends verified`, async () => {
      const r = await suite.request<VolumeOperationDto>('POST', '/api/v1/disks/import', {
        body: { source: { type: 'url', url: server.url('web01.raw') }, name: `crash-${stage}` },
      });
      expect(r.status).toBe(202);
      await eventually(
        async () => {
          const p = (await operation(r.body.id)).progress;
          return p?.stage === stage && (stage !== 'convert' || p.bytes_done > 0) ? p : undefined;
        },
        30_000,
        `the import in ${stage}`,
      );
      await suite.processes.get('volume-daemon')!.stop('SIGKILL');
      // What the dead daemon ran (its convert, its nbdkit) dies with it.
      await eventually(
        async () =>
          [r.body.disk_id, server.url('web01.raw')].every((t) => processesMentioning(t).length === 0)
            ? true
            : undefined,
        5000,
        'no process of the dead daemon',
      );
      await suite.startService('volume-daemon', env);

      const op = await suite.waitForOperation(r.body.id, 90_000);
      expect(op.status).toBe('completed');
      expect(op.steps.map((s) => s.name)).toContain('restart');
      expect(op.steps.filter((s) => s.name === 'verify').at(-1)).toMatchObject({ status: 'done' });
      const disk = (await suite.request<DiskDto>('GET', `/api/v1/disks/${op.disk_id}`)).body;
      expect(disk.state).toBe('available');
      expect(
        await compareImages({ path: raw, format: 'raw' }, { path: disk.path!, format: 'qcow2' }, QEMU_IMG),
      ).toEqual({
        identical: true,
      });
      // Only the disks' own files in the storage directory: nothing half-written is left.
      const disks = (await suite.request<DiskDto[]>('GET', '/api/v1/disks')).body;
      expect(readdirSync(suite.diskDir).sort()).toEqual(disks.map((d) => `${d.id}.${d.format}`).sort());
    }, 150_000);
  }
});
