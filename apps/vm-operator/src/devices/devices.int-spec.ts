import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestMicroservice } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { VmDto } from '@ferry/contracts';
import { DeviceEvents, DeviceSubjects, FerryError, TemplateSubjects, VmSubjects } from '@ferry/contracts';
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
import { NatsServerProcess, createTestDatabase, eventually } from '@ferry/testing';
import type { NatsConnection } from 'nats';
import { Client } from 'pg';
import { AppModule } from '../app.module';
import { VmOperatorConfig } from '../config/vm-operator.config';

// vm-operator in this process, on a nats-server and a database of its own, with one storage
// directory; next to it a directory it must never hand to QEMU.
const work = mkdtempSync(join(tmpdir(), 'ferry-devices-'));
const store = join(work, 'store');
const outside = join(work, 'outside');
let nats: NatsServerProcess;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let nc: NatsConnection;
let client: FerryClient;
let app: INestMicroservice | undefined;

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e as FerryError,
  );

beforeAll(async () => {
  Logger.overrideLogger(false);
  mkdirSync(store);
  mkdirSync(outside);
  writeFileSync(join(store, 'ok.qcow2'), '');
  writeFileSync(join(outside, 'other-vm.qcow2'), '');
  symlinkSync(join(outside, 'other-vm.qcow2'), join(store, 'link.qcow2'));
  symlinkSync('/etc', join(store, 'etc'));
  [nats, db] = await Promise.all([NatsServerProcess.start(), createTestDatabase('ferry_vmop_devices')]);
  const config = loadConfig(VmOperatorConfig, {
    NATS_URL: nats.url,
    DATABASE_URL: db.url,
    DB_POOL_SIZE: '4',
    SHUTDOWN_GRACE_MS: '2000',
    VM_RUNTIME_DIR: mkdtempSync('/tmp/fv-'),
    VM_STORAGE_DIRS: store,
    VM_NETWORK_MODE: 'none',
  });
  const transport = new FerryNatsTransport('vm-operator', config.SHUTDOWN_GRACE_MS);
  app = await NestFactory.createMicroservice(AppModule.register(config), {
    strategy: transport,
    logger: false,
  });
  const connection = app.get<NatsConnection>(NATS_CONNECTION);
  transport.useConnection(connection);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new RpcErrorFilter());
  await app.listen();
  await connection.flush();
  nc = await connectNats(nats.url, 'devices-test');
  client = new FerryClient(nc, loadConfig(PlatformConfig, {}));
  await client.send(TemplateSubjects.CREATE, { name: 'tiny', cpu_count: 1, ram_amount: 64 });
}, 120_000);

afterAll(async () => {
  await app?.close();
  client?.onApplicationShutdown();
  await nc?.drain();
  await Promise.all([nats?.dispose(), db?.drop()]);
  rmSync(work, { recursive: true, force: true });
});

describe('vm-operator.device.attach confines images to VM_STORAGE_DIRS (NATS, Postgres)', () => {
  const attach = (vmId: string, path: string, deviceId = 'vol-x') =>
    client.send(DeviceSubjects.ATTACH, { vmId, deviceId, path, format: 'raw', readOnly: true });

  it('refuses /etc/shadow, another directory, and symlinks or `..` leading there, attaching nothing', async () => {
    const vm: VmDto = await client.send(VmSubjects.CREATE, { template: 'tiny', nics: [] });
    const refused = [
      '/etc/shadow',
      join(outside, 'other-vm.qcow2'),
      join(outside, 'not-there.qcow2'),
      join(store, 'link.qcow2'),
      join(store, 'etc', 'shadow'),
      `${store}/../outside/other-vm.qcow2`,
      store,
    ];
    const errors = await Promise.all(refused.map((path) => failure(attach(vm.id, path))));
    for (const err of errors) {
      expect(err).toBeInstanceOf(FerryError);
      expect(err.code).toBe('VALIDATION');
      expect(err.details).toEqual({
        fields: [{ field: 'path', messages: [expect.stringMatching(/VM_STORAGE_DIRS/)] }],
      });
    }
    // One answer for all: a refusal says nothing about whether the file exists.
    expect(new Set(errors.map((e) => e.message)).size).toBe(1);
    expect(errors[0]!.message).toBe(
      `path of device "vol-x" is not an image under vm-operator's storage directories`,
    );

    expect((await client.send(DeviceSubjects.LIST, { vmId: vm.id })).items).toEqual([]);
    expect(await query('SELECT 1 FROM vm_operator.vm_devices WHERE vm_id = $1', [vm.id])).toEqual([]);
    expect(await query('SELECT 1 FROM vm_operator.outbox WHERE type = $1', [DeviceEvents.ATTACHED])).toEqual(
      [],
    );

    // The same VM takes an image of the storage directory, and one that is yet to be made there.
    expect(await attach(vm.id, join(store, 'ok.qcow2'), 'vol-ok')).toMatchObject({
      deviceId: 'vol-ok',
      live: false,
    });
    expect(await attach(vm.id, join(store, 'later.qcow2'), 'vol-later')).toMatchObject({ live: false });
    expect((await client.send(DeviceSubjects.LIST, { vmId: vm.id })).items.map((d) => d.path)).toEqual([
      join(store, 'ok.qcow2'),
      join(store, 'later.qcow2'),
    ]);
  });

  it('does not start a VM with a recorded disk outside them (a record older than the check)', async () => {
    const vm: VmDto = await client.send(VmSubjects.CREATE, { template: 'tiny', nics: [] });
    await query(
      `INSERT INTO vm_operator.vm_devices (vm_id, device_id, path, format, read_only) VALUES ($1, 'old', '/etc/shadow', 'raw', true)`,
      [vm.id],
    );
    await client.send(VmSubjects.START, { id: vm.id });
    const failed = await eventually(
      async () => {
        const now = await client.send(VmSubjects.GET, { id: vm.id });
        return now.state === 'error' ? now : undefined;
      },
      15_000,
      'the start to fail',
    );
    expect(failed.last_error).toBe(
      `path of device "old" is not an image under vm-operator's storage directories`,
    );
    expect(failed.pid).toBeNull();
  });
  it('refuses an image that names a file outside them (backing file, data file) or is not the format said', async () => {
    const vm: VmDto = await client.send(VmSubjects.CREATE, { template: 'tiny', nics: [] });
    const img = (...args: string[]) => execFileSync('qemu-img', ['create', '-q', ...args]);
    img('-f', 'qcow2', join(outside, 'base.qcow2'), '1M');
    img('-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', join(store, 'backed-by-etc.qcow2'), '1M');
    img('-f', 'qcow2', '-b', join(outside, 'base.qcow2'), '-F', 'qcow2', join(store, 'backed-outside.qcow2'));
    img(
      '-f',
      'qcow2',
      '-o',
      `data_file=${join(outside, 'data.raw')}`,
      join(store, 'data-outside.qcow2'),
      '1M',
    );
    img('-f', 'raw', join(store, 'plain.raw'), '1M');
    img('-f', 'qcow2', join(store, 'base.qcow2'), '1M');
    img('-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', join(store, 'backed-inside.qcow2'));
    const qcow2 = (path: string, deviceId: string) =>
      client.send(DeviceSubjects.ATTACH, { vmId: vm.id, deviceId, path, format: 'qcow2', readOnly: true });

    for (const name of ['backed-by-etc.qcow2', 'backed-outside.qcow2', 'data-outside.qcow2']) {
      const err = await failure(qcow2(join(store, name), 'vol-bad'));
      expect([err.code, err.message]).toEqual([
        'VALIDATION',
        `image of device "vol-bad" names a backing or data file outside vm-operator's storage directories`,
      ]);
    }
    // A raw file said to be qcow2 is refused; as raw, QEMU reads its bytes and follows nothing.
    const notQcow2 = await failure(qcow2(join(store, 'plain.raw'), 'vol-raw'));
    expect([notQcow2.code, notQcow2.message]).toEqual([
      'VALIDATION',
      'image of device "vol-raw" cannot be opened as qcow2',
    ]);
    expect((await client.send(DeviceSubjects.LIST, { vmId: vm.id })).items).toEqual([]);

    // A chain inside the storage directory is fine, and so is the raw file as raw.
    await qcow2(join(store, 'backed-inside.qcow2'), 'vol-chain');
    await client.send(DeviceSubjects.ATTACH, {
      vmId: vm.id,
      deviceId: 'vol-raw',
      path: join(store, 'plain.raw'),
      format: 'raw',
      readOnly: true,
    });
    expect((await client.send(DeviceSubjects.LIST, { vmId: vm.id })).items.map((d) => d.deviceId)).toEqual([
      'vol-chain',
      'vol-raw',
    ]);
  });
});
