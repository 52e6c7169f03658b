import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AttachedDeviceDto, RpcErrorBody, VmAddressChange, VmConsoleDto, VmDto } from '@ferry/contracts';
import { DeviceSubjects, VmEvents } from '@ferry/contracts';
import { isProcessRunning, runCommand } from '@ferry/platform';
import {
  NET_FAIL_MARKER,
  NET_RESULT,
  buildBootableGuest,
  eventually,
  guestAddress,
  randomName,
} from '@ferry/testing';
import type { NatsConnection } from 'nats';
import { connect } from 'nats';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';

/** A boot takes about 4 s under TCG on an idle machine; the rest of a suite running beside it slows it. */
const BOOT_TIMEOUT_MS = 60_000;
const BOOT_TEST_TIMEOUT_MS = 4 * BOOT_TIMEOUT_MS;

interface Problem {
  code: string;
  detail: string;
  errors?: { field: string; messages: string[] }[];
}

/**
 * VMs get a network like libvirt's default one (VM_NETWORK_MODE=bridge): the suite's own bridge and
 * subnet, dnsmasq for DHCP, a tap per NIC; the bootable test guest asks for a lease and prints it, and
 * vm-operator shows it as `local_ip`.
 */
describe('VM networking (bridge, dnsmasq, taps; real QEMU booting the test guest)', () => {
  let suite: Suite;
  let nc: NatsConnection;
  let sse: SseClient;
  const template = randomName('tpl');
  const VM_OPERATOR_ENV = { VM_ACCELERATOR: 'tcg' };

  const dnsmasqPid = () =>
    Number(
      readFileSync(join(suite.vmRuntimeDir, 'network', suite.network.bridge, 'dnsmasq.pid'), 'utf8').trim(),
    );
  const bridgePorts = () => {
    const dir = `/sys/class/net/${suite.network.bridge}/brif`;
    return existsSync(dir) ? readdirSync(dir).sort() : [];
  };
  const getVm = async (id: string) => (await suite.request<VmDto>('GET', `/api/v1/vms/${id}`)).body;
  const listVms = async () => (await suite.request<VmDto[]>('GET', '/api/v1/vms')).body;
  const addressEvents = (id: string) =>
    sse.messages.filter((m) => m.data.type === VmEvents.ADDRESS_CHANGED && m.data.subject === id);
  const restartVmOperator = async (env: Record<string, string> = {}) => {
    await suite.process('vm-operator').stop('SIGTERM');
    await suite.startService('vm-operator', { ...VM_OPERATOR_ENV, ...env });
  };

  /** Attaches a fresh copy of the bootable test guest as the VM's first disk, as volume-daemon would. */
  const attachGuest = async (vmId: string) => {
    const guest = await buildBootableGuest(join(suite.diskDir, vmId), { vmwareTraits: false });
    const deviceId = `vol-${randomUUID()}`;
    const path = join(suite.diskDir, `${deviceId}.qcow2`);
    await runCommand('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', guest.path, path], 60_000);
    const reply = await nc.request(
      DeviceSubjects.ATTACH,
      JSON.stringify({ vmId, deviceId, path, format: 'qcow2', readOnly: false }),
      { timeout: 15_000 },
    );
    const attached = reply.json<{ data?: AttachedDeviceDto; error?: RpcErrorBody }>();
    expect(attached.error).toBeUndefined();
    return deviceId;
  };

  const waitForConsole = (id: string, pattern: RegExp) =>
    eventually(
      async () => {
        const res = await suite.request<VmConsoleDto>('GET', `/api/v1/vms/${id}/console`);
        return pattern.test(res.body.text) ? res.body.text : undefined;
      },
      BOOT_TIMEOUT_MS,
      `${pattern} on the console of VM ${id}`,
    );

  beforeAll(async () => {
    suite = await Suite.start(['gateway']);
    await suite.startService('vm-operator', VM_OPERATOR_ENV);
    nc = await connect({ servers: suite.nats.url });
    expect(
      (
        await suite.request('POST', '/api/v1/templates', {
          body: { name: template, cpu_count: 1, ram_amount: 256 },
        })
      ).status,
    ).toBe(201);
    sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?type=${VmEvents.ADDRESS_CHANGED}`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
    expect(sse.status).toBe(200);
  });

  afterAll(async () => {
    sse?.close();
    await nc?.close();
    await suite?.dispose();
  });

  it(
    "gives a VM's default NIC a DHCP address on the bridge: the guest prints it and local_ip shows it",
    async () => {
      const created = await suite.request<VmDto>('POST', '/api/v1/vms', { body: { template } });
      expect(created.status).toBe(201);
      const vm = created.body;
      expect(vm.nics).toHaveLength(1);
      expect(vm.nics[0]).toEqual({
        mac: expect.stringMatching(/^52:54:00(:[0-9a-f]{2}){3}$/),
        model: 'virtio-net-pci',
        ip: null,
      });
      expect(vm.local_ip).toBeNull();
      const mac = vm.nics[0]!.mac;
      const deviceId = await attachGuest(vm.id);

      expect((await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`)).status).toBe(202);
      await suite.waitForVmState(vm.id, 'running', BOOT_TIMEOUT_MS);
      // The bridge is up with the suite's address, and the VM's tap is on it.
      const addr = await runCommand('ip', ['-4', '-o', 'addr', 'show', 'dev', suite.network.bridge], 10_000);
      expect(addr).toContain(`inet ${suite.network.cidr}`);
      expect(bridgePorts()).toHaveLength(1);

      const console = await waitForConsole(vm.id, NET_RESULT);
      expect(console).not.toContain(NET_FAIL_MARKER);
      const printed = guestAddress(console, 'eth0');
      expect(printed?.split('.').slice(0, 3)).toEqual(suite.network.cidr.split('.').slice(0, 3));

      const seen = await eventually(
        async () => {
          const now = await getVm(vm.id);
          return now.local_ip ? now : undefined;
        },
        30_000,
        `local_ip of VM ${vm.id}`,
      );
      expect(seen.local_ip).toBe(printed);
      expect(seen.nics).toEqual([{ mac, model: 'virtio-net-pci', ip: printed }]);
      const event = await sse.waitFor(
        (m) => m.data.type === VmEvents.ADDRESS_CHANGED && m.data.subject === vm.id,
        30_000,
      );
      expect(event.data.data).toEqual({
        id: vm.id,
        mac,
        local_ip: printed ?? null,
        previous: null,
      } satisfies VmAddressChange);
      // A guest with a network is a server: it stays up.
      expect((await getVm(vm.id)).state).toBe('running');

      // VMs and their DHCP outlive vm-operator: a restart adopts dnsmasq and keeps the address.
      const dnsmasq = dnsmasqPid();
      await restartVmOperator();
      expect(dnsmasqPid()).toBe(dnsmasq);
      expect(isProcessRunning(dnsmasq)).toBe(true);
      expect(await getVm(vm.id)).toMatchObject({ state: 'running', local_ip: printed });

      // A stopped VM has no address.
      expect((await suite.request('POST', `/api/v1/vms/${vm.id}/actions/stop`)).status).toBe(202);
      const stopped = await suite.waitForVmState(vm.id, 'stopped');
      expect(stopped.local_ip).toBeNull();
      expect(stopped.nics).toEqual([{ mac, model: 'virtio-net-pci', ip: null }]);
      const cleared = await sse.waitFor(
        (m) => m.data.subject === vm.id && (m.data.data as VmAddressChange).local_ip === null,
        30_000,
      );
      expect(cleared.data.data).toEqual({ id: vm.id, mac, local_ip: null, previous: printed });
      expect(addressEvents(vm.id)).toHaveLength(2);
      // The tap stays for the next start; a delete takes it away, and frees the MAC. (The disk is
      // detached first, as volume-daemon would: this suite runs none.)
      expect(bridgePorts()).toHaveLength(1);
      const detached = await nc.request(DeviceSubjects.DETACH, JSON.stringify({ vmId: vm.id, deviceId }), {
        timeout: 15_000,
      });
      expect(detached.json<{ error?: RpcErrorBody }>().error).toBeUndefined();
      expect((await suite.request('DELETE', `/api/v1/vms/${vm.id}`)).status).toBe(204);
      expect(bridgePorts()).toEqual([]);
      const again = await suite.request<VmDto>('POST', '/api/v1/vms', {
        body: { template, nics: [{ mac }] },
      });
      expect([again.status, again.body.nics?.[0]?.mac]).toEqual([201, mac]);
    },
    BOOT_TEST_TIMEOUT_MS,
  );

  it('gives a VM created with nics: [] no NIC at all', async () => {
    const vm = await suite.createVm(template, 'running', undefined, []);
    expect(vm.nics).toEqual([]);
    const running = await getVm(vm.id);
    const cmdline = readFileSync(`/proc/${running.pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).not.toContain('-netdev');
    expect(running.local_ip).toBeNull();
    expect((await suite.request('DELETE', `/api/v1/vms/${vm.id}`)).status).toBe(204);
  });

  it('refuses a bad MAC with 400 problem+json and creates nothing', async () => {
    const before = (await listVms()).length;
    for (const nics of [
      [{ mac: '01:00:5e:00:00:01' }],
      [{ mac: '52-54-00-12-34-56' }],
      [{ mac: '52:54:00:zz:34:56' }],
      [{ mac: '52:54:00:12:34:56' }, { mac: '52:54:00:12:34:56' }],
      [{ model: 'e1000' }],
      'eth0',
    ]) {
      const res = await suite.request<Problem>('POST', '/api/v1/vms', { body: { template, nics } });
      expect([JSON.stringify(nics), res.status, res.body.code]).toEqual([
        JSON.stringify(nics),
        400,
        'VALIDATION',
      ]);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body.errors?.some((e) => e.field.startsWith('nics'))).toBe(true);
    }
    expect((await listVms()).length).toBe(before);
  });

  it('refuses a MAC another VM has with 409, whatever its case', async () => {
    const mac = '52:54:00:AB:CD:EF';
    const first = await suite.request<VmDto>('POST', '/api/v1/vms', { body: { template, nics: [{ mac }] } });
    expect(first.status).toBe(201);
    expect(first.body.nics).toEqual([{ mac: mac.toLowerCase(), model: 'virtio-net-pci', ip: null }]);
    const before = (await listVms()).length;
    const second = await suite.request<Problem>('POST', '/api/v1/vms', {
      body: { template, name: randomName('dup'), nics: [{}, { mac: mac.toLowerCase() }] },
    });
    expect([second.status, second.body.code]).toEqual([409, 'CONFLICT']);
    expect(second.body.detail).toContain(mac.toLowerCase());
    expect((await listVms()).length).toBe(before);
  });

  it('never falls back: under none, NICs are 422 naming the setting; a bridge that cannot be made fails the start', async () => {
    await restartVmOperator({ VM_NETWORK_MODE: 'none' });
    try {
      const refused = await suite.request<Problem>('POST', '/api/v1/vms', { body: { template, nics: [{}] } });
      expect([refused.status, refused.body.code]).toEqual([422, 'UNPROCESSABLE']);
      expect(refused.body.detail).toContain('VM_NETWORK_MODE=none');
      const plain = await suite.request<VmDto>('POST', '/api/v1/vms', { body: { template } });
      expect([plain.status, plain.body.nics]).toEqual([201, []]);
    } finally {
      await restartVmOperator();
    }

    // `lo` is no bridge: bridge mode cannot work there, and the start says which setting to change.
    const vm = await suite.createVm(template, 'stopped');
    await restartVmOperator({ VM_NETWORK_BRIDGE: 'lo' });
    try {
      expect((await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`)).status).toBe(202);
      const failed = await suite.waitForVmState(vm.id, 'error');
      expect(failed.last_error).toMatch(/interface "lo" exists and is not a bridge; set VM_NETWORK_BRIDGE/);
      expect(failed.pid).toBeNull();
    } finally {
      await restartVmOperator();
    }
  });
});
