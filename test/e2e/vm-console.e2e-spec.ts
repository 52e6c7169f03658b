import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AttachedDeviceDto, RpcErrorBody, VmConsoleDto, VmDto } from '@ferry/contracts';
import { CONSOLE_TAIL_MAX_BYTES, DeviceSubjects, VmSubjects } from '@ferry/contracts';
import { runCommand } from '@ferry/platform';
import {
  BOOT_OK_MARKER,
  FSTAB_FAIL_MARKER,
  FSTAB_RESULT,
  buildBootableGuest,
  eventually,
  randomName,
} from '@ferry/testing';
import type { NatsConnection } from 'nats';
import { connect } from 'nats';
import { Suite } from '../support/suite';

/** A boot takes about 4 s under TCG on an idle machine; the rest of a suite running beside it slows it. */
const BOOT_TIMEOUT_MS = 60_000;
const BOOT_TEST_TIMEOUT_MS = 4 * BOOT_TIMEOUT_MS;
const count = (text: string, marker: string) => text.split(marker).length - 1;

/**
 * A migrated disk boots a VM, and its serial console proves it: the bootable test guest (with a
 * vSphere guest's traits), attached through vm-operator's device primitives as volume-daemon does.
 */
describe('VM serial console (vm-operator.vm.console, GET /vms/{id}/console; real QEMU)', () => {
  let suite: Suite;
  let nc: NatsConnection;
  const template = randomName('tpl');

  async function rpc<T>(subject: string, body: unknown): Promise<{ data?: T; error?: RpcErrorBody }> {
    const reply = await nc.request(subject, JSON.stringify(body), { timeout: 15_000 });
    return reply.json();
  }
  const consoleOf = (id: string, query = '', headers: Record<string, string> = {}, key?: string | null) =>
    suite.request<VmConsoleDto>('GET', `/api/v1/vms/${id}/console${query}`, { headers, key });

  /** Polls the console subject until `pattern` shows, within the deadline. */
  const waitForConsole = (id: string, pattern: RegExp) =>
    eventually(
      async () => {
        const res = await rpc<VmConsoleDto>(VmSubjects.CONSOLE, { id });
        if (res.error) throw new Error(`${res.error.code}: ${res.error.message}`);
        return pattern.test(res.data!.text) ? res.data! : undefined;
      },
      BOOT_TIMEOUT_MS,
      `${pattern} on the console of VM ${id}`,
    );

  beforeAll(async () => {
    suite = await Suite.start(['gateway']);
    // TCG: the test is about Ferry, not this host's KVM (under some nested hypervisors KVM passes
    // vm-operator's probe and still stops in syslinux).
    await suite.startService('vm-operator', { VM_ACCELERATOR: 'tcg' });
    nc = await connect({ servers: suite.nats.url });
    const created = await suite.request('POST', '/api/v1/templates', {
      body: { name: template, cpu_count: 1, ram_amount: 256 },
    });
    expect(created.status).toBe(201);
  });

  afterAll(async () => {
    await nc?.close();
    await suite?.dispose();
  });

  it(
    'boots a qcow2 attached as a device, shows FERRY-BOOT-OK, and keeps the console after the guest powers off',
    async () => {
      // Without a NIC: the test guest powers off after its markers (with one it stays up as a server).
      const vm = await suite.createVm(template, 'stopped', undefined, []);
      // A VM that never started has an empty console, not a 404.
      expect((await consoleOf(vm.id)).body).toEqual({
        id: vm.id,
        text: '',
        bytes: 0,
        truncated: false,
        updated_at: null,
      });

      const guest = await buildBootableGuest(join(suite.diskDir, 'guest'));
      const deviceId = `vol-${randomUUID()}`;
      const path = join(suite.diskDir, `${deviceId}.qcow2`);
      await runCommand('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', guest.path, path], 60_000);
      const attached = await rpc<AttachedDeviceDto>(DeviceSubjects.ATTACH, {
        vmId: vm.id,
        deviceId,
        path,
        format: 'qcow2',
        readOnly: false,
      });
      expect(attached.data).toMatchObject({ deviceId, scsiId: 0, live: false });

      expect((await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`)).status).toBe(202);
      const booted = await waitForConsole(vm.id, FSTAB_RESULT);
      expect(booted.text).toContain(`${BOOT_OK_MARKER} root=/dev/sda2`);
      // The guest brought vSphere's by-path fstab line with it: booting is not the whole migration.
      expect(booted.text).toContain(FSTAB_FAIL_MARKER);
      expect(booted.text).not.toContain('\r');

      // The guest powers off, QEMU exits with it, and vm-operator records that.
      const stopped = await suite.waitForVmState(vm.id, 'stopped', BOOT_TIMEOUT_MS);
      expect(stopped.pid).toBeNull();
      const [change] = await suite.query<{ reason: string }>(
        `SELECT payload->'data'->>'reason' AS reason FROM vm_operator.outbox
          WHERE type = 'ferry.vm-operator.vm.state-changed' AND payload->>'subject' = $1
          ORDER BY seq DESC LIMIT 1`,
        [vm.id],
      );
      expect(change?.reason).toBe('qemu exited');

      const json = await consoleOf(vm.id);
      expect(json.status).toBe(200);
      expect(json.headers.get('content-type')).toMatch(/^application\/json/);
      expect(json.headers.get('cache-control')).toBe('no-store');
      expect(json.body).toMatchObject({ id: vm.id, truncated: false });
      expect(json.body.text).toContain(booted.text);
      expect(json.body.text).toContain('reboot: Power down');
      // The log holds the guest's carriage returns, which the text leaves out.
      expect(json.body.bytes).toBeGreaterThan(Buffer.byteLength(json.body.text));
      expect(Date.parse(json.body.updated_at ?? '')).toBeGreaterThan(Date.parse(vm.created_at));

      const plain = await consoleOf(vm.id, '', { accept: 'text/plain' });
      expect(plain.status).toBe(200);
      expect(plain.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(plain.headers.get('x-console-truncated')).toBe('false');
      expect(plain.headers.get('last-modified')).toBe(new Date(json.body.updated_at!).toUTCString());
      expect(plain.body).toBe(json.body.text);

      const tail = await consoleOf(vm.id, '?tail=32');
      expect(tail.body).toMatchObject({ truncated: true, bytes: json.body.bytes });
      expect(json.body.text.endsWith(tail.body.text)).toBe(true);
      expect(Buffer.byteLength(tail.body.text)).toBeLessThanOrEqual(32);

      // The next start begins a fresh log; the boot before it stays readable as `previous`.
      // The start is accepted (202) before it runs: until it has rotated the log, the current log is
      // still the first boot's, which would match any pattern of the second. Wait for the rotation.
      expect((await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`)).status).toBe(202);
      const previous = await eventually(async () => {
        const p = await consoleOf(vm.id, '?boot=previous');
        return p.body.text ? p : undefined;
      }, BOOT_TIMEOUT_MS);
      expect(previous.body.text).toBe(json.body.text);
      const second = await waitForConsole(vm.id, FSTAB_RESULT);
      expect(count(second.text, BOOT_OK_MARKER)).toBe(1);
      await suite.waitForVmState(vm.id, 'stopped', BOOT_TIMEOUT_MS);
    },
    BOOT_TEST_TIMEOUT_MS,
  );

  it('is for operators: a viewer key is 403, an operator key reads it', async () => {
    const vm = await suite.createVm(template, 'stopped');
    const viewer = await consoleOf(vm.id, '', {}, await suite.keyWithRole('viewer'));
    expect([viewer.status, (viewer.body as unknown as { code: string }).code]).toEqual([403, 'FORBIDDEN']);
    // A viewer still reads the VM itself.
    expect(
      (await suite.request('GET', `/api/v1/vms/${vm.id}`, { key: await suite.keyWithRole('viewer') })).status,
    ).toBe(200);
    expect((await consoleOf(vm.id, '', {}, await suite.keyWithRole('operator'))).status).toBe(200);
    expect((await consoleOf(vm.id, '', {}, null)).status).toBe(401);
  });

  it('is in the OpenAPI document as JSON or text/plain, with its tail and boot', async () => {
    const doc = await suite.request<{
      paths: Record<
        string,
        { get?: { parameters?: { name: string }[]; responses: Record<string, { content?: object }> } }
      >;
    }>('GET', '/api/openapi.json');
    const get = doc.body.paths['/api/v1/vms/{id}/console']?.get;
    expect(Object.keys(get?.responses['200']?.content ?? {}).sort()).toEqual([
      'application/json',
      'text/plain',
    ]);
    expect(get?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['id', 'tail', 'boot']));
  });

  it('refuses a bad tail or boot, and is 404 for a VM that does not exist', async () => {
    const vm = await suite.createVm(template, 'stopped');
    for (const query of [
      '?tail=0',
      '?tail=abc',
      '?tail=1.5',
      `?tail=${CONSOLE_TAIL_MAX_BYTES + 1}`,
      '?boot=last',
    ]) {
      const res = await consoleOf(vm.id, query);
      expect([query, res.status]).toEqual([query, 400]);
    }
    expect((await consoleOf(vm.id, `?tail=${CONSOLE_TAIL_MAX_BYTES}`)).status).toBe(200);
    const unknown = await consoleOf(randomUUID());
    expect([unknown.status, (unknown.body as unknown as { code: string }).code]).toEqual([404, 'NOT_FOUND']);
    expect((await consoleOf('vm-12345678-test')).status).toBe(404);
    // Text is asked for, but an error is still problem+json.
    const missing = await consoleOf(randomUUID(), '', { accept: 'text/plain' });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    expect((await rpc(VmSubjects.CONSOLE, { id: vm.id, tailBytes: 0 })).error?.code).toBe('VALIDATION');
    expect((await rpc(VmSubjects.CONSOLE, { id: vm.id, tailBytes: '10' })).error?.code).toBe('VALIDATION');
    expect((await rpc(VmSubjects.CONSOLE, { id: randomUUID() })).error?.code).toBe('NOT_FOUND');
  });

  it('answers a 1 MiB tail of a log that would not fit in one NATS message, cut to fit', async () => {
    const vm: VmDto = await suite.createVm(template, 'stopped');
    // 2 MiB of bytes that are not UTF-8: each becomes U+FFFD, 3 bytes, so 1 MiB of log is 3 MiB of JSON.
    const dir = join(suite.vmRuntimeDir, vm.id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(
      join(dir, 'serial.log'),
      Buffer.concat([Buffer.alloc(2 * 1024 * 1024, 0xff), Buffer.from('END\n')]),
    );

    const res = await rpc<VmConsoleDto>(VmSubjects.CONSOLE, { id: vm.id, tailBytes: CONSOLE_TAIL_MAX_BYTES });
    expect(res.error).toBeUndefined();
    expect(res.data).toMatchObject({ truncated: true, bytes: 2 * 1024 * 1024 + 4 });
    expect(res.data!.text.endsWith('\uFFFDEND\n')).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(res.data))).toBeLessThan(1024 * 1024);

    const http = await consoleOf(vm.id, `?tail=${CONSOLE_TAIL_MAX_BYTES}`, { accept: 'text/plain' });
    expect([http.status, http.headers.get('x-console-truncated')]).toEqual([200, 'true']);
    expect(http.body).toBe(res.data!.text);
  });
});
