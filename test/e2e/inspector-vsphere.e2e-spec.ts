import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { InspectionStatusDto, InspectorStatusDto } from '@ferry/contracts';
import { INSPECTOR_SNAPSHOT_NAME } from '@ferry/contracts';
import {
  attachRawAsDisk,
  buildBootableGuest,
  diskKeys,
  eventually,
  freePort,
  VcsimProbe,
  VcsimProcess,
} from '@ferry/testing';
import type { NatsConnection } from 'nats';
import { connect } from 'nats';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';

interface Problem {
  code: string;
  detail: string;
  fault?: string;
}

/** Seed 000 against vCenter, played by vcsim: through the gateway, our own SOAP client, real snapshots. */
describe('inspector against vSphere (vcsim) through the gateway', () => {
  let vcsim: VcsimProcess;
  let probe: VcsimProbe;
  let suite: Suite;
  let sse: SseClient;
  // Everything that crosses the broker, as a reader of it would see it.
  let sniffer: NatsConnection;
  const onTheWire: string[] = [];
  const QUIRKY = 'DC0_C0_RP0_VM1';
  const PATHS = ['/DC0/vm/DC0_H0_VM0', '/DC0/vm/DC0_H0_VM1', '/DC0/vm/DC0_C0_RP0_VM0', `/DC0/vm/${QUIRKY}`];
  // Unique, so that finding it anywhere is a leak.
  const WRONG_PASSWORD = `wrong-${Date.now()}-s3cr3t`;
  // The inspector's TMPDIR (short: nbdkit's sockets go below it): what it leaves there is a leak.
  const dir = mkdtempSync('/tmp/fie-');
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);

  beforeAll(async () => {
    // A password found nowhere by chance (vcsim's default, `pass`, is inside every "password").
    vcsim = await VcsimProcess.start({ vms: 2, quirks: QUIRKY, password: `vc-${Date.now()}-Pw` });
    probe = new VcsimProbe(vcsim);
    suite = await Suite.start(['gateway']);
    sniffer = await connect({ servers: suite.nats.url });
    sniffer.subscribe('>', { callback: (_err, m) => onTheWire.push(new TextDecoder().decode(m.data)) });
    sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?type=ferry.inspector.`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
    await suite.startService('inspector', { INSPECTOR_VSPHERE_CA_FILE: vcsim.caFile, TMPDIR: tmp });
  }, 120_000);

  afterAll(async () => {
    sse?.close();
    await sniffer?.close();
    await suite?.dispose();
    await vcsim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = async () => (await suite.request<InspectorStatusDto>('GET', '/api/v1/vms/inspector')).body;
  const vm = async (id: string) =>
    (await suite.request<InspectionStatusDto>('GET', `/api/v1/vms/${encodeURIComponent(id)}/inspector`)).body;
  const start = (vmIds: string[], credentials: Record<string, string>) =>
    suite.request<InspectorStatusDto & Problem>('POST', '/api/v1/vms/inspector', {
      body: { VcenterCredentials: credentials, vmIds },
    });

  it('answers 400 with the fault when vCenter refuses the credentials, and the inspector is in error', async () => {
    const r = await start(['vm-1'], { url: vcsim.url, username: vcsim.username, password: WRONG_PASSWORD });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.body.detail).toMatch(/InvalidLogin/);
    const s = await status();
    expect(s.state).toBe('error');
    expect(s.error).toMatch(/InvalidLogin/);
  });

  it('answers 503 when vCenter is unreachable, and the inspector is in error, saying no more', async () => {
    const port = await freePort();
    const url = `https://127.0.0.1:${port}/sdk`;
    const r = await start(['vm-1'], { url, username: 'u', password: 'p' });
    expect(r.status).toBe(503);
    expect(r.body.code).toBe('UNAVAILABLE');
    expect(r.body.detail).toBe('vCenter unreachable');
    const s = await status();
    expect(s).toEqual({ state: 'error', error: 'vCenter unreachable' });
    // Why (a refused connection to that port) is the log's, not the caller's: no port scanner.
    expect(JSON.stringify(r.body)).not.toMatch(new RegExp(`ECONNREFUSED|${port}`));
    const logged = () =>
      suite
        .process('inspector')
        .output.find((l) => l.includes('ECONNREFUSED') && l.includes(`127.0.0.1:${port}`));
    await eventually(logged, 5000, 'the log says why');
  });

  it('inspects each VM between a snapshot and its removal, reports vcsim’s facts, and leaves no snapshot', async () => {
    const morefs = await Promise.all(PATHS.map((p) => probe.moref(p)));
    // The seed names VMs by MoRef; an inventory path works too. vm-999999 does not exist.
    const ids = [morefs[0]!, PATHS[1]!, 'vm-999999', morefs[2]!, morefs[3]!];
    const r = await start(ids, { url: vcsim.url, username: vcsim.username, password: vcsim.password });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ state: 'started' });
    await eventually(async () => ((await status()).state === 'done' ? true : undefined), 60_000, 'done');

    const missing = await vm('vm-999999');
    expect(missing.state).toBe('error');
    expect(missing.error).toMatch(/vm-999999.*not found/);

    for (const id of [morefs[0]!, PATHS[1]!, morefs[2]!]) {
      const { state, results } = await vm(id);
      expect(state).toBe('completed');
      expect(results!.snapshot).toEqual({ name: INSPECTOR_SNAPSHOT_NAME, removed: true });
      const facts = results!.vsphere!;
      expect(facts.firmware).toBe('bios');
      expect(facts.secureBoot).toBe(false);
      expect(facts.powerState).toBe('poweredOn');
      expect(facts.snapshotCount).toBe(0);
      expect(facts.disks).toHaveLength(1);
      expect(facts.disks[0]).toMatchObject({ controller: 'pvscsi', capacityBytes: 1024 * 1024, rdm: null });
      expect(facts.disks[0]!.fileName).toMatch(/^\[LocalDS_0\] /);
      expect(facts.nics).toHaveLength(1);
      expect(facts.nics[0]).toMatchObject({ type: 'e1000', network: 'DC0_DVPG0' });
      expect(facts.nics[0]!.macAddress).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    }
    expect((await vm(PATHS[1]!)).results!.vsphere!.name).toBe('DC0_H0_VM1');

    const quirky = (await vm(morefs[3]!)).results!;
    expect(quirky.vsphere).toMatchObject({ firmware: 'efi', secureBoot: true, vTpm: true, encrypted: true });
    const codes = quirky.concerns.map((c) => c.code);
    expect(codes).toEqual(expect.arrayContaining(['ENCRYPTED', 'SHARED_DISK', 'VTPM', 'INDEPENDENT_DISK']));
    // Worst first.
    const rank = { blocker: 0, warning: 1, info: 2 };
    const ranks = quirky.concerns.map((c) => rank[c.severity]);
    expect(ranks).toEqual([...ranks].sort());

    // No snapshot left on any VM, asked over SOAP; and every one that was taken is recorded removed.
    for (const moref of morefs) expect(await probe.snapshotNames(moref)).toEqual([]);
    const intents = await suite.query<{ vm_id: string; state: string }>(
      `SELECT vm_id, state FROM inspector.snapshot_intents`,
    );
    expect(intents.map((i) => i.vm_id).sort()).toEqual([...ids].sort());
    expect(intents.every((i) => i.state === 'removed')).toBe(true);

    // Credentials live only for the run.
    const runs = await suite.query<{ credentials: Buffer | null; source: unknown }>(
      `SELECT credentials, source FROM inspector.runs WHERE source_type = 'vsphere' AND state = 'done'`,
    );
    expect(runs).toHaveLength(1);
    expect(runs[0]!.credentials).toBeNull();
    expect(runs[0]!.source).toEqual({ url: vcsim.url });
  });

  it('reports an existing snapshot tree, and removes only its own snapshot', async () => {
    const moref = await probe.moref(PATHS[0]!);
    await probe.createSnapshot(moref, 'before-migration');
    const r = await start([moref], { url: vcsim.url, username: vcsim.username, password: vcsim.password });
    expect(r.status).toBe(202);
    await eventually(async () => ((await status()).state === 'done' ? true : undefined), 30_000, 'done');
    const { state, results } = await vm(moref);
    expect(state).toBe('completed');
    expect(results!.vsphere!.snapshotCount).toBe(1);
    expect(results!.concerns.map((c) => c.code)).toContain('EXISTING_SNAPSHOTS');
    expect(await probe.snapshotNames(moref)).toEqual(['before-migration']);
  });

  it('keeps the earlier results readable when a new start’s login fails (seed 000 clears them only after Init)', async () => {
    const moref = await probe.moref(PATHS[2]!);
    const ok = await start([moref], { url: vcsim.url, username: vcsim.username, password: vcsim.password });
    expect(ok.status).toBe(202);
    await eventually(async () => ((await status()).state === 'done' ? true : undefined), 30_000, 'done');
    const before = await vm(moref);
    expect(before.state).toBe('completed');

    const r = await start([moref], { url: vcsim.url, username: vcsim.username, password: WRONG_PASSWORD });
    expect(r.status).toBe(400);
    expect(r.body.detail).toMatch(/InvalidLogin/);
    const s = await status();
    expect(s.state).toBe('error');
    expect(s.error).toMatch(/InvalidLogin/);
    expect(await vm(moref)).toEqual(before);
  });

  it('reads the guest of a VM with a real disk over the datastore, under the snapshot it removes', async () => {
    // The bootable guest beside vcsim's own (0-byte) disk; one libguestfs appliance boot under TCG.
    const moref = await probe.moref(PATHS[1]!);
    const guest = await buildBootableGuest(dir);
    const [own] = await diskKeys(vcsim, moref);
    const fileName = '[LocalDS_0] ferry-e2e/web.vmdk';
    const disk = await attachRawAsDisk(vcsim, moref, guest.path, fileName, dir);

    const r = await start([moref], { url: vcsim.url, username: vcsim.username, password: vcsim.password });
    expect(r.status).toBe(202);
    await eventually(async () => ((await status()).state === 'done' ? true : undefined), 300_000, 'done');
    const { state, results } = await vm(moref);
    expect(state).toBe('completed');
    expect(results!.snapshot).toEqual({ name: INSPECTOR_SNAPSHOT_NAME, removed: true });
    expect(results!.disks!.map((d) => [d.deviceId, d.path, d.virtualSizeBytes])).toEqual([
      [String(own!.key), own!.fileName, 0],
      [String(disk.key), fileName, guest.sizeBytes],
    ]);
    expect(results!.guest).toMatchObject({
      root: '/dev/sda2',
      rootDiskId: String(disk.key),
      osType: 'linux',
      distro: 'debian',
      firmware: 'bios',
      vmwareTools: '/usr/bin/vmtoolsd, /etc/vmware-tools',
    });
    expect(results!.guest!.filesystems).toContainEqual({
      device: '/dev/sda2',
      type: 'ext4',
      uuid: guest.rootUuid,
      label: 'root',
      partuuid: '46455252-02',
    });
    const codes = results!.concerns.map((c) => `${c.severity}:${c.code}`);
    expect(codes).toEqual(
      expect.arrayContaining([
        'blocker:FSTAB_BY_PATH',
        'warning:VMWARE_TOOLS',
        'warning:PARTITION_TABLE_UNREADABLE',
      ]),
    );
    expect(codes).not.toContain('warning:DEEP_INSPECTION_FAILED');
    expect(await probe.snapshotNames(moref)).toEqual([]);
    // No nbdkit left, nor its sockets, cookie or CA.
    const left = spawnSync('pgrep', ['-f', tmp], { encoding: 'utf8', timeout: 5000 }).stdout.trim();
    expect(left).toBe('');
    expect(readdirSync(tmp).filter((f) => f.startsWith('ferry-vsphere-deep-'))).toEqual([]);
  }, 400_000);

  it('never shows a password: not in logs, events, answers or the database', async () => {
    const everything = [
      ...suite.process('inspector').output,
      ...suite.process('gateway').output,
      ...sse.messages.map((m) => JSON.stringify(m.data)),
      JSON.stringify(await suite.query(`SELECT id, source, state, error FROM inspector.runs`)),
      JSON.stringify(await suite.query(`SELECT payload FROM inspector.outbox`)),
    ].join('\n');
    expect(everything).not.toContain(WRONG_PASSWORD);
    // Nor on the broker: the gateway sealed them for the inspector before sending.
    await sniffer.flush();
    const wire = onTheWire.join('\n');
    expect(wire).toContain('"VcenterCredentials"');
    expect(wire).toContain('sealed:v1:');
    expect(wire).not.toContain(WRONG_PASSWORD);
    expect(wire).not.toContain(vcsim.password);
    expect(everything).not.toContain(`"password":"${vcsim.password}"`);
    const sealed = await suite.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM inspector.runs WHERE position(convert_to($1, 'UTF8') in credentials) > 0`,
      [WRONG_PASSWORD],
    );
    expect(sealed[0]!.n).toBe(0);
  });
});
