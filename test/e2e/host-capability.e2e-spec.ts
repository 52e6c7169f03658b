import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type {
  CapabilityHistoryDto,
  CapabilitySnapshotDto,
  HostDto,
  PlacementResultDto,
  RefreshAcceptedDto,
  SeedHostCapabilityData,
  TraitDto,
  VmDto,
} from '@ferry/contracts';
import { eventually, randomName } from '@ferry/testing';
import { SseClient } from '../support/sse';
import { Suite } from '../support/suite';

/**
 * Seed 003 through the gateway: hosts discovered for real (the local driver on this machine, libvirt's
 * test:///default through virsh), versioned capabilities, refresh, history, traits, placement, and
 * vm-operator refusing a template whose required traits this host lacks.
 */
describe('host-capability (real discovery)', () => {
  let suite: Suite;
  let sse: SseClient;
  const localName = randomName('h');
  /** host-capability runs QEMU through this wrapper: while `noVirtio` exists, `-device help` lists no virtio-net-pci (a QEMU built without it). */
  const tools = mkdtempSync('/tmp/fh-');
  const noVirtio = join(tools, 'no-virtio');
  let local: HostDto;

  beforeAll(async () => {
    const wrapper = join(tools, 'qemu');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ -e ${noVirtio} ] && [ "$1" = "-device" ]; then\n  qemu-system-x86_64 "$@" | grep -v '"virtio-net-pci"'\n  exit 0\nfi\nexec qemu-system-x86_64 "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    suite = await Suite.start(['gateway']);
    sse = await SseClient.open(`${suite.gatewayUrl}/api/v1/events?type=ferry.host-capability.`, {
      authorization: `Bearer ${suite.adminKey}`,
    });
    await suite.startService('host-capability', {
      HOST_CAPABILITY_LOCAL_HOST_NAME: localName,
      QEMU_BINARY: wrapper,
      VOLUME_STORAGE_DIR: suite.diskDir,
    });
    await suite.startService('vm-operator', { VM_HOST_NAME: localName });
  }, 90_000);

  afterAll(async () => {
    sse?.close();
    await suite?.dispose();
    rmSync(tools, { recursive: true, force: true });
  });

  const hosts = async (): Promise<HostDto[]> => (await suite.request<HostDto[]>('GET', '/api/v1/hosts')).body;
  const host = async (id: string): Promise<HostDto> =>
    (await suite.request<HostDto>('GET', `/api/v1/hosts/${id}`)).body;
  const ready = (id: string, timeoutMs = 60_000): Promise<HostDto> =>
    eventually(
      async () => {
        const h = await host(id);
        return h.status === 'ready' && !h.refreshing ? h : undefined;
      },
      timeoutMs,
      `host ${id} ready`,
    );
  /** Ferry's facts document (`?view=facts`); `query` adds to it, e.g. `&version=1`. */
  const capabilities = async (id: string, query = ''): Promise<CapabilitySnapshotDto> => {
    const res = await suite.request<CapabilitySnapshotDto>(
      'GET',
      `/api/v1/hosts/${id}/capabilities?view=facts${query}`,
    );
    expect(res.status).toBe(200);
    return res.body;
  };
  const place = async (body: object) =>
    suite.request<PlacementResultDto>('POST', '/api/v1/placement/candidates', { body });
  const register = (name: string, uri: string) =>
    suite.request<HostDto>('POST', '/api/v1/hosts', { body: { name, uri } });

  it('registers this machine at start-up and discovers it with the local driver', async () => {
    const found = (await hosts()).find((h) => h.name === localName);
    expect(found).toMatchObject({ uri: 'local', driver: 'local', local: true });
    local = await ready(found!.id);
    expect(local.capability_version).toBe(1);
    const caps = await capabilities(local.id);
    expect(caps).toMatchObject({ host_id: local.id, version: 1, driver: 'local' });
    expect(caps.data.host.logical_cpus).toEqual({ value: cpus().length, source: '/proc/cpuinfo' });
    expect(caps.data.storage.image_formats.value).toEqual(expect.arrayContaining(['qcow2', 'raw']));
    expect(caps.data.network.virtio_net.value).toBe(true);
    // Unknown is null with a reason, never false.
    expect(caps.data.storage.pool_types.value).toBeNull();
    expect(caps.data.storage.pool_types.reason).toEqual(expect.any(String));
    expect(local.traits).toEqual(
      expect.arrayContaining(['COMPUTE_STORAGE_QCOW2', 'COMPUTE_NET_VIRTIO', 'COMPUTE_ACCELERATORS_TCG']),
    );
    expect(local.inventory.VCPU).toMatchObject({ total: cpus().length, allocation_ratio: 4 });
    expect(local.inventory.MEMORY_MB!.total).toBe(caps.data.memory.total_mb.value);
    await sse.waitFor(
      (m) => m.data.type === 'ferry.host-capability.capabilities.changed' && m.data.subject === local.id,
    );
  });

  it('serves seed 003’s HostCapabilityData by default: the seed’s keys and plain values, null when unknown', async () => {
    const facts = await capabilities(local.id);
    const res = await suite.request<SeedHostCapabilityData>('GET', `/api/v1/hosts/${local.id}/capabilities`);
    expect(res.status).toBe(200);
    const seed = res.body;
    expect(Object.keys(seed).sort()).toEqual(
      [
        'cpu_info',
        'host_info',
        'memory_info',
        'network_info',
        'security_info',
        'storage_info',
        'virt_info',
      ].sort(),
    );
    expect(Object.keys(seed.host_info).sort()).toEqual(
      [
        'architecture',
        'cores',
        'cpus',
        'memory',
        'mhz',
        'model',
        'nodes',
        'sockets',
        'threads',
        'vendor',
        'version',
      ].sort(),
    );
    expect(seed.host_info.cpus).toBe(cpus().length);
    expect(seed.host_info.memory).toBe(facts.data.memory.total_mb.value! * 1024);
    expect(seed.memory_info.total).toBe(facts.data.memory.total_mb.value! * 1024 * 1024);
    expect(seed.storage_info.formats).toEqual(expect.arrayContaining(['qcow2', 'raw']));
    expect(seed.network_info.virtio).toBe(true);
    // Plain values, not facts: no `{value, source}` anywhere.
    expect(JSON.stringify(seed)).not.toContain('"source"');
    // Unknown is null (the local driver has no libvirt pools; Ferry never records MHz).
    expect(seed.storage_info.pools).toBeNull();
    expect(seed.host_info.mhz).toBeNull();
    expect(seed.virt_info.supported_guests).toEqual(facts.data.virtualization.domain_types.value);
    const v1 = await suite.request<SeedHostCapabilityData>(
      'GET',
      `/api/v1/hosts/${local.id}/capabilities?version=${facts.version}&view=seed`,
    );
    expect(v1.body).toEqual(seed);

    // The OpenAPI document says which view is which.
    const doc = await suite.request<{
      paths: Record<string, { get: { parameters: { name: string; schema?: { enum?: string[] } }[] } }>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    }>('GET', '/api/openapi.json');
    const op = doc.body.paths['/api/v1/hosts/{hostId}/capabilities']!.get;
    expect(op.parameters.find((p) => p.name === 'view')?.schema?.enum).toEqual(['seed', 'facts']);
    expect(JSON.stringify(op)).toMatch(/view=facts.*\{value, source, reason\?\}/);
    expect(Object.keys(doc.body.components.schemas['SeedHostCapabilityData']?.properties ?? {})).toHaveLength(
      7,
    );
  });

  it('registers a libvirt host without waiting for its discovery, then discovers it through virsh', async () => {
    const res = await register(randomName('lv'), 'test:///default');
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/v1/hosts/${res.body.id}`);
    expect(['pending', 'discovering']).toContain(res.body.status);
    expect(res.body.capability_version).toBeNull();
    const h = await ready(res.body.id);
    const caps = await capabilities(h.id);
    expect(caps.driver).toBe('libvirt');
    // Seed 003's client reads the same facts as HostCapabilityData, by default.
    const seed = await suite.request<SeedHostCapabilityData>('GET', `/api/v1/hosts/${h.id}/capabilities`);
    expect(seed.status).toBe(200);
    expect(seed.body.host_info).toMatchObject({ architecture: 'i686', nodes: 2 });
    // The test driver's own host: i686, two NUMA cells.
    expect(caps.data.host.arch.value).toBe('i686');
    expect(caps.data.host.numa_nodes.value).toBe(2);
    expect(caps.data.host.arch.source).toContain('virsh capabilities');
    expect(h.traits).toContain('HW_NUMA_ROOT');
    await sse.waitFor(
      (m) => m.data.type === 'ferry.host-capability.host.registered' && m.data.subject === h.id,
    );
  });

  it('refreshes at most once at a time, writes no version when nothing changed, and records what changed', async () => {
    const before = await capabilities(local.id);
    const two = await Promise.all(
      [1, 2].map(() =>
        suite.request<RefreshAcceptedDto>('POST', `/api/v1/hosts/${local.id}/capabilities/refresh`),
      ),
    );
    expect(two.map((r) => r.status)).toEqual([202, 202]);
    expect(two.map((r) => r.body.started).sort()).toEqual([false, true]);
    await ready(local.id);
    const same = await capabilities(local.id);
    expect(same.version).toBe(before.version);
    expect(Date.parse(same.confirmed_at)).toBeGreaterThan(Date.parse(before.confirmed_at));

    // QEMU on the host changes: virtio-net is gone.
    writeFileSync(noVirtio, '');
    try {
      const res = await suite.request<RefreshAcceptedDto>(
        'POST',
        `/api/v1/hosts/${local.id}/capabilities/refresh`,
      );
      expect(res.body.started).toBe(true);
      const changed = await eventually(
        async () => {
          const h = await host(local.id);
          return h.capability_version === before.version + 1 ? h : undefined;
        },
        60_000,
        'version 2',
      );
      expect(changed.traits).not.toContain('COMPUTE_NET_VIRTIO');
      const event = await sse.waitFor(
        (m) =>
          m.data.type === 'ferry.host-capability.capabilities.changed' &&
          (m.data.data as { version: number }).version === before.version + 1,
      );
      expect(event.data.data).toMatchObject({
        host_id: local.id,
        previous_version: before.version,
        traits_removed: ['COMPUTE_NET_VIRTIO'],
        traits_added: [],
      });
      const history = (
        await suite.request<CapabilityHistoryDto>('GET', `/api/v1/hosts/${local.id}/capabilities/history`)
      ).body;
      expect(history.versions.map((v) => v.version)).toEqual([before.version + 1, before.version]);
      const latest = history.versions[0]!;
      expect(latest.traits_removed).toEqual(['COMPUTE_NET_VIRTIO']);
      expect(latest.changes.map((c) => c.path)).toEqual(
        expect.arrayContaining(['network.nic_models', 'network.virtio_net']),
      );
      expect(latest.changes.find((c) => c.path === 'network.virtio_net')).toMatchObject({
        from: { value: true },
        to: { value: false },
      });
      // The old version is still there as it was.
      const old = await capabilities(local.id, `&version=${before.version}`);
      expect(old.data.network.virtio_net.value).toBe(true);
      expect(old.traits).toContain('COMPUTE_NET_VIRTIO');
    } finally {
      rmSync(noVirtio, { force: true });
    }
    await suite.request('POST', `/api/v1/hosts/${local.id}/capabilities/refresh`);
    await eventually(
      async () => ((await host(local.id)).traits.includes('COMPUTE_NET_VIRTIO') ? true : undefined),
      60_000,
      'virtio back',
    );
  });

  it('marks an unreachable host with the reason and keeps serving', async () => {
    const res = await register(randomName('gone'), 'qemu+ssh://127.0.0.1:1/system?no_tty=1');
    expect(res.status).toBe(201);
    const h = await eventually(
      async () => {
        const got = await host(res.body.id);
        return got.status === 'unreachable' ? got : undefined;
      },
      30_000,
      'unreachable',
    );
    expect(h.status_reason).toMatch(/connect|refused/i);
    const caps = await suite.request('GET', `/api/v1/hosts/${h.id}/capabilities`);
    expect(caps.status).toBe(404);
    await sse.waitFor(
      (m) => m.data.type === 'ferry.host-capability.host.status-changed' && m.data.subject === h.id,
    );
    const health = await suite.request<{ services: Record<string, { status: string }> }>(
      'GET',
      '/api/v1/health',
    );
    // (Only some services run here, so the suite as a whole reports degraded.)
    expect(health.body.services['host-capability']).toMatchObject({ status: 'ok' });
    const result = (await place({ hosts: [h.name] })).body;
    expect(result.rejected[0]!.reasons[0]).toMatch(/^HOST_UNREACHABLE: /);
  });

  it('places with a fit and without one, giving every rejected host its reasons', async () => {
    const fit = await place({ resources: { VCPU: 1, MEMORY_MB: 64 }, required: ['COMPUTE_STORAGE_QCOW2'] });
    expect(fit.status).toBe(200);
    expect(fit.body.candidates.map((c) => c.host_name)).toContain(localName);
    expect(fit.body.strategy).toBe('spread');
    const none = await place({
      resources: { MEMORY_MB: 64 * 1024 * 1024 },
      required: ['COMPUTE_SECURITY_AMD_SEV'],
    });
    expect(none.body.candidates).toEqual([]);
    const reasons = none.body.rejected.find((r) => r.host_name === localName)!.reasons;
    expect(reasons).toEqual(
      expect.arrayContaining([
        'TRAIT_MISSING: COMPUTE_SECURITY_AMD_SEV',
        expect.stringMatching(/^INSUFFICIENT: MEMORY_MB \(requested 67108864, capacity \d+\)$/),
      ]),
    );
    const forbidden = await place({ hosts: [localName], forbidden: ['COMPUTE_ACCELERATORS_TCG'] });
    expect(forbidden.body.rejected[0]!.reasons).toEqual(['TRAIT_FORBIDDEN: COMPUTE_ACCELERATORS_TCG']);
    const unknownHost = await place({ hosts: ['nobody'] });
    expect(unknownHost.body.rejected).toEqual([
      { host_id: null, host_name: 'nobody', reasons: ['HOST_UNKNOWN: nobody is not registered'] },
    ]);
  });

  it('keeps the seed models: custom traits, resource classes, placement and QoS policies', async () => {
    const lv = (await hosts()).find((h) => h.driver === 'libvirt' && h.status === 'ready')!;
    const trait = await suite.request('POST', '/api/v1/traits', {
      body: { name: 'CUSTOM_GPU', description: 'has a GPU', host_ids: [lv.id] },
    });
    expect(trait.status).toBe(201);
    expect((await suite.request('POST', '/api/v1/traits', { body: { name: 'CUSTOM_GPU' } })).status).toBe(
      409,
    );
    expect((await host(lv.id)).traits).toContain('CUSTOM_GPU');
    const traits = (await suite.request<TraitDto[]>('GET', '/api/v1/traits')).body;
    expect(traits.find((t) => t.name === 'CUSTOM_GPU')).toEqual({
      name: 'CUSTOM_GPU',
      standard: false,
      description: 'has a GPU',
      hosts: 1,
    });
    expect(traits.find((t) => t.name === 'COMPUTE_STORAGE_QCOW2')).toMatchObject({ standard: true });
    expect((await place({ required: ['CUSTOM_GPU'] })).body.candidates.map((c) => c.host_name)).toEqual([
      lv.name,
    ]);

    const cls = await suite.request('POST', '/api/v1/resource-classes', {
      body: { name: 'gpu.small', resources: { VCPU: 1 }, traits: { required: ['CUSTOM_GPU'] } },
    });
    expect(cls.status).toBe(201);
    expect(cls.headers.get('location')).toBe('/api/v1/resource-classes/gpu.small');
    expect((await place({ resource_class: 'gpu.small' })).body.effective).toEqual({
      resources: { VCPU: 1 },
      required: ['CUSTOM_GPU'],
      forbidden: [],
    });
    const pack = await suite.request('POST', '/api/v1/placement-policies', {
      body: { name: 'pack', strategy: 'pack' },
    });
    expect(pack.status).toBe(201);
    const packed = (await place({ resources: { VCPU: 1 }, policy: 'pack' })).body;
    const spread = (await place({ resources: { VCPU: 1 } })).body;
    expect(packed.strategy).toBe('pack');
    expect(packed.candidates.map((c) => c.host_name)).toEqual(
      spread.candidates.map((c) => c.host_name).reverse(),
    );
    expect((await place({ policy: 'nope' })).status).toBe(422);

    const qos = await suite.request('POST', '/api/v1/qos-policies', {
      body: { name: 'gold', disk_read_iops_sec: 5000, cpu_shares: 2048 },
    });
    expect(qos.status).toBe(201);
    const replaced = await suite.request('PUT', '/api/v1/qos-policies/gold', {
      body: { disk_read_iops_sec: 8000 },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ name: 'gold', disk_read_iops_sec: 8000 });
    expect(replaced.body).not.toHaveProperty('cpu_shares');
    expect((await suite.request('GET', '/api/v1/qos-policies')).body).toHaveLength(1);
    expect((await suite.request('DELETE', '/api/v1/qos-policies/gold')).status).toBe(204);
    expect((await suite.request('GET', '/api/v1/qos-policies/gold')).status).toBe(404);

    const inUse = await suite.request<{ detail: string }>('DELETE', '/api/v1/traits/CUSTOM_GPU');
    expect(inUse.status).toBe(409);
    expect(inUse.body.detail).toContain('resource-class/gpu.small');
    expect((await suite.request('DELETE', '/api/v1/resource-classes/gpu.small')).status).toBe(204);
    expect((await suite.request('DELETE', '/api/v1/traits/CUSTOM_GPU')).status).toBe(204);
    expect((await host(lv.id)).traits).not.toContain('CUSTOM_GPU');
  });

  it('refuses to create a VM whose template needs traits this host lacks (422 with the reasons)', async () => {
    const needsSev = randomName('sev');
    const plain = randomName('qcow');
    for (const [name, traits] of [
      [needsSev, ['COMPUTE_SECURITY_AMD_SEV', 'COMPUTE_STORAGE_QCOW2']],
      [plain, ['COMPUTE_STORAGE_QCOW2']],
    ] as const) {
      const t = await suite.request('POST', '/api/v1/templates', {
        body: { name, cpu_count: 1, ram_amount: 64, required_traits: traits },
      });
      expect(t.status).toBe(201);
      expect(t.body).toMatchObject({ required_traits: traits });
    }
    const refused = await suite.request<{ detail: string; code: string }>('POST', '/api/v1/vms', {
      body: { template: needsSev },
    });
    expect(refused.status).toBe(422);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body.detail).toContain('TRAIT_MISSING: COMPUTE_SECURITY_AMD_SEV');
    expect(refused.body.detail).not.toContain('COMPUTE_STORAGE_QCOW2');
    const vms = (await suite.request<VmDto[]>('GET', '/api/v1/vms')).body;
    expect(vms.filter((v) => v.template === needsSev)).toEqual([]);
    const created = await suite.request<VmDto>('POST', '/api/v1/vms', { body: { template: plain } });
    expect(created.status).toBe(201);
  });

  it('answers bad input with a clear 4xx and records nothing', async () => {
    const before = await hosts();
    const cases: [string, string, object | undefined, number][] = [
      ['GET', `/api/v1/hosts/${randomUUID()}`, undefined, 404],
      ['GET', `/api/v1/hosts/${randomUUID()}/capabilities`, undefined, 404],
      ['POST', `/api/v1/hosts/${randomUUID()}/capabilities/refresh`, undefined, 404],
      ['GET', '/api/v1/hosts/kvm-01', undefined, 404],
      ['GET', '/api/v1/hosts/kvm-01/capabilities', undefined, 404],
      ['GET', '/api/v1/hosts/kvm-01/capabilities?view=facts', undefined, 404],
      ['POST', '/api/v1/hosts/kvm-01/capabilities/refresh', undefined, 404],
      ['GET', '/api/v1/hosts/a%0Ab', undefined, 400],
      ['GET', `/api/v1/hosts/${local.id}/capabilities?view=xml`, undefined, 400],
      ['POST', '/api/v1/traits', { name: 'CUSTOM_Y', host_ids: ['kvm-01'] }, 422],
      ['GET', `/api/v1/hosts/${local.id}/capabilities?version=abc`, undefined, 400],
      ['GET', `/api/v1/hosts/${local.id}/capabilities?version=999`, undefined, 404],
      ['POST', '/api/v1/hosts', { name: 'x1', uri: 'qemu+ssh://root:secret@kvm/system' }, 400],
      ['POST', '/api/v1/hosts', { name: 'x2', uri: 'http://kvm/system' }, 400],
      // libvirt would run /bin/sh, or skip the host-key check.
      ['POST', '/api/v1/hosts', { name: 'x6', uri: 'qemu+ext:///system?command=/bin/sh' }, 400],
      ['POST', '/api/v1/hosts', { name: 'x7', uri: 'qemu+ssh://kvm/system?no_verify=1' }, 400],
      ['POST', '/api/v1/hosts', { name: 'x3', uri: 'not a uri' }, 400],
      ['POST', '/api/v1/hosts', { name: 'bad name!', uri: 'test:///default' }, 400],
      ['POST', '/api/v1/hosts', { name: 'x4' }, 400],
      ['POST', '/api/v1/hosts', { name: localName, uri: 'test:///default' }, 409],
      ['POST', '/api/v1/hosts', { name: 'x5', uri: 'local' }, 409],
      ['POST', '/api/v1/placement/candidates', { required: ['HW_CPU_X86_AVX22'] }, 400],
      ['POST', '/api/v1/placement/candidates', { required: ['lower_case'] }, 400],
      ['POST', '/api/v1/placement/candidates', { resources: { MEMORY_MB: -1 } }, 400],
      ['POST', '/api/v1/placement/candidates', { resource_class: 'missing' }, 422],
      ['POST', '/api/v1/resource-classes', { name: 'r1', resources: { VCPU: 'two' } }, 400],
      [
        'POST',
        '/api/v1/resource-classes',
        { name: 'r2', resources: {}, traits: { required: ['CUSTOM_NOPE'] } },
        400,
      ],
      ['POST', '/api/v1/resource-classes', { name: 'r3', resources: {}, colour: 'red' }, 400],
      ['POST', '/api/v1/traits', { name: 'HW_CPU_X86_AVX2' }, 400],
      ['POST', '/api/v1/traits', { name: 'CUSTOM_X', host_ids: [randomUUID()] }, 422],
      ['PUT', '/api/v1/placement-policies/none', { strategy: 'spread' }, 404],
      ['POST', '/api/v1/placement-policies', { name: 'p1', strategy: 'random' }, 400],
    ];
    for (const [method, path, body, status] of cases) {
      const res = await suite.request<{ status: number }>(method, path, body ? { body } : {});
      expect({ method, path, body, status: res.status }).toEqual({ method, path, body, status });
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    expect(await hosts()).toHaveLength(before.length);
    for (const kind of ['resource-classes', 'placement-policies', 'qos-policies']) {
      const names = (await suite.request<{ name: string }[]>('GET', `/api/v1/${kind}`)).body.map(
        (i) => i.name,
      );
      expect(names.filter((n) => /^(r\d|p1|none)$/.test(n))).toEqual([]);
    }
    expect(
      (await suite.request<TraitDto[]>('GET', '/api/v1/traits')).body.filter((t) => t.name === 'CUSTOM_X'),
    ).toEqual([]);
  });

  it('unregisters a host', async () => {
    const res = await register(randomName('tmp'), 'test:///default');
    // Placement knows a host as soon as it is registered, before its discovery ends.
    expect((await place({ hosts: [res.body.name] })).body.rejected).not.toContainEqual(
      expect.objectContaining({ reasons: [expect.stringMatching(/^HOST_UNKNOWN/)] }),
    );
    await ready(res.body.id);
    const tag = await suite.request('POST', '/api/v1/traits', {
      body: { name: 'CUSTOM_TMP', host_ids: [res.body.id] },
    });
    expect(tag.status).toBe(201);
    expect((await suite.request('DELETE', `/api/v1/hosts/${res.body.id}`)).status).toBe(204);
    // Custom traits forget it: the trait has no host, and it can be saved as it now is.
    const trait = await suite.request<TraitDto>('GET', '/api/v1/traits/CUSTOM_TMP');
    expect(trait.body).toMatchObject({ hosts: 0 });
    expect((await suite.request('PUT', '/api/v1/traits/CUSTOM_TMP', { body: { host_ids: [] } })).status).toBe(
      200,
    );
    expect((await suite.request('GET', `/api/v1/hosts/${res.body.id}`)).status).toBe(404);
    expect((await place({ hosts: [res.body.name] })).body.rejected[0]!.reasons[0]).toMatch(/^HOST_UNKNOWN/);
  });

  it('refreshes every host periodically, and a refresh that finds the same facts writes no version', async () => {
    await suite.process('host-capability').stop();
    await suite.startService('host-capability', {
      HOST_CAPABILITY_LOCAL_HOST_NAME: localName,
      VOLUME_STORAGE_DIR: suite.diskDir,
      HOST_CAPABILITY_REFRESH_INTERVAL_MS: '1000',
    });
    const before = await hosts();
    // The restart registered nothing twice.
    expect(before.filter((h) => h.local).map((h) => h.id)).toEqual([local.id]);
    const lv = before.find((h) => h.driver === 'libvirt' && h.status === 'ready')!;
    const seen = new Set<string>();
    await eventually(
      async () => {
        const h = await host(lv.id);
        if (h.last_discovered_at) seen.add(h.last_discovered_at);
        return seen.size >= 3 ? h : undefined;
      },
      20_000,
      'two periodic refreshes',
    );
    const after = await host(lv.id);
    expect(after.capability_version).toBe(lv.capability_version);
    const history = (
      await suite.request<CapabilityHistoryDto>('GET', `/api/v1/hosts/${lv.id}/capabilities/history`)
    ).body;
    expect(history.versions).toHaveLength(1);
  });
});
