import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ImportSourceSpec, OpenImportOptions, OpenedSource } from '@ferry/qemu';
import { ImportSourceError } from '@ferry/qemu';
import type { DiskImage } from '../../deep/first-pass';
import type { DiskInspection, VmDiskInspection } from '../../deep/vm-disk-inspector';
import type { BaseDisk } from './base-disks';
import { inspectOverDatastore } from './datastore-inspection';

const COOKIE = 'vmware_soap_session="s3cr3t-cookie"';
const disk = (key: string, over: Partial<BaseDisk> = {}): BaseDisk => ({
  key,
  label: `Hard disk ${key}`,
  fileName: `[ds1] web01/web01_${key}.vmdk`,
  url: `https://vc.example.com/folder/web01/web01_${key}.vmdk?dcPath=DC0&dsName=ds1`,
  unreadable: null,
  ...over,
});
const FOUND: VmDiskInspection = { disks: [], guest: null, guests: [], concerns: [] };

describe('inspectOverDatastore', () => {
  let tmp: string;
  const logger = { log: jest.fn(), warn: jest.fn(), debug: jest.fn() };
  beforeEach(() => (tmp = mkdtempSync(join(tmpdir(), 'ferry-ds-spec-'))));
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  /** openImportSource as a stub that records what it was asked and what it left open. */
  function sources(fail: Record<string, Error> = {}) {
    const open = new Set<string>();
    const asked: {
      spec: ImportSourceSpec;
      options: OpenImportOptions;
      cookie: string;
      mode: number;
      dirMode: number;
      ca: string;
    }[] = [];
    const openSource = jest.fn(
      async (spec: ImportSourceSpec, options: OpenImportOptions): Promise<OpenedSource> => {
        if (spec.kind !== 'http') throw new Error('not http');
        const file = spec.session!.cookieFile!;
        asked.push({
          spec,
          options,
          cookie: await readFile(file, 'utf8'),
          mode: (await stat(file)).mode & 0o777,
          dirMode: (await stat(options.tmpDir!)).mode & 0o777,
          ca: await readFile(spec.session!.caFile!, 'utf8'),
        });
        const failure = Object.entries(fail).find(([k]) => spec.url.includes(`_${k}.vmdk`))?.[1];
        if (failure) throw failure;
        open.add(spec.url);
        return {
          image: `nbd+unix:///?socket=${options.tmpDir}/${open.size}.sock`,
          format: 'raw',
          virtualSizeBytes: 1,
          layers: [],
          close: async () => void open.delete(spec.url),
        };
      },
    );
    return { open, asked, openSource };
  }

  const inspection = (inspect: DiskInspection['inspect'] = async () => FOUND) => ({
    check: jest.fn(),
    inspect: jest.fn(inspect),
  });
  const run = (
    disks: BaseDisk[],
    s: ReturnType<typeof sources>,
    i: ReturnType<typeof inspection>,
    signal = new AbortController().signal,
  ) =>
    inspectOverDatastore(disks, { cookie: () => COOKIE, caPem: 'PEM' }, i, {
      stepTimeoutMs: 1000,
      lifetimeMs: 60_000,
      tmpDir: tmp,
      signal,
      logger,
      vmId: 'vm-42',
      open: s.openSource,
    });

  it('opens each base disk over https with the cookie in a private file, inspects them all, and closes them', async () => {
    const s = sources();
    const i = inspection();
    await run([disk('2000'), disk('2001')], s, i);

    expect(s.asked.map((a) => a.spec)).toEqual([
      expect.objectContaining({ kind: 'http', url: disk('2000').url }),
      expect.objectContaining({ kind: 'http', url: disk('2001').url }),
    ]);
    const [first] = s.asked;
    expect(first).toMatchObject({
      cookie: COOKIE,
      mode: 0o600,
      dirMode: 0o700,
      ca: 'PEM',
      options: { tmpDir: expect.any(String), lifetimeMs: 60_000 },
    });
    const session = (first!.spec as Extract<ImportSourceSpec, { kind: 'http' }>).session!;
    expect(dirname(session.cookieFile!)).toBe(first!.options.tmpDir);
    expect(await readFile(session.caFile!, 'utf8').catch(() => 'removed')).toBe('removed');
    const images = i.inspect.mock.calls[0]![0] as DiskImage[];
    expect(images).toEqual([
      {
        deviceId: '2000',
        path: expect.stringMatching(/^nbd\+unix:/),
        format: 'raw',
        name: disk('2000').fileName,
      },
      {
        deviceId: '2001',
        path: expect.stringMatching(/^nbd\+unix:/),
        format: 'raw',
        name: disk('2001').fileName,
      },
    ]);
    expect(i.inspect.mock.calls[0]![2]).toEqual({ unreadable: 'warn' });
    expect(s.open.size).toBe(0);
    // The private directory (cookie, CA, sockets) is gone.
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('warns about a disk it cannot open or must not read, and inspects the others', async () => {
    const s = sources({ '2001': new ImportSourceError('not-found', 'no such file (HTTP 404)') });
    const i = inspection(async (images) => ({
      ...FOUND,
      concerns: [{ code: 'VMWARE_TOOLS', severity: 'warning', message: 'tools' }],
      disks: images.map((d) => ({ deviceId: d.deviceId }) as VmDiskInspection['disks'][number]),
    }));
    const rdm = disk('2002', { unreadable: 'physical-mode raw device mapping' });
    const found = await run([disk('2000'), disk('2001'), rdm], s, i);

    expect(s.asked).toHaveLength(2);
    expect(found.disks.map((d) => d.deviceId)).toEqual(['2000']);
    expect(found.concerns).toEqual([
      expect.objectContaining({
        code: 'DEEP_INSPECTION_FAILED',
        severity: 'warning',
        subject: '2001',
        message: expect.stringContaining('[ds1] web01/web01_2001.vmdk: no such file (HTTP 404)'),
      }),
      expect.objectContaining({
        code: 'DEEP_INSPECTION_FAILED',
        subject: '2002',
        message: expect.stringContaining('physical-mode raw device mapping'),
      }),
      expect.objectContaining({ code: 'VMWARE_TOOLS' }),
    ]);
    expect(s.open.size).toBe(0);
  });

  it('closes what it opened when the inspection fails, and passes the failure on', async () => {
    const s = sources();
    const failure = new Error('qemu-img vanished');
    await expect(
      run(
        [disk('2000'), disk('2001')],
        s,
        inspection(async () => Promise.reject(failure)),
      ),
    ).rejects.toBe(failure);
    expect(s.open.size).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('rejects with the abort reason when aborted while opening, and closes the disks already open', async () => {
    const controller = new AbortController();
    const reason = new Error('canceled');
    const s = sources();
    const i = inspection();
    const open = s.openSource.getMockImplementation()!;
    s.openSource.mockImplementation(async (spec, options) => {
      if (spec.kind === 'http' && spec.url.includes('_2001.')) {
        // Canceled while the second disk's nbdkit starts (http-source stops it itself).
        controller.abort(reason);
        throw new Error('nbdkit (curl) was aborted while starting');
      }
      return open(spec, options);
    });
    await expect(run([disk('2000'), disk('2001'), disk('2002')], s, i, controller.signal)).rejects.toBe(
      reason,
    );
    expect(s.asked).toHaveLength(1);
    expect(i.inspect).not.toHaveBeenCalled();
    expect(s.open.size).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
