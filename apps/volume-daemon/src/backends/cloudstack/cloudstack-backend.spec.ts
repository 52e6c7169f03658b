import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FerryError } from '@ferry/contracts';
import { freePort } from '@ferry/testing';
import type { DiskRef } from '../volume-backend';
import type { CloudStackBackendOptions } from './cloudstack-backend';
import { CloudStackBackend } from './cloudstack-backend';
import { cloudStackSignature } from './cloudstack-signer';

const API_KEY = 'test-api-key-0123456789abcdefghijklmnopqrstuvwxyz';
const SECRET = 'test-secret-key-ZYXWVUTSRQPONMLKJIHGFEDCBA~!*';
const ZONE = 'zone-1';
const OFFERING = 'offering-custom';
const GIB = 1024 ** 3;

type Obj = Record<string, unknown>;
/** How the next async job behaves: pending for `pending` polls (or forever), then succeeds or fails. */
interface JobPlan {
  pending: number | 'never';
  failWith?: string;
}
interface Job {
  plan: JobPlan;
  polls: number;
  complete: () => Obj;
  done?: { status: number; result: Obj };
}
interface FakeVolume {
  id: string;
  name: string;
  size: number;
  zoneid: string;
  virtualmachineid?: string;
  deviceid?: number;
}

/**
 * A CloudStack management server in miniature: the same URL scheme and JSON envelopes, signature
 * verification as ApiServer.verifyRequest does it (401 on a bad one), async jobs polled through
 * queryAsyncJobResult whose side effects happen when the job completes.
 */
class FakeCloudStack {
  readonly volumes = new Map<string, FakeVolume>();
  readonly vms = new Map<string, { id: string; state: string }>();
  readonly jobs = new Map<string, Job>();
  readonly log: { command: string; params: Record<string, string>; at: number }[] = [];
  readonly plans: JobPlan[] = [];
  /** Canned answers for the next requests of a command: [status, body or raw text]. */
  readonly canned = new Map<string, [number, Obj | string, number?][]>();
  rejected = 0;
  private server!: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/client/api`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  calls(command: string): Record<string, string>[] {
    return this.log.filter((r) => r.command === command).map((r) => r.params);
  }

  cannedOnce(command: string, status: number, body: Obj | string, delayMs?: number): void {
    this.canned.set(command, [...(this.canned.get(command) ?? []), [status, body, delayMs]]);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const params = Object.fromEntries(url.searchParams);
    const command = params['command'] ?? '';
    const key = `${command.toLowerCase()}response`;
    const send = (status: number, body: Obj | string) => {
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/html' : 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify({ [key]: body }));
    };
    const error = (errorcode: number, errortext: string) =>
      send(errorcode, { uuidList: [], errorcode, cserrorcode: 4350, errortext });

    const { signature, ...signed } = params;
    const expires = Date.parse(params['expires'] ?? '');
    if (
      params['apiKey'] !== API_KEY ||
      params['response'] !== 'json' ||
      params['signatureVersion'] !== '3' ||
      !(expires > Date.now()) ||
      signature !== cloudStackSignature(signed, SECRET)
    ) {
      this.rejected++;
      return error(401, 'unable to verify user credentials and/or request signature');
    }
    this.log.push({ command, params: signed, at: Date.now() });

    const canned = this.canned.get(command)?.shift();
    if (canned) {
      const [status, body, delayMs] = canned;
      if (delayMs) return void setTimeout(() => send(status, body), delayMs).unref();
      return send(status, body);
    }
    const notFound = (id: string | undefined) =>
      error(
        431,
        `Unable to execute API command ${command.toLowerCase()} due to invalid value. Invalid parameter id ` +
          `value=${id} due to incorrect long value format, or entity does not exist or due to incorrect ` +
          `parameter annotation for the field in api cmd class.`,
      );
    const id = params['id'];
    const volume = id ? this.volumes.get(id) : undefined;
    const vm = id ? this.vms.get(id) : undefined;

    switch (command) {
      case 'listVolumes': {
        if (id && !volume) return notFound(id);
        const found = [...this.volumes.values()].filter(
          (v) => (!id || v.id === id) && (!params['name'] || v.name === params['name']),
        );
        return send(200, found.length ? { count: found.length, volume: found.map((v) => this.show(v)) } : {});
      }
      case 'listVirtualMachines':
        if (!vm) return notFound(id);
        return send(200, { count: 1, virtualmachine: [{ ...vm, name: 'vm' }] });
      case 'createVolume': {
        const v: FakeVolume = {
          id: randomUUID(),
          name: params['name'] ?? '',
          size: Number(params['size']) * GIB,
          zoneid: params['zoneid'] ?? '',
        };
        this.volumes.set(v.id, v);
        return send(
          200,
          this.startJob(v.id, () => ({ volume: this.show(v) })),
        );
      }
      case 'deleteVolume':
        if (!volume) return notFound(id);
        this.volumes.delete(volume.id);
        return send(200, { success: 'true' });
      case 'attachVolume': {
        const target = this.vms.get(params['virtualmachineid'] ?? '');
        if (!volume || !target) return notFound(id);
        return send(
          200,
          this.startJob(volume.id, () => {
            const used = [...this.volumes.values()].filter((v) => v.virtualmachineid === target.id).length;
            Object.assign(volume, { virtualmachineid: target.id, deviceid: used + 1 });
            return { volume: this.show(volume) };
          }),
        );
      }
      case 'detachVolume':
        if (!volume) return notFound(id);
        return send(
          200,
          this.startJob(volume.id, () => {
            delete volume.virtualmachineid;
            delete volume.deviceid;
            return { volume: this.show(volume) };
          }),
        );
      case 'stopVirtualMachine':
        if (!vm) return notFound(id);
        return send(
          200,
          this.startJob(vm.id, () => {
            vm.state = 'Stopped';
            return { virtualmachine: { ...vm } };
          }),
        );
      case 'destroyVirtualMachine':
        if (!vm) return notFound(id);
        return send(
          200,
          this.startJob(vm.id, () => {
            this.vms.delete(vm.id);
            return { virtualmachine: { ...vm, state: 'Expunging' } };
          }),
        );
      case 'queryAsyncJobResult': {
        const job = this.jobs.get(params['jobid'] ?? '');
        if (!job) return notFound(params['jobid']);
        job.polls++;
        if (!job.done && job.plan.pending !== 'never' && job.polls > job.plan.pending) {
          job.done = job.plan.failWith
            ? { status: 2, result: { errorcode: 530, errortext: job.plan.failWith } }
            : { status: 1, result: job.complete() };
        }
        const { status, result } = job.done ?? { status: 0, result: undefined };
        return send(200, {
          jobid: params['jobid'],
          jobstatus: status,
          jobresultcode: status === 2 ? 530 : 0,
          jobresult: result,
        });
      }
      default:
        return error(432, `The given command ${command} either does not exist or is not available for user.`);
    }
  }

  private startJob(id: string, complete: () => Obj): Obj {
    const jobid = randomUUID();
    this.jobs.set(jobid, { plan: this.plans.shift() ?? { pending: 2 }, polls: 0, complete });
    return { id, jobid };
  }

  private show(v: FakeVolume): Obj {
    const vm = v.virtualmachineid ? this.vms.get(v.virtualmachineid) : undefined;
    return { ...v, ...(vm ? { vmstate: vm.state, vmname: 'vm' } : {}) };
  }
}

/** Every error a test saw, checked at the end for leaked credentials. */
const seenErrors: unknown[] = [];
async function rejection(promise: Promise<unknown>): Promise<FerryError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  seenErrors.push(err);
  if (!(err instanceof FerryError)) throw new Error(`expected a FerryError, got ${String(err)}`);
  return err;
}

describe('CloudStackBackend against a fake CloudStack', () => {
  const fake = new FakeCloudStack();
  const logger = { warn: jest.fn() };
  let endpoint: string;
  let backend: CloudStackBackend;
  const make = (o: Partial<CloudStackBackendOptions> = {}) =>
    new CloudStackBackend({
      endpoint,
      apiKey: API_KEY,
      secretKey: SECRET,
      zoneId: ZONE,
      diskOfferingId: OFFERING,
      requestTimeoutMs: 2_000,
      jobTimeoutMs: 5_000,
      pollIntervalMs: 5,
      maxPollIntervalMs: 20,
      // The stand-in CloudStack serves plain http on 127.0.0.1.
      allowHttp: true,
      logger,
      ...o,
    });
  const vmA = 'vm-a';
  const vmB = 'vm-b';

  beforeAll(async () => {
    endpoint = await fake.start();
    backend = make();
  });
  afterAll(() => fake.stop());
  beforeEach(() => {
    fake.vms.set(vmA, { id: vmA, state: 'Running' });
    fake.vms.set(vmB, { id: vmB, state: 'Stopped' });
  });

  async function newDisk(): Promise<DiskRef> {
    const id = randomUUID();
    const disk = await backend.createDisk({ id, name: 'data', sizeBytes: GIB, format: 'raw' });
    return { id, ref: disk.ref, format: 'raw' };
  }

  it('refuses an http endpoint unless allowed: the API key and signatures would travel in clear', () => {
    let refused: unknown;
    try {
      make({ allowHttp: false });
    } catch (err) {
      refused = err;
    }
    expect(refused).toMatchObject({ code: 'VALIDATION' });
    expect((refused as Error).message).toContain('CLOUDSTACK_ALLOW_HTTP');
    expect(() => make({ allowHttp: false, endpoint: 'https://cloud.example.com/client/api' })).not.toThrow();
  });

  it('creates a volume through an async job, rounding the size up to whole GiB', async () => {
    fake.plans.push({ pending: 3 });
    const id = randomUUID();
    const disk = await backend.createDisk({ id, name: 'data', sizeBytes: 10 * GIB + 1, format: 'qcow2' });
    expect(disk).toEqual({ ref: expect.any(String), path: null, sizeBytes: 11 * GIB });
    expect(fake.volumes.get(disk.ref)).toMatchObject({ name: `data-${id}`, size: 11 * GIB, zoneid: ZONE });
    expect(fake.calls('createVolume').at(-1)).toMatchObject({
      zoneid: ZONE,
      diskofferingid: OFFERING,
      size: '11',
    });
    const job = [...fake.jobs.values()].at(-1)!;
    expect(job.polls).toBe(4); // three pending answers, then the result

    // Run again (a recovered operation): the same volume, no second createVolume.
    const creates = fake.calls('createVolume').length;
    const again = await backend.createDisk({ id, name: 'data', sizeBytes: 10 * GIB + 1, format: 'qcow2' });
    expect(again).toEqual(disk);
    expect(fake.calls('createVolume')).toHaveLength(creates);
  });

  it('attaches through an async job and reports how the guest sees the disk', async () => {
    const disk = await newDisk();
    const correlation = await backend.attach(disk, vmA);
    const serial = disk.ref.replace(/-/g, '').slice(0, 20);
    expect(correlation).toEqual({
      deviceId: '1',
      address: 'deviceid:1',
      byIdPath: `/dev/disk/by-id/virtio-${serial}`,
      live: true,
    });
    expect(fake.calls('attachVolume').at(-1)).toMatchObject({ id: disk.ref, virtualmachineid: vmA });
    expect(await backend.findAttachment(disk, vmA)).toEqual(correlation);
    expect(await backend.findAttachment(disk, vmB)).toBeNull();

    // Already attached to that VM: the correlation, without another attachVolume.
    const attaches = fake.calls('attachVolume').length;
    expect(await backend.attach(disk, vmA)).toEqual(correlation);
    expect(fake.calls('attachVolume')).toHaveLength(attaches);

    // Attached to another VM: CONFLICT.
    const conflict = await rejection(backend.attach(disk, vmB));
    expect(conflict.code).toBe('CONFLICT');
    expect(fake.calls('attachVolume')).toHaveLength(attaches);
  });

  it('reports a disk attached to a stopped VM as not live', async () => {
    const disk = await newDisk();
    expect(await backend.attach(disk, vmB)).toMatchObject({ deviceId: '1', live: false });
  });

  it('detaches through an async job; detaching a disk that is not attached succeeds without a call', async () => {
    const disk = await newDisk();
    await backend.attach(disk, vmA);
    await backend.detach(disk, vmA, 5_000);
    expect(fake.calls('detachVolume').at(-1)).toMatchObject({ id: disk.ref });
    expect(fake.volumes.get(disk.ref)?.virtualmachineid).toBeUndefined();
    expect(await backend.findAttachment(disk, vmA)).toBeNull();

    const detaches = fake.calls('detachVolume').length;
    await backend.detach(disk, vmA, 5_000);
    await backend.detach({ ...disk, ref: randomUUID() }, vmA, 5_000);
    expect(fake.calls('detachVolume')).toHaveLength(detaches);
  });

  it('deletes a volume; a volume that is gone succeeds, one that is attached is a CONFLICT', async () => {
    const disk = await newDisk();
    await backend.attach(disk, vmA);
    expect((await rejection(backend.deleteDisk(disk))).code).toBe('CONFLICT');
    await backend.detach(disk, vmA, 5_000);
    await backend.deleteDisk(disk);
    expect(fake.volumes.has(disk.ref)).toBe(false);
    const deletes = fake.calls('deleteVolume').length;
    await backend.deleteDisk(disk);
    expect(fake.calls('deleteVolume')).toHaveLength(deletes);
  });

  it('fails with the job error text when a job fails', async () => {
    const disk = await newDisk();
    fake.plans.push({ pending: 1, failWith: 'Failed to attach volume: the hypervisor refused the device' });
    const err = await rejection(backend.attach(disk, vmA));
    expect(err.message).toContain('Failed to attach volume: the hypervisor refused the device');
    expect(err.details).toMatchObject({ command: 'attachVolume', errorcode: 530, jobId: expect.any(String) });
  });

  it('gives up on a job that never finishes with TIMEOUT, naming the job', async () => {
    const disk = await newDisk();
    const quick = make({ jobTimeoutMs: 300, pollIntervalMs: 20, maxPollIntervalMs: 50 });
    fake.plans.push({ pending: 'never' });
    const started = Date.now();
    const err = await rejection(quick.attach(disk, vmA));
    const elapsed = Date.now() - started;
    const jobId = [...fake.jobs.keys()].at(-1)!;
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toContain(jobId);
    expect(err.details).toMatchObject({ jobId, command: 'attachVolume' });
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(2_000);
  });

  it('backs off exponentially between polls, up to the maximum interval', async () => {
    const slow = make({ pollIntervalMs: 20, maxPollIntervalMs: 80 });
    fake.plans.push({ pending: 6 });
    const before = fake.log.length;
    await slow.createDisk({ id: randomUUID(), name: 'b', sizeBytes: GIB, format: 'raw' });
    const polls = fake.log
      .slice(before)
      .filter((r) => r.command === 'queryAsyncJobResult')
      .map((r) => r.at);
    expect(polls).toHaveLength(7);
    const gaps = polls.slice(1).map((at, i) => at - polls[i]!);
    const expected = [20, 40, 80, 80, 80, 80];
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(expected[i]! - 3));
    // Unbounded doubling would wait 320 and 640 ms for the last two.
    expect(Math.max(gaps[4]!, gaps[5]!)).toBeLessThan(250);
  });

  it('keeps polling through a transient failure and logs it without credentials', async () => {
    fake.plans.push({ pending: 1 });
    fake.cannedOnce('queryAsyncJobResult', 503, '<html>Service Unavailable</html>');
    logger.warn.mockClear();
    await backend.createDisk({ id: randomUUID(), name: 't', sizeBytes: GIB, format: 'raw' });
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(String(logger.warn.mock.calls[0]?.[0])).toContain('HTTP 503');
  });

  it('reads, forces off and deletes VMs', async () => {
    expect(await backend.powerState(vmA)).toEqual({ vmId: vmA, state: 'Running', running: true });
    expect(await backend.powerState(vmB)).toEqual({ vmId: vmB, state: 'Stopped', running: false });
    expect((await rejection(backend.powerState('nope'))).code).toBe('NOT_FOUND');

    expect(await backend.powerOff(vmA, 5_000)).toEqual({ vmId: vmA, state: 'Stopped', running: false });
    expect(fake.calls('stopVirtualMachine').at(-1)).toMatchObject({ id: vmA, forced: 'true' });
    const stops = fake.calls('stopVirtualMachine').length;
    expect(await backend.powerOff(vmB, 5_000)).toEqual({ vmId: vmB, state: 'Stopped', running: false });
    expect(fake.calls('stopVirtualMachine')).toHaveLength(stops);

    await backend.deleteVm(vmA);
    expect(fake.calls('destroyVirtualMachine').at(-1)).toMatchObject({ id: vmA, expunge: 'true' });
    expect(fake.vms.has(vmA)).toBe(false);
    const destroys = fake.calls('destroyVirtualMachine').length;
    await backend.deleteVm(vmA);
    expect(fake.calls('destroyVirtualMachine')).toHaveLength(destroys);
  });

  it('powerOff honours its own deadline', async () => {
    fake.plans.push({ pending: 'never' });
    const err = await rejection(backend.powerOff(vmA, 200));
    expect(err.code).toBe('TIMEOUT');
  });

  it('maps HTTP failures: 5xx → UNAVAILABLE, 431 → VALIDATION, slow → TIMEOUT, unreachable → UNAVAILABLE', async () => {
    fake.cannedOnce('listVirtualMachines', 503, '<html>Service Unavailable</html>');
    expect((await rejection(backend.powerState(vmA))).code).toBe('UNAVAILABLE');

    fake.cannedOnce('listVolumes', 200, {}); // no volume with that name yet
    fake.cannedOnce('createVolume', 431, {
      errorcode: 431,
      cserrorcode: 9999,
      errortext: 'Invalid parameter size value=0: must be positive',
    });
    const invalid = await rejection(
      backend.createDisk({ id: randomUUID(), name: 'x', sizeBytes: 1, format: 'raw' }),
    );
    expect(invalid).toMatchObject({ code: 'VALIDATION', details: { errorcode: 431, cserrorcode: 9999 } });
    expect(invalid.message).toContain('must be positive');

    fake.cannedOnce('listVirtualMachines', 200, { count: 0 }, 1_000);
    const slow = make({ requestTimeoutMs: 150 });
    expect((await rejection(slow.powerState(vmA))).code).toBe('TIMEOUT');

    const closed = make({ endpoint: `http://127.0.0.1:${await freePort()}/client/api` });
    const unreachable = await rejection(closed.powerState(vmA));
    expect(unreachable).toMatchObject({ code: 'UNAVAILABLE', details: { errno: 'ECONNREFUSED' } });
    expect(unreachable.message).toContain('cannot reach CloudStack');
  });

  it('reports rejected credentials clearly (CloudStack answers 401 to a bad signature)', async () => {
    const rejectedBefore = fake.rejected;
    const wrong = make({ secretKey: 'not-the-secret' });
    const err = await rejection(wrong.powerState(vmA));
    expect(fake.rejected).toBe(rejectedBefore + 1);
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toContain('CloudStack rejected the API credentials');
    expect(err.details).toMatchObject({ httpStatus: 401, errorcode: 401 });
  });

  it('scrubs credentials that the server echoes back', async () => {
    fake.cannedOnce('listVirtualMachines', 530, {
      errorcode: 530,
      errortext: `internal error for apiKey=${API_KEY} secret ${SECRET} key ${encodeURIComponent(API_KEY)}`,
    });
    const err = await rejection(backend.powerState(vmA));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toContain('apiKey=***');
  });

  it('signed every request it sent with the right key (no 401 outside the bad-key test)', () => {
    expect(fake.rejected).toBe(1);
    expect(fake.log.length).toBeGreaterThan(20);
  });

  it('never put the API key or the secret key into an error or a log line', () => {
    expect(seenErrors.length).toBeGreaterThan(10);
    const texts = [
      ...seenErrors.map((e) =>
        e instanceof FerryError ? JSON.stringify({ m: e.message, d: e.details, s: e.stack }) : String(e),
      ),
      ...logger.warn.mock.calls.map((c) => JSON.stringify(c)),
    ];
    const secrets = [API_KEY, SECRET, encodeURIComponent(API_KEY), encodeURIComponent(SECRET)];
    for (const text of texts) {
      for (const secret of secrets) {
        expect(text.toLowerCase()).not.toContain(secret.toLowerCase());
      }
    }
  });
});
