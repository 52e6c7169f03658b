import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostDto, ServiceName } from '@ferry/contracts';
import { SERVICE_NAMES } from '@ferry/contracts';
import { inboxPrefixOf, natsPasswordVariable, parseNatsUrl } from '@ferry/platform';
import {
  ManagedProcess,
  NatsCertificates,
  NatsServerProcess,
  VcsimProcess,
  eventually,
  freePort,
  randomName,
} from '@ferry/testing';
import type { NatsError } from 'nats';
import { connect } from 'nats';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';

const CONFIG = join(__dirname, '../../deploy/nats/nats.conf');
const CLUSTER_CONF = join(__dirname, '../../deploy/nats/cluster.conf');
const TLS_CONF = join(__dirname, '../../deploy/nats/tls.conf');

/**
 * The production NATS configuration (TLS on, with a throwaway CA), one user per service, with the whole
 * suite running on it.
 */
describe('deploy/nats/nats.conf: per-service users and permissions', () => {
  let suite: Suite;
  const certs = NatsCertificates.make();
  /** Connects as `service` would: its user, over TLS, with its own inbox prefix. */
  const connectAs = (service: ServiceName) =>
    connect({
      ...parseNatsUrl(suite.natsUrlFor(service)),
      tls: { caFile: certs.caFile },
      inboxPrefix: inboxPrefixOf(service),
    });
  // Letters first: NATS reads a variable's value as a config token, so "3e5f…" would become a number.
  const passwords = Object.fromEntries(
    SERVICE_NAMES.map((s) => [s, `p${randomBytes(12).toString('hex')}`]),
  ) as Record<ServiceName, string>;
  const natsEnv = Object.fromEntries(SERVICE_NAMES.map((s) => [natsPasswordVariable(s), passwords[s]]));

  beforeAll(async () => {
    suite = await Suite.start(
      [...SERVICE_NAMES],
      {},
      {
        natsConfig: CONFIG,
        natsEnv: { ...natsEnv, SERVER_NAME: 'test' },
        natsUsers: passwords,
        natsIncludes: { 'tls.conf': certs.rewrite(readFileSync(TLS_CONF, 'utf8')) },
        natsCaFile: certs.caFile,
      },
    );
  });

  afterAll(async () => {
    await suite?.dispose();
    certs.dispose();
  });

  it('lets every service serve its ping and the gateway reach all of them', async () => {
    const res = await suite.request<{ status: string; services: Record<string, { status: string }> }>(
      'GET',
      '/api/v1/health',
      { key: null },
    );
    expect(res.body.services).toEqual(
      Object.fromEntries(
        SERVICE_NAMES.filter((s) => s !== 'gateway').map((s) => [
          s,
          expect.objectContaining({ status: 'ok' }),
        ]),
      ),
    );
    expect(res.status).toBe(200);
  });

  it('lets vm-operator publish its events and the gateway follow them', async () => {
    const name = randomName('perm');
    const sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?subject=${name}`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
    try {
      expect(sse.status).toBe(200);
      expect(
        (await suite.request('POST', '/api/v1/templates', { body: { name, cpu_count: 1, ram_amount: 64 } }))
          .status,
      ).toBe(201);
      await sse.waitFor((m) => m.data.type === 'ferry.vm-operator.template.created');
    } finally {
      sse.close();
    }
  });

  it('lets volume-daemon drive vm-operator and publish its events: a disk attached to a VM', async () => {
    const template = randomName('perm');
    await suite.request('POST', '/api/v1/templates', {
      body: { name: template, cpu_count: 1, ram_amount: 64 },
    });
    const vm = (await suite.request<{ id: string }>('POST', '/api/v1/vms', { body: { template } })).body;
    const disk = (
      await suite.request<{ id: string }>('POST', '/api/v1/disks', { body: { name: template, size: 1 } })
    ).body;
    const sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?subject=${disk.id}`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
    try {
      const op = await suite.request<{ id: string }>('POST', `/api/v1/disks/${disk.id}/attach`, {
        body: { vmId: vm.id },
      });
      expect(op.status).toBe(202);
      await sse.waitFor((m) => m.data.type === 'ferry.volume-daemon.disk.attached', 20_000);
    } finally {
      sse.close();
    }
  });

  it('lets cleanup drive vm-operator and volume-daemon: a test failover and its cleanup', async () => {
    const template = randomName('perm');
    await suite.request('POST', '/api/v1/templates', {
      body: { name: template, cpu_count: 1, ram_amount: 64 },
    });
    const appliance = await suite.createVm(template, 'stopped', Suite.APPLIANCE);
    const source = randomName('src');
    const disk = (
      await suite.request<{ id: string }>('POST', '/api/v1/disks', {
        body: { name: `${source}-disk0`, size: 1 },
      })
    ).body;
    const attached = await suite.request<{ id: string }>('POST', `/api/v1/disks/${disk.id}/attach`, {
      body: { vmId: appliance.id },
    });
    expect(await suite.waitForOperation(attached.body.id)).toMatchObject({ status: 'completed' });
    const sse = await SseClient.open(
      `${suite.gatewayUrl}/api/v1/events?type=ferry.cleanup.job.status-changed`,
      {
        authorization: `Bearer ${suite.adminKey}`,
      },
    );
    const reached = (to: string) =>
      sse.waitFor((m) => (m.data.data as { to: string; vm_name: string }).to === to, 30_000);
    try {
      const job = await suite.request<{ id: string }>('POST', `/api/v1/failover/test/${source}`, {
        body: { template },
      });
      expect(job.status).toBe(202);
      await reached('test_active');
      expect((await suite.request('POST', `/api/v1/failover/cleanup/${source}`)).status).toBe(202);
      await reached('cleanup_completed');
    } finally {
      sse.close();
    }
  }, 60_000);

  it('lets the observer list the records of vm-operator and volume-daemon in a sweep', async () => {
    const res = await suite.request<{ errors: string[]; checked: { vms: number } }>(
      'POST',
      '/api/v1/coherence/sweep',
    );
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([]);
    expect(res.body.checked.vms).toBeGreaterThan(0);
  });

  it("lets vm-operator ask host-capability whether this host has a template's required traits", async () => {
    const local = await eventually(
      async () =>
        (await suite.request<HostDto[]>('GET', '/api/v1/hosts')).body.find(
          (h) => h.local && h.status === 'ready',
        ),
      30_000,
      'the local host discovered',
    );
    const name = randomName('sev');
    const template = await suite.request('POST', '/api/v1/templates', {
      body: { name, cpu_count: 1, ram_amount: 64, required_traits: ['COMPUTE_SECURITY_AMD_SEV'] },
    });
    expect(template.status).toBe(201);
    const refused = await suite.request<{ detail: string }>('POST', '/api/v1/vms', {
      body: { template: name },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.detail).toContain(`host "${local.name}" cannot run VMs of template "${name}"`);
    expect(refused.body.detail).toContain('TRAIT_MISSING: COMPUTE_SECURITY_AMD_SEV');
  });

  it("lets volume-daemon open a vSphere export through the inspector: an import of a VM vCenter lacks is vCenter's 404", async () => {
    const vcsim = await VcsimProcess.start({ vms: 1 });
    try {
      await suite.processes.get('inspector')!.stop();
      await suite.startService('inspector', { INSPECTOR_VSPHERE_CA_FILE: vcsim.caFile });
      const credentials = { url: vcsim.url, username: vcsim.username, password: vcsim.password };
      const r = await suite.request<{ detail: string }>('POST', '/api/v1/disks/import', {
        body: {
          source: { type: 'vsphere', VcenterCredentials: credentials, vmId: 'vm-999999', disk: '2000' },
          attach_to: null,
        },
      });
      // Not a timeout (a publish the broker refused) nor a 503: the inspector looked the VM up.
      expect([r.status, r.body.detail]).toEqual([404, expect.stringMatching(/vm-999999.*not found/)]);
    } finally {
      await vcsim.stop();
    }
  });

  it("lets a migration's calls through: cleanup to the inspector and host-capability, the inspector to volume-daemon", async () => {
    const vcsim = await VcsimProcess.start({ vms: 1 });
    const nc = await connectAs('cleanup');
    try {
      await suite.processes.get('inspector')!.stop();
      await suite.startService('inspector', { INSPECTOR_VSPHERE_CA_FILE: vcsim.caFile });
      const ask = async (subject: string, body: unknown) =>
        JSON.parse(
          new TextDecoder().decode(
            (await nc.request(subject, new TextEncoder().encode(JSON.stringify(body)), { timeout: 30_000 }))
              .data,
          ),
        ) as { data?: Record<string, unknown>; error?: { code: string; message: string } };
      const credentials = { url: vcsim.url, username: vcsim.username, password: vcsim.password };
      // The gateway → cleanup → inspector (vSphere facts): vCenter's own 404 for a VM it lacks.
      const m = await suite.request<{ detail: string }>('POST', '/api/v1/migrations', {
        body: { source: { VcenterCredentials: credentials, vmId: 'vm-999999' }, mode: 'plan' },
      });
      expect([m.status, m.body.detail]).toEqual([404, expect.stringMatching(/vm-999999.*not found/)]);
      // cleanup → inspector.vsphere.power and → host-capability's placement: answered, not refused.
      const power = await ask('inspector.vsphere.power', {
        VcenterCredentials: credentials,
        vmId: 'vm-999999',
        state: 'poweredOff',
      });
      expect(power.error?.code).toBe('NOT_FOUND');
      const placed = await ask('host-capability.placement.candidates', { resources: { VCPU: 1 } });
      expect(placed.data?.['candidates']).toBeDefined();
      // cleanup → inspector.guest.inspect, whose job asks volume-daemon.disk.get: a disk it lacks fails the job.
      const id = randomUUID();
      const job = await ask('inspector.guest.inspect', { id, disks: [{ diskId: randomUUID() }] });
      expect(job.data?.['id']).toBe(id);
      const failed = await eventually(
        async () => {
          const got = await ask('inspector.guest.get', { id });
          return got.data?.['state'] === 'failed' ? got.data : undefined;
        },
        30_000,
        'the guest inspection failed',
      );
      expect(String(failed['error'])).toMatch(/not found/);
    } finally {
      await nc.close().catch(() => undefined);
      await vcsim.stop();
    }
  });

  it('refuses a service subjects that are not its own', async () => {
    const nc = await connectAs('host-capability');
    try {
      // host-capability may not call cleanup, even though cleanup is up and would answer.
      await expect(
        nc.request('cleanup.health.ping', new TextEncoder().encode('{}'), { timeout: 1500 }),
      ).rejects.toMatchObject(publishViolation('cleanup.health.ping'));
      // Nor publish events in another service's name.
      const js = nc.jetstream();
      await expect(
        js.publish('events.vm-operator.template.created', '{}', { timeout: 1500 }),
      ).rejects.toThrow();
    } finally {
      await nc.close().catch(() => undefined);
    }
    const wrong = connect({
      servers: `tls://127.0.0.1:${suite.nats.port}`,
      tls: { caFile: certs.caFile },
      user: 'gateway',
      pass: 'wrong',
      maxReconnectAttempts: 0,
    });
    await expect(wrong).rejects.toThrow(/Authorization/i);
  });
  it('refuses a client that does not speak TLS, before it may log in', async () => {
    const socket = createConnection(suite.nats.port, '127.0.0.1');
    try {
      let said = '';
      socket.on('data', (chunk: Buffer) => (said += chunk.toString()));
      await eventually(async () => said.includes('\r\n') || undefined, 5000, 'INFO');
      expect(JSON.parse(said.slice('INFO '.length, said.indexOf('\r\n')))).toMatchObject({
        tls_required: true,
      });
      const user = { user: 'gateway', pass: passwords.gateway, verbose: false, pedantic: false };
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.write(`CONNECT ${JSON.stringify(user)}\r\nPING\r\n`);
      // The broker wanted a TLS handshake: it hangs up without a PONG and says why in its log.
      await closed;
      expect(said).not.toMatch(/PONG|\+OK/);
      await suite.nats.waitForLog(
        /TLS handshake error: tls: first record does not look like a TLS handshake/,
      );
    } finally {
      socket.destroy();
    }
  });

  it('refuses the gateway a request it never makes: vm-operator.device.attach (volume-daemon makes it)', async () => {
    const nc = await connectAs('gateway');
    try {
      await expect(
        nc.request('vm-operator.device.attach', new TextEncoder().encode('{}'), { timeout: 1500 }),
      ).rejects.toMatchObject(publishViolation('vm-operator.device.attach'));
    } finally {
      await nc.close().catch(() => undefined);
    }
  });

  it("keeps each service's replies to itself: the inspector may not read the gateway's inbox", async () => {
    const nc = await connectAs('inspector');
    try {
      for (const inbox of [`${inboxPrefixOf('gateway')}.>`, '_INBOX.>']) {
        const refused = await new Promise<NatsError>((resolve) => {
          nc.subscribe(inbox, { callback: (err) => err && resolve(err) });
        });
        expect(refused).toMatchObject({
          code: 'PERMISSIONS_VIOLATION',
          message: expect.stringContaining(`Permissions Violation for Subscription to "${inbox}"`),
        });
      }
    } finally {
      await nc.close().catch(() => undefined);
    }
  });

  it('refuses a route that does not log in with the cluster credentials', async () => {
    const routePort = await freePort();
    const routeEnv = { NATS_ROUTE_USER: 'route', NATS_ROUTE_PASSWORD: `r${randomBytes(12).toString('hex')}` };
    // deploy/nats/cluster.conf (route TLS with the test CA) on a free port; its own route leads nowhere
    // (JetStream wants one), so only the peers below may join.
    const cluster = certs
      .rewrite(readFileSync(CLUSTER_CONF, 'utf8'))
      .replace(/port: 6222/, `port: ${routePort}\n  routes: [nats://127.0.0.1:${await freePort()}]`);
    const node = await NatsServerProcess.start({
      config: CONFIG,
      env: { ...natsEnv, ...routeEnv, SERVER_NAME: 'routes' },
      includes: { 'cluster.conf': cluster, 'tls.conf': certs.rewrite(readFileSync(TLS_CONF, 'utf8')) },
      monitor: true,
    });
    const dir = mkdtempSync(join(tmpdir(), 'ferry-peer-'));
    const peer = async (name: string, route: string) => {
      const file = join(dir, `${name}.conf`);
      // Route TLS with the same CA and certificate: only the route credentials are missing or given.
      const tls = ['ca.pem', 'server.pem', 'server-key.pem'].map((f) => JSON.stringify(join(certs.dir, f)));
      writeFileSync(
        file,
        [
          'listen: 127.0.0.1:-1',
          `server_name: ${name}`,
          'cluster {',
          '  name: ferry',
          '  listen: 127.0.0.1:-1',
          `  tls { ca_file: ${tls[0]}, cert_file: ${tls[1]}, key_file: ${tls[2]}, verify: true }`,
          `  routes: [${route}]`,
          '}',
        ].join('\n'),
      );
      const p = new ManagedProcess(
        name,
        spawn('nats-server', ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'] }),
      );
      await p.waitFor(/Server is ready/, 15_000);
      return p;
    };
    const routes = async () =>
      ((await (await fetch(`http://127.0.0.1:${node.monitorPort}/routez`)).json()) as { num_routes: number })
        .num_routes;
    try {
      const intruder = await peer('intruder', `nats://127.0.0.1:${routePort}`);
      await node.waitForLog(/Router connection closed: Authentication Failure/);
      expect(await routes()).toBe(0);
      await intruder.stop();
      const { NATS_ROUTE_USER: user, NATS_ROUTE_PASSWORD: password } = routeEnv;
      const member = await peer('member', `nats://${user}:${password}@127.0.0.1:${routePort}`);
      await eventually(async () => (await routes()) === 1 || undefined, 10_000, 'the member routed');
      await member.stop();
    } finally {
      await node.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** What nats.js reports when the broker refuses a publish: the violation itself, not a timeout. */
function publishViolation(subject: string) {
  return {
    code: 'PERMISSIONS_VIOLATION',
    message: expect.stringContaining(`Permissions Violation for Publish to "${subject}"`),
  };
}
