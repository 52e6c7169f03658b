import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiskDto, VolumeOperationDto } from '@ferry/contracts';
import { compareImages } from '@ferry/qemu';
import { MiB, patternedRaw, runTool } from '@ferry/testing';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';

interface Problem {
  code: string;
  detail: string;
  errors?: Array<{ field: string; messages: string[] }>;
}

const QEMU_IMG = { qemuImg: 'qemu-img', timeoutMs: 60_000 };

/** Imports through the gateway, from files an admin allowed (VOLUME_IMPORT_DIRS), with real qemu-img. */
describe('disk import through the gateway (files)', () => {
  let suite: Suite;
  let sse: SseClient;
  const imports = mkdtempSync(join(tmpdir(), 'ferry-imports-'));
  const outside = mkdtempSync(join(tmpdir(), 'ferry-outside-'));
  const raw = join(imports, 'web01.raw');

  /** `raw` as a VMDK of `subformat` in the import directory. */
  const vmdk = (subformat: string, name: string) =>
    runTool('qemu-img', [
      'convert',
      '-f',
      'raw',
      '-O',
      'vmdk',
      '-o',
      `subformat=${subformat}`,
      raw,
      join(imports, name),
    ]);

  beforeAll(async () => {
    await patternedRaw(raw, 24 * MiB, [0, 3 * MiB + 17, 23 * MiB]);
    await vmdk('monolithicFlat', 'web01.vmdk');
    await vmdk('streamOptimized', 'web01-stream.vmdk');
    // A sparse VMDK whose grain table points past its end; a flat one whose extent is cut short.
    await vmdk('monolithicSparse', 'broken.vmdk');
    truncateSync(join(imports, 'broken.vmdk'), 192 * 1024);
    await vmdk('monolithicFlat', 'short.vmdk');
    truncateSync(join(imports, 'short-flat.vmdk'), 8 * MiB);
    execFileSync('cp', [raw, join(outside, 'secret.raw')]);
    symlinkSync(join(outside, 'secret.raw'), join(imports, 'escape.raw'));
    suite = await Suite.start(['gateway', 'vm-operator']);
    sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?type=ferry.volume-daemon.`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
    await suite.startService('volume-daemon', {
      VOLUME_IMPORT_DIRS: imports,
      VOLUME_IMPORT_CONCURRENCY: '1',
    });
  }, 120_000);

  afterAll(async () => {
    sse?.close();
    await suite?.dispose();
    rmSync(imports, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  const start = (body: unknown) =>
    suite.request<VolumeOperationDto & Problem>('POST', '/api/v1/disks/import', { body });
  const disks = async () => (await suite.request<DiskDto[]>('GET', '/api/v1/disks')).body;

  it('imports an ESXi-style VMDK (descriptor + flat extent) into a verified qcow2, with stages and progress events', async () => {
    const r = await start({
      source: { type: 'file', path: join(imports, 'web01.vmdk') },
      name: 'web01-disk1',
    });
    expect(r.status).toBe(202);
    expect(r.headers.get('location')).toBe(`/api/v1/volume-operations/${r.body.id}`);
    expect(r.body).toMatchObject({ type: 'import', status: 'pending' });
    const diskId = r.body.disk_id;
    // Never usable half-imported: the disk is listed, importing, until the verification.
    const early = (await disks()).find((d) => d.id === diskId);
    expect(early?.state === 'importing' || early?.state === 'available').toBe(true);

    const op = await suite.waitForOperation(r.body.id, 60_000);
    expect(op.status).toBe('completed');
    expect(op.steps.map((s) => [s.name, s.status])).toEqual([
      ['fetch', 'done'],
      ['flatten', 'done'],
      ['convert', 'done'],
      ['verify', 'done'],
    ]);
    expect(op.progress?.stages.map((s) => [s.name, s.state])).toEqual([
      ['fetch', 'done'],
      ['flatten', 'done'],
      ['convert', 'done'],
      ['verify', 'done'],
    ]);
    const convert = op.progress!.stages.find((s) => s.name === 'convert')!;
    expect(convert).toMatchObject({ bytes_done: 24 * MiB, bytes_total: 24 * MiB });
    expect(op.progress!.stages.find((s) => s.name === 'flatten')!.detail).toMatch(/web01-flat\.vmdk/);
    expect(op.steps.find((s) => s.name === 'verify')!.detail).toMatch(/identical/);

    const disk = (await suite.request<DiskDto>('GET', `/api/v1/disks/${diskId}`)).body;
    expect(disk).toMatchObject({
      name: 'web01-disk1',
      state: 'available',
      format: 'qcow2',
      size_bytes: 24 * MiB,
      vm_id: null,
    });
    expect(
      await compareImages({ path: raw, format: 'raw' }, { path: disk.path!, format: 'qcow2' }, QEMU_IMG),
    ).toEqual({
      identical: true,
    });
    // The console's progress bar: events for this operation, the last one at verify.
    const events = await sse.waitFor(
      (m) =>
        m.data.type === 'ferry.volume-daemon.operation.progress' &&
        (m.data.data as { operationId: string }).operationId === op.id &&
        (m.data.data as { progress: { stage: string } }).progress.stage === 'verify',
      20_000,
    );
    expect(events).toBeDefined();
    await sse.waitFor(
      (m) => m.data.type === 'ferry.volume-daemon.disk.created' && m.data.subject === diskId,
      20_000,
    );
  });

  it('imports a streamOptimized VMDK as raw when asked', async () => {
    const r = await start({
      source: { type: 'file', path: join(imports, 'web01-stream.vmdk') },
      format: 'raw',
    });
    expect(r.status).toBe(202);
    const op = await suite.waitForOperation(r.body.id, 60_000);
    expect(op.status).toBe('completed');
    const disk = (await suite.request<DiskDto>('GET', `/api/v1/disks/${op.disk_id}`)).body;
    expect(disk.format).toBe('raw');
    expect(disk.name).toMatch(/^disk-[0-9a-f]{8}$/);
    expect(
      await compareImages({ path: raw, format: 'raw' }, { path: disk.path!, format: 'raw' }, QEMU_IMG),
    ).toEqual({
      identical: true,
    });
  });

  it('refuses a damaged VMDK with qemu-img’s reason, and never makes a disk of it', async () => {
    // The sparse VMDK's grain table points past its end; the flat one's extent is shorter than its
    // descriptor says (qemu would read the missing part as zeros and call the copy identical).
    for (const [file, reason] of [
      ['broken.vmdk', /points after EOF/],
      ['short.vmdk', /short-flat\.vmdk.*(truncated|shorter|smaller)/i],
    ] as const) {
      const r = await start({ source: { type: 'file', path: join(imports, file) }, name: 'broken' });
      // Refused at once when the damage shows before any byte moves, else a failed operation.
      const message =
        r.status === 202 ? (await suite.waitForOperation(r.body.id, 60_000)).error?.message : r.body.detail;
      expect({ file, status: r.status === 202 ? 'failed' : r.status }).toEqual({
        file,
        status: r.status === 202 ? 'failed' : 422,
      });
      expect(message).toMatch(reason);
      expect((await disks()).filter((d) => d.name === 'broken' || d.state === 'importing')).toEqual([]);
    }
  });

  it('refuses a file outside VOLUME_IMPORT_DIRS, even through a symlink, and a bad body, changing nothing', async () => {
    const before = await disks();
    const escape = await start({ source: { type: 'file', path: join(imports, 'escape.raw') } });
    expect(escape.status).toBe(422);
    expect(escape.headers.get('content-type')).toContain('application/problem+json');
    expect(escape.body.detail).toMatch(/VOLUME_IMPORT_DIRS/);
    const direct = await start({ source: { type: 'file', path: join(outside, 'secret.raw') } });
    expect(direct.status).toBe(422);
    const missing = await start({ source: { type: 'file', path: join(imports, 'nope.vmdk') } });
    expect(missing.status).toBe(422);
    expect(missing.body.detail).toMatch(/no such file/);
    const mixed = await start({ source: { type: 'file', path: raw, url: 'https://x/y' } });
    expect(mixed.status).toBe(400);
    expect(mixed.body.detail).toMatch(/takes no url/);
    const http = await start({ source: { type: 'url', url: 'http://127.0.0.1:1/disk.raw' } });
    expect(http.status).toBe(400);
    expect(http.body.errors?.[0]?.messages[0]).toMatch(/https/);
    const vm = await start({ source: { type: 'file', path: raw }, attach_to: 'no-such-vm' });
    expect(vm.status).toBe(404);
    expect(await disks()).toEqual(before);
  });
});
