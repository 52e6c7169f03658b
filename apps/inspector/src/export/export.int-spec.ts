import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestMicroservice, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { FerryError, VsphereExportDto } from '@ferry/contracts';
import { InspectorSubjects, INSPECTOR_EXPORT_SNAPSHOT_NAME } from '@ferry/contracts';
import {
  FerryClient,
  FerryNatsTransport,
  NATS_CONNECTION,
  PlatformConfig,
  RpcErrorFilter,
  connectNats,
  createValidationPipe,
  loadConfig,
} from '@ferry/platform';
import type { VcsimDisk } from '@ferry/testing';
import {
  NatsServerProcess,
  VcsimProbe,
  VcsimProcess,
  attachDisk,
  createTestDatabase,
  diskKeys,
  eventually,
  monolithicFlatVmdk,
  powerOff,
  sessionUser,
  uploadFile,
  vcsimFileUrl,
  vcsimHttp,
} from '@ferry/testing';
import type { NatsConnection } from 'nats';
import { Client } from 'pg';
import { AppModule } from '../app.module';
import { InspectorConfig } from '../config/inspector.config';

// The inspector in this process (one replica at a time, so that a test knows which one holds an
// export), a private NATS server, a database of its own and vcsim with a password found nowhere else.
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
const KEY = randomBytes(32).toString('base64');
const MiB = 1024 * 1024;
let vcsim: VcsimProcess;
let probe: VcsimProbe;
let nats: NatsServerProcess;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let nc: NatsConnection;
let client: FerryClient;
let app: INestMicroservice | undefined;
const logs: string[] = [];
const cookies: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'ferry-export-'));

const capture: LoggerService = {
  log: (...args: unknown[]) => void logs.push(JSON.stringify(args)),
  error: (...args: unknown[]) => void logs.push(JSON.stringify(args)),
  warn: (...args: unknown[]) => void logs.push(JSON.stringify(args)),
  debug: (...args: unknown[]) => void logs.push(JSON.stringify(args)),
  verbose: () => undefined,
};

/** Starts the inspector as `bootstrapService` does, in this process. */
async function startInspector(): Promise<void> {
  const config = loadConfig(InspectorConfig, {
    NATS_URL: nats.url,
    DATABASE_URL: db.url,
    DB_POOL_SIZE: '4',
    INSPECTOR_CREDENTIALS_KEY: KEY,
    INSPECTOR_VSPHERE_CA_FILE: vcsim.caFile,
    INSPECTOR_POLL_INTERVAL_MS: '100',
    INSPECTOR_VSPHERE_TASK_TIMEOUT_MS: '10000',
    SHUTDOWN_GRACE_MS: '2000',
  });
  const transport = new FerryNatsTransport('inspector', config.SHUTDOWN_GRACE_MS);
  const started = await NestFactory.createMicroservice(AppModule.register(config), {
    strategy: transport,
    logger: capture,
  });
  const connection = started.get<NatsConnection>(NATS_CONNECTION);
  transport.useConnection(connection);
  started.useGlobalPipes(createValidationPipe());
  started.useGlobalFilters(new RpcErrorFilter());
  await started.listen();
  // Its subscriptions have reached the server once the server has answered a ping after them.
  await connection.flush();
  app = started;
}

/** Stops the replica the way a crash leaves its exports: nothing closes them (only its lock goes). */
async function stopInspector(): Promise<void> {
  await app?.close();
  app = undefined;
}

const open = (
  vmId: string,
  extra: { leaseMs?: number; snapshot?: 'auto' | 'never'; password?: string } = {},
) =>
  client.send(
    InspectorSubjects.EXPORT_OPEN,
    {
      VcenterCredentials: { url: vcsim.url, username: vcsim.username, password: extra.password ?? PASSWORD },
      vmId,
      ...(extra.leaseMs ? { leaseMs: extra.leaseMs } : {}),
      ...(extra.snapshot ? { snapshot: extra.snapshot } : {}),
    },
    { timeoutMs: 30_000 },
  );
const session = async (id: string) => {
  const s = await client.send(InspectorSubjects.EXPORT_SESSION, { id }, { timeoutMs: 30_000 });
  cookies.push(s.cookie);
  return s;
};
const close = (id: string) => client.send(InspectorSubjects.EXPORT_CLOSE, { id }, { timeoutMs: 30_000 });
const get = (id: string) => client.send(InspectorSubjects.EXPORT_GET, { id }, { timeoutMs: 30_000 });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: FerryError) => err,
  );

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  [vcsim, nats, db] = await Promise.all([
    VcsimProcess.start({ password: PASSWORD }),
    NatsServerProcess.start(),
    createTestDatabase('ferry_export'),
  ]);
  probe = new VcsimProbe(vcsim);
  nc = await connectNats(nats.url, 'export-test');
  client = new FerryClient(nc, loadConfig(PlatformConfig, {}));
  await startInspector();
}, 600_000);

afterAll(async () => {
  await stopInspector();
  client?.onApplicationShutdown();
  await nc?.drain();
  await Promise.all([vcsim?.stop(), nats?.dispose(), db?.drop()]);
  rmSync(work, { recursive: true, force: true });
});

describe('inspector.export.* against vcsim', () => {
  const path = '/DC0/vm/DC0_H0_VM0';
  let moref: string;
  let attached: VcsimDisk;
  const bytes = Buffer.alloc(3 * MiB);
  for (let i = 0; i < bytes.length; i += 512) bytes.write(`sector ${i / 512} of web01 `, i);

  beforeAll(async () => {
    moref = await probe.moref(path);
    writeFileSync(join(work, 'web01.raw'), bytes);
    const vmdk = await monolithicFlatVmdk(work, 'web01', join(work, 'web01.raw'));
    await uploadFile(vcsim, '[LocalDS_0] web01/web01.vmdk', vmdk.descriptor);
    await uploadFile(vcsim, '[LocalDS_0] web01/web01-flat.vmdk', vmdk.flat);
    attached = await attachDisk(vcsim, moref, {
      fileName: '[LocalDS_0] web01/web01.vmdk',
      capacityBytes: bytes.length,
    });
  });

  it('snapshots a powered-on VM, lists its base disks, and hands out a cookie that reads them', async () => {
    const before = await diskKeys(vcsim, moref);
    const exp = await open(path);
    expect(exp).toMatchObject({
      state: 'open',
      vmId: moref,
      vmName: 'DC0_H0_VM0',
      powerState: 'poweredOn',
      closedAt: null,
    });
    expect(exp.snapshot).toEqual({
      name: INSPECTOR_EXPORT_SNAPSHOT_NAME,
      ref: expect.stringMatching(/^snapshot-/),
    });
    expect(await probe.snapshotNames(moref)).toEqual([INSPECTOR_EXPORT_SNAPSHOT_NAME]);
    // In device order (controller, unit): vcsim's own disk, then ours.
    expect(exp.disks.map((d) => [d.index, d.key, d.fileName, d.capacityBytes])).toEqual(
      [...before]
        .sort((a, b) => a.unitNumber - b.unitNumber)
        .map((d, i) => [i + 1, String(d.key), d.fileName, d.capacityBytes]),
    );
    const disk = exp.disks.find((d) => d.key === String(attached.key))!;
    expect(disk).toMatchObject({
      capacityBytes: bytes.length,
      datastore: 'LocalDS_0',
      url: vcsimFileUrl(vcsim, '[LocalDS_0] web01/web01.vmdk'),
      backing: 'VirtualDiskFlatVer2BackingInfo',
      blockers: [],
    });
    // vcsim keeps the backing on the base file after a snapshot (vCenter moves it to a delta).
    expect(await diskKeys(vcsim, moref)).toEqual(before);

    const s = await session(exp.id);
    expect(s.caPem).toBe(readFileSync(vcsim.caFile, 'utf8'));
    expect(Date.parse(s.expiresAt)).toBeLessThanOrEqual(Date.parse(s.leaseExpiresAt));
    expect(Date.parse(s.leaseExpiresAt)).toBeGreaterThanOrEqual(Date.parse(exp.leaseExpiresAt));
    expect(await sessionUser(vcsim, s.cookie)).toBe(vcsim.username);
    const descriptor = await vcsimHttp({ caFile: vcsim.caFile }, disk.url, { headers: { cookie: s.cookie } });
    expect(descriptor.status).toBe(200);
    expect(descriptor.body.toString()).toContain('"web01-flat.vmdk"');
    const flatUrl = disk.url.replace('/web01.vmdk?', '/web01-flat.vmdk?');
    const range = await vcsimHttp(vcsim, flatUrl, {
      headers: { cookie: s.cookie, range: `bytes=${MiB}-${MiB + 4095}` },
    });
    expect(range.status).toBe(206);
    expect(range.body.equals(bytes.subarray(MiB, MiB + 4096))).toBe(true);

    const closed = await close(exp.id);
    expect(closed).toMatchObject({ state: 'closed', snapshot: exp.snapshot, lastError: null });
    expect(await probe.snapshotNames(moref)).toEqual([]);
    expect(await sessionUser(vcsim, s.cookie)).toBeNull();
    expect(await close(exp.id)).toEqual(closed);
    expect(await failure(session(exp.id))).toMatchObject({ code: 'CONFLICT' });
    const [row] = await query<{ credentials: Buffer | null; snapshot_intent: string; url: string }>(
      `SELECT credentials, snapshot_intent, url FROM inspector.exports WHERE id = $1`,
      [exp.id],
    );
    expect(row).toEqual({ credentials: null, snapshot_intent: 'removed', url: vcsim.url });
  });

  it('takes no snapshot of a powered-off VM, nor with snapshot: never', async () => {
    const off = await probe.moref('/DC0/vm/DC0_H0_VM1');
    await powerOff(vcsim, off);
    const a = await open(off);
    expect(a).toMatchObject({ powerState: 'poweredOff', snapshot: null });
    const b = await open('/DC0/vm/DC0_C0_RP0_VM0', { snapshot: 'never' });
    expect(b).toMatchObject({ powerState: 'poweredOn', snapshot: null });
    expect(await probe.snapshotNames(off)).toEqual([]);
    expect(await probe.snapshotNames(b.vmId)).toEqual([]);
    await Promise.all([close(a.id), close(b.id)]);
    expect((await get(a.id)).state).toBe('closed');
  });

  it('refuses wrong credentials (VALIDATION with the fault), unknown VMs (NOT_FOUND) and bad requests', async () => {
    const before = await query<{ n: number }>(`SELECT count(*)::int AS n FROM inspector.exports`);
    const wrong = await failure(open(path, { password: `${PASSWORD}-wrong` }));
    expect(wrong).toMatchObject({ code: 'VALIDATION', details: { fault: 'InvalidLogin' } });
    for (const vmId of ['vm-999999', '/DC0/vm/nope']) {
      const err = await failure(open(vmId));
      expect(err).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(vmId) });
    }
    expect(await failure(open(path, { leaseMs: 1000 }))).toMatchObject({ code: 'VALIDATION' });
    expect(await failure(get('not-a-uuid'))).toMatchObject({ code: 'VALIDATION' });
    expect(await failure(get('00000000-0000-4000-8000-000000000000'))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await query(`SELECT count(*)::int AS n FROM inspector.exports`)).toEqual(before);
  });

  it('renews from a replica that did not open the export (a restart), with the stored credentials', async () => {
    const exp = await open(path);
    await stopInspector();
    await startInspector();
    const s = await session(exp.id);
    expect(await sessionUser(vcsim, s.cookie)).toBe(vcsim.username);
    await close(exp.id);
    expect(await probe.snapshotNames(moref)).toEqual([]);
  });

  it('leaves no snapshot behind a replica that stopped mid-export, once the lease runs out', async () => {
    const exp = await open(path, { leaseMs: 30_000 });
    expect(await probe.snapshotNames(moref)).toEqual([INSPECTOR_EXPORT_SNAPSHOT_NAME]);
    await stopInspector();
    await startInspector();
    const closed = await eventually(
      async () => ((await get(exp.id)).state === 'closed' ? await get(exp.id) : undefined),
      60_000,
      'the expired export closed by recovery',
    );
    expect(closed).toMatchObject<Partial<VsphereExportDto>>({ state: 'closed', lastError: null });
    expect(Date.parse(closed.closedAt!)).toBeGreaterThanOrEqual(Date.parse(exp.leaseExpiresAt));
    expect(await probe.snapshotNames(moref)).toEqual([]);
  }, 90_000);

  it('never shows the password or a cookie: not in logs, nor in the database', async () => {
    expect(cookies.length).toBeGreaterThan(0);
    const everything = [
      ...logs,
      JSON.stringify(
        await query(`SELECT id, vm_id, url, disks, snapshot_ref, last_error FROM inspector.exports`),
      ),
      JSON.stringify(await query(`SELECT payload FROM inspector.outbox`)),
    ].join('\n');
    for (const secret of [PASSWORD, ...cookies.map((c) => c.split('=')[1]!.replace(/"/g, ''))])
      expect(everything).not.toContain(secret);
    const sealed = await query<{ n: number }>(
      `SELECT count(*)::int AS n FROM inspector.exports WHERE position(convert_to($1, 'UTF8') in credentials) > 0`,
      [PASSWORD],
    );
    expect(sealed[0]!.n).toBe(0);
  });
});
