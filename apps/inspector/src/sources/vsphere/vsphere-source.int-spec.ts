import { readFileSync } from 'node:fs';
import { INSPECTOR_SNAPSHOT_NAME } from '@ferry/contracts';
import { VcsimProcess, freePort } from '@ferry/testing';
import { SourceFatalError, VmInspectionError } from '../source';
import { retrieveOne } from './property-collector';
import { SoapClient } from './soap-client';
import { httpTransport } from './soap-transport';
import type { MoRef } from './soap-xml';
import { el } from './soap-xml';
import { waitForTask } from './task-waiter';
import { flattenSnapshots } from './vsphere-facts.mapper';
import type { VsphereSourceConfig } from './vsphere-source';
import { VsphereSource } from './vsphere-source';

// vcsim's VPX model; MoRefs are counters, so VMs are named by inventory path.
const PLAIN = '/DC0/vm/DC0_H0_VM0';
const QUIRKS = 'DC0_H0_VM1';
const RDM = 'DC0_C0_RP0_VM1';
const COLLECTOR: MoRef = { type: 'PropertyCollector', value: 'propertyCollector' };
const SESSIONS: MoRef = { type: 'SessionManager', value: 'SessionManager' };
const quiet = { log: () => undefined, warn: () => undefined, debug: () => undefined };

let vcsim: VcsimProcess;
let raw: SoapClient;
const sources: VsphereSource[] = [];

function config(overrides: Partial<VsphereSourceConfig> = {}): VsphereSourceConfig {
  return {
    caFile: vcsim.caFile,
    insecure: false,
    requestTimeoutMs: 5000,
    taskTimeoutMs: 10_000,
    ...overrides,
  };
}

async function open(
  creds: { url?: string; username?: string; password?: string } = {},
  cfg: Partial<VsphereSourceConfig> = {},
  logger = quiet,
): Promise<VsphereSource> {
  const source = new VsphereSource(
    { url: vcsim.url, username: vcsim.username, password: vcsim.password, ...creds },
    config(cfg),
    logger,
  );
  sources.push(source);
  await source.open(AbortSignal.timeout(10_000));
  return source;
}

const signal = () => AbortSignal.timeout(20_000);

/** A session of its own, to check what the source did (and to make snapshots it did not). */
async function rawSession(): Promise<SoapClient> {
  const client = new SoapClient(
    httpTransport(new URL(vcsim.url), { ca: readFileSync(vcsim.caFile, 'utf8') }),
    vcsim.url,
    5000,
  );
  await client.call('Login', SESSIONS, el('userName', vcsim.username) + el('password', vcsim.password));
  return client;
}

async function findVm(path: string): Promise<string> {
  const res = await raw.call(
    'FindByInventoryPath',
    { type: 'SearchIndex', value: 'SearchIndex' },
    el('inventoryPath', path),
  );
  return res.child('returnval')!.text;
}

async function snapshotsOf(moref: string) {
  const content = await retrieveOne(raw, COLLECTOR, { type: 'VirtualMachine', value: moref }, ['snapshot']);
  return flattenSnapshots(content?.props.get('snapshot'));
}

async function rawSnapshot(moref: string, name: string, description: string): Promise<string> {
  const params =
    el('name', name) + el('description', description) + el('memory', false) + el('quiesce', false);
  const res = await raw.call('CreateSnapshot_Task', { type: 'VirtualMachine', value: moref }, params);
  const result = await waitForTask(raw, COLLECTOR, res.child('returnval')!.moRef(), 'CreateSnapshot_Task', {
    timeoutMs: 10_000,
  });
  return result!.text;
}

beforeAll(async () => {
  vcsim = await VcsimProcess.start({ quirks: QUIRKS, rdm: RDM });
  raw = await rawSession();
}, 600_000);

afterAll(async () => {
  await Promise.all(sources.map((s) => s.close()));
  expect(vcsim.output.filter((l) => l.includes('panic'))).toEqual([]);
  raw?.close();
  await vcsim?.stop();
});

describe('VsphereSource against vcsim: sessions', () => {
  it('logs in, and close() logs out and never throws', async () => {
    const source = await open();
    await source.close();
    await source.close();
    await expect(source.inspect(PLAIN, null, signal())).rejects.toThrow('not open');
  });

  it('refuses wrong credentials as a fatal auth error (InvalidLogin), without the password', async () => {
    const err = await open({ password: 'wrong-secret' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceFatalError);
    expect(err).toMatchObject({ kind: 'auth', fault: 'InvalidLogin' });
    expect((err as Error).message).toContain(vcsim.username);
    expect((err as Error).message).not.toContain('wrong-secret');
  });

  it('reports a port nobody listens on as unreachable', async () => {
    const err = await open({ url: `https://127.0.0.1:${await freePort()}/sdk` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceFatalError);
    expect(err).toMatchObject({ kind: 'unreachable', fault: 'ECONNREFUSED', message: 'vCenter unreachable' });
  });

  it('distrusts vcsim without its CA file, and trusts it with INSPECTOR_VSPHERE_INSECURE', async () => {
    const err = await open({}, { caFile: '' }).catch((e: unknown) => e);
    // The caller is told no more than that; the hint is the log's.
    expect(err).toMatchObject({
      kind: 'unreachable',
      message: 'vCenter unreachable',
      detail: expect.stringContaining('INSPECTOR_VSPHERE_CA_FILE'),
    });
    const insecure = await open({}, { caFile: '', insecure: true });
    await expect(insecure.inspect(PLAIN, null, signal())).resolves.toMatchObject({ source: 'vsphere' });
  });

  it('adds /sdk to a URL without a path', async () => {
    const source = await open({ url: vcsim.url.replace(/\/sdk$/, '') });
    await expect(source.inspect(PLAIN, null, signal())).resolves.toMatchObject({ vmId: PLAIN });
  });

  it('logs in again once when vCenter forgets the session (NotAuthenticated)', async () => {
    const logger = { ...quiet, warn: jest.fn() };
    const source = await open({}, {}, logger);
    const client = (source as unknown as { client: SoapClient }).client;
    await client.call('Logout', SESSIONS, '', { reauthenticate: false });
    // vcsim answers RetrievePropertiesEx without a session with NotAuthenticated per property.
    await expect(source.inspect(PLAIN, null, signal())).resolves.toMatchObject({ vmId: PLAIN });
    await client.call('Logout', SESSIONS, '', { reauthenticate: false });
    // …and other methods with a NotAuthenticated SOAP fault.
    const ref = await source.createSnapshot(PLAIN, 'relogin', 'relogin test', signal());
    await source.removeSnapshot(PLAIN, ref, 'relogin', 'relogin test');
    expect(logger.warn).toHaveBeenCalledTimes(2);
  });
});

describe('VsphereSource against vcsim: VMs and snapshots', () => {
  let source: VsphereSource;
  beforeAll(async () => {
    source = await open();
  });

  it('finds a VM by inventory path and by MoRef', async () => {
    const moref = await findVm(PLAIN.slice(1));
    const byPath = await source.inspect(PLAIN, null, signal());
    const byRef = await source.inspect(moref, null, signal());
    expect(byPath.vsphere).toMatchObject({ moref, name: 'DC0_H0_VM0', inventoryPath: PLAIN });
    expect(byRef.vsphere).toEqual({ ...byPath.vsphere });
    expect(byRef.vmId).toBe(moref);
  });

  it('fails one VM, not the source, when it does not exist', async () => {
    await expect(source.inspect('vm-999999', null, signal())).rejects.toThrow(
      new VmInspectionError('VM vm-999999 not found'),
    );
    await expect(source.createSnapshot('vm-999999', INSPECTOR_SNAPSHOT_NAME, 'x', signal())).rejects.toThrow(
      new VmInspectionError('VM vm-999999 not found'),
    );
    await expect(source.inspect('/DC0/vm/nope', null, signal())).rejects.toBeInstanceOf(VmInspectionError);
    await expect(source.inspect('/DC0/host', null, signal())).rejects.toThrow('not a VM');
    await expect(
      source.removeSnapshot('vm-999999', null, INSPECTOR_SNAPSHOT_NAME, 'x'),
    ).resolves.toBeUndefined();
    await expect(
      source.removeSnapshot('/DC0/vm/nope', null, INSPECTOR_SNAPSHOT_NAME, 'x'),
    ).resolves.toBeUndefined();
  });

  it('snapshots, inspects and removes: facts match vcsim and our snapshot is not counted', async () => {
    const moref = await findVm(PLAIN.slice(1));
    const userSnapshot = await rawSnapshot(moref, 'before migration', 'a user snapshot');
    const ref = await source.createSnapshot(PLAIN, INSPECTOR_SNAPSHOT_NAME, 'run 1', signal());
    expect(ref).toEqual({ moref, snapshot: expect.stringMatching(/^snapshot-/) });
    expect(await snapshotsOf(moref)).toContainEqual(
      expect.objectContaining({
        snapshot: ref['snapshot'],
        name: INSPECTOR_SNAPSHOT_NAME,
        description: 'run 1',
      }),
    );

    const results = await source.inspect(PLAIN, ref, signal());
    const device = (await retrieveOne(raw, COLLECTOR, { type: 'VirtualMachine', value: moref }, [
      'config.hardware.device',
    ]))!.props
      .get('config.hardware.device')!
      .children.find((d) => d.xsiType === 'VirtualE1000')!;
    expect(results).toMatchObject({ source: 'vsphere', vmId: PLAIN, snapshot: null, durationMs: 0 });
    expect(results.vsphere).toMatchObject({
      moref,
      firmware: 'bios',
      secureBoot: false,
      powerState: 'poweredOn',
      guestId: 'otherGuest',
      hardwareVersion: 'vmx-13',
      numCpu: 1,
      memoryMB: 32,
      snapshotCount: 1,
      vTpm: false,
      encrypted: false,
      disks: [
        expect.objectContaining({
          controller: 'pvscsi',
          busNumber: 0,
          unitNumber: 0,
          capacityBytes: 1024 * 1024,
          fileName: '[LocalDS_0] DC0_H0_VM0/disk1.vmdk',
          datastore: 'LocalDS_0',
          diskMode: 'persistent',
          thinProvisioned: true,
          independent: false,
          rdm: null,
        }),
      ],
      nics: [
        {
          key: 4000,
          label: expect.any(String),
          type: 'e1000',
          macAddress: device.str('macAddress'),
          network: 'DC0_DVPG0',
          connected: false,
          startConnected: true,
        },
      ],
    });
    expect(results.concerns.map((c) => c.code)).toEqual(
      expect.arrayContaining(['EXISTING_SNAPSHOTS', 'TOOLS_NOT_RUNNING', 'VMWARE_PARAVIRTUAL_DEVICES']),
    );

    await source.removeSnapshot(PLAIN, ref, INSPECTOR_SNAPSHOT_NAME, 'run 1');
    expect((await snapshotsOf(moref)).map((s) => s.snapshot)).toEqual([userSnapshot]);
    await expect(
      source.removeSnapshot(PLAIN, ref, INSPECTOR_SNAPSHOT_NAME, 'run 1'),
    ).resolves.toBeUndefined();
    await source.removeSnapshot(
      PLAIN,
      { moref, snapshot: userSnapshot },
      'before migration',
      'a user snapshot',
    );
  });

  it('without a ref, removes every snapshot with the name and description, and only those', async () => {
    const moref = await findVm('DC0/vm/DC0_C0_RP0_VM0');
    const other = await rawSnapshot(moref, INSPECTOR_SNAPSHOT_NAME, 'run 2');
    await rawSnapshot(moref, INSPECTOR_SNAPSHOT_NAME, 'run 3');
    await rawSnapshot(moref, INSPECTOR_SNAPSHOT_NAME, 'run 3');
    await source.removeSnapshot(moref, null, INSPECTOR_SNAPSHOT_NAME, 'run 3');
    expect((await snapshotsOf(moref)).map((s) => s.snapshot)).toEqual([other]);
    await source.removeSnapshot(moref, null, INSPECTOR_SNAPSHOT_NAME, 'run 2');
    expect(await snapshotsOf(moref)).toEqual([]);
  });

  it('reports what a migration trips over (EFI, secure boot, vTPM, encryption, odd disks)', async () => {
    const path = `/DC0/vm/${QUIRKS}`;
    const ref = await source.createSnapshot(path, INSPECTOR_SNAPSHOT_NAME, 'quirks', signal());
    const results = await source.inspect(path, ref, signal());
    await source.removeSnapshot(path, ref, INSPECTOR_SNAPSHOT_NAME, 'quirks');
    expect(results.vsphere).toMatchObject({
      firmware: 'efi',
      secureBoot: true,
      vTpm: true,
      encrypted: true,
      changeTrackingEnabled: true,
      snapshotCount: 0,
    });
    expect(results.vsphere!.disks.map((d) => [d.diskMode, d.sharing, d.independent])).toEqual([
      ['persistent', null, false],
      ['independent_persistent', null, true],
      ['persistent', 'sharingMultiWriter', false],
    ]);
    const codes = results.concerns.map((c) => `${c.severity}:${c.code}`);
    expect(codes.slice(0, 2).sort()).toEqual(['blocker:ENCRYPTED', 'blocker:SHARED_DISK']);
    expect(codes).toEqual(
      expect.arrayContaining([
        'warning:INDEPENDENT_DISK',
        'warning:VTPM',
        'info:SECURE_BOOT',
        'info:CBT_ENABLED',
      ]),
    );
  });

  it('reports raw device mappings (inspected without a snapshot: vcsim cannot remove one there)', async () => {
    const results = await source.inspect(`/DC0/vm/${RDM}`, null, signal());
    expect(results.vsphere!.disks.map((d) => d.rdm)).toEqual([null, 'physical', 'virtual']);
    expect(results.concerns.filter((c) => c.code === 'RDM_DISK')).toEqual([
      expect.objectContaining({ severity: 'blocker', subject: 'Hard disk 2' }),
      expect.objectContaining({ severity: 'warning', subject: 'Hard disk 3' }),
    ]);
  });
});
