import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RpcErrorBody, ServiceName, VmDto, VmState, VolumeOperationDto } from '@ferry/contracts';
import { DeviceSubjects } from '@ferry/contracts';
import type { ManagedProcess } from '@ferry/testing';
import { Client } from 'pg';
import { connect } from 'nats';
import {
  NatsServerProcess,
  buildGuestImage,
  createTestDatabase,
  eventually,
  freePort,
  randomName,
  removeTestNetwork,
  spawnService,
  testNetwork,
} from '@ferry/testing';

export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  key?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface SuiteOptions {
  natsConfig?: string;
  natsEnv?: Record<string, string>;
  natsUsers?: Partial<Record<ServiceName, string>>;
  /** Texts of `natsConfig`'s includes, e.g. a tls.conf reading test certificates. */
  natsIncludes?: Record<string, string>;
  /** The CA of a broker that speaks TLS: services then connect to tls:// with NATS_TLS_CA_FILE. */
  natsCaFile?: string;
  /** Another Postgres server's admin URL (a private cluster a test may stop); default the shared one. */
  pgAdminUrl?: string;
}

/**
 * A whole Ferry on this machine for one test file: a private nats-server (so tests may restart it),
 * a fresh database, and real service processes started from dist/.
 */
export class Suite {
  readonly processes = new Map<ServiceName, ManagedProcess>();
  /** The vm-operator VM that cleanup treats as the appliance (CLEANUP_APPLIANCE_VM). */
  static readonly APPLIANCE = 'appliance';
  /** INSPECTOR_CREDENTIALS_KEY and CLEANUP_CREDENTIALS_KEY, shared by each service's replicas. */
  static readonly CREDENTIALS_KEY = randomBytes(32).toString('base64');
  readonly adminKey = `fry_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('base64url')}`;
  gatewayUrl = '';
  /** vm-operator's VM_RUNTIME_DIR; short, because QMP socket paths must fit in 107 bytes. */
  readonly vmRuntimeDir = mkdtempSync('/tmp/fv-');
  /** volume-daemon's VOLUME_STORAGE_DIR. */
  readonly diskDir = mkdtempSync('/tmp/fd-');
  /**
   * vm-operator's VM_NETWORK_BRIDGE and VM_NETWORK_CIDR: a bridge and subnet of this suite's own, so
   * suites on one host never share a DHCP server; dispose() takes them down with their dnsmasq.
   */
  readonly network = testNetwork();
  private port = 0;

  private constructor(
    readonly nats: NatsServerProcess,
    readonly db: Awaited<ReturnType<typeof createTestDatabase>>,
    private readonly gatewayEnv: Record<string, string>,
    private readonly natsUsers: Partial<Record<ServiceName, string>>,
    private readonly natsCaFile?: string,
  ) {}

  /**
   * `natsConfig`/`natsEnv`/`natsIncludes`: run the broker with a production nats.conf; `natsUsers`
   * (service → password) then makes each service connect as its own user, and `natsCaFile` over TLS.
   * A failed start cleans up after itself.
   */
  static async start(
    services: ServiceName[],
    gatewayEnv: Record<string, string> = {},
    options: SuiteOptions = {},
  ): Promise<Suite> {
    const nats = await NatsServerProcess.start({
      config: options.natsConfig,
      env: options.natsEnv,
      includes: options.natsIncludes,
    });
    const db = await createTestDatabase('ferry_e2e', options.pgAdminUrl);
    const suite = new Suite(nats, db, gatewayEnv, options.natsUsers ?? {}, options.natsCaFile);
    suite.port = await freePort();
    suite.gatewayUrl = `http://127.0.0.1:${suite.port}`;
    try {
      await Promise.all(services.map((s) => suite.startService(s)));
    } catch (err) {
      await suite.dispose();
      throw err;
    }
    return suite;
  }

  natsUrlFor(service: ServiceName): string {
    const password = this.natsUsers[service];
    const scheme = this.natsCaFile ? 'tls' : 'nats';
    return password
      ? `${scheme}://${service}:${password}@127.0.0.1:${this.nats.port}`
      : `${scheme}://127.0.0.1:${this.nats.port}`;
  }

  env(service: ServiceName): Record<string, string> {
    const base = {
      NATS_URL: this.natsUrlFor(service),
      DATABASE_URL: this.db.url,
      LOG_LEVEL: 'info',
      OUTBOX_POLL_MS: '200',
      SHUTDOWN_GRACE_MS: '3000',
      DB_POOL_SIZE: '4',
      ...(this.natsCaFile ? { NATS_TLS_CA_FILE: this.natsCaFile } : {}),
    };
    if (service === 'vm-operator')
      return {
        ...base,
        VM_RUNTIME_DIR: this.vmRuntimeDir,
        // volume-daemon's disks, and the images tests make themselves in the runtime directory.
        VM_STORAGE_DIRS: `${this.diskDir},${this.vmRuntimeDir}`,
        VM_POWERDOWN_GRACE_MS: '300',
        VM_NETWORK_BRIDGE: this.network.bridge,
        VM_NETWORK_CIDR: this.network.cidr,
        VM_NETWORK_LEASE_POLL_MS: '200',
      };
    if (service === 'volume-daemon')
      return {
        ...base,
        VOLUME_STORAGE_DIR: this.diskDir,
        VOLUME_RECOVERY_INTERVAL_MS: '500',
        VOLUME_BACKEND_RETRY_MS: '5000',
        VOLUME_BACKEND_TIMEOUT_MS: '15000',
      };
    if (service === 'cleanup')
      return {
        ...base,
        CLEANUP_APPLIANCE_VM: Suite.APPLIANCE,
        CLEANUP_RECOVERY_INTERVAL_MS: '500',
        CLEANUP_STEP_TIMEOUT_MS: '60000',
        CLEANUP_POWER_OFF_TIMEOUT_MS: '20000',
        // A migration's vCenter credentials, readable by a restarted cleanup.
        CLEANUP_CREDENTIALS_KEY: Suite.CREDENTIALS_KEY,
      };
    if (service === 'observer')
      return {
        ...base,
        VM_RUNTIME_DIR: this.vmRuntimeDir,
        VOLUME_STORAGE_DIR: this.diskDir,
        // Tests sweep on demand (POST /coherence/sweep) after the boot sweep, so that each sweep is one
        // they count; the interval is the default (at most 5 s, seed 004).
        OBSERVER_PERIODIC_SWEEPS: 'false',
      };
    // Its disk-capacity facts come from the suite's disk folder, never the machine's /var/lib/ferry.
    if (service === 'host-capability')
      return { ...base, VOLUME_STORAGE_DIR: this.diskDir, HOST_CAPABILITY_ALLOW_TEST_URIS: 'true' };
    if (service === 'inspector')
      return {
        ...base,
        INSPECTOR_POLL_INTERVAL_MS: '100',
        INSPECTOR_CREDENTIALS_KEY: Suite.CREDENTIALS_KEY,
        // The zero-cost work unit the seed-ordering, replica and crash tests queue.
        INSPECTOR_NOOP_SOURCE: 'true',
      };
    if (service !== 'gateway') return base;
    return {
      ...base,
      PORT: String(this.port),
      FERRY_ADMIN_API_KEY: this.adminKey,
      NATS_REQUEST_TIMEOUT_MS: '3000',
      API_KEY_CACHE_TTL_MS: '0',
      RATE_LIMIT_PER_SECOND: '1000',
      RATE_LIMIT_BURST: '1000',
      ...this.gatewayEnv,
    };
  }

  /** `extraEnv` adds to (or overrides) the service's usual environment, for this start only. */
  async startService(service: ServiceName, extraEnv: Record<string, string> = {}): Promise<ManagedProcess> {
    const proc = spawnService(service, { ...this.env(service), ...extraEnv });
    this.processes.set(service, proc);
    await proc.waitFor(/"msg":"ready"/);
    return proc;
  }

  /** Reads the suite's database directly: for checks the API does not show (claims, snapshot intents). */
  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: this.db.url });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  process(service: ServiceName): ManagedProcess {
    const p = this.processes.get(service);
    if (!p) throw new Error(`${service} was not started`);
    return p;
  }

  async request<T = unknown>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<HttpResult<T>> {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? this.adminKey : options.key;
    if (key) headers['authorization'] = `Bearer ${key}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${this.gatewayUrl}${path}`, { method, headers, body });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    return {
      status: res.status,
      headers: res.headers,
      body: (type.includes('json') && text ? JSON.parse(text) : text) as T,
    };
  }

  /** Polls GET /vms/{id} until the VM is in `state`; fails on a timeout, or on `error` when waiting for another state. */
  async waitForVmState(id: string, state: VmState, timeoutMs = 30_000): Promise<VmDto> {
    return eventually(
      async () => {
        const vm = (await this.request<VmDto>('GET', `/api/v1/vms/${id}`)).body;
        if (vm.state === 'error' && state !== 'error') throw new Error(`VM ${id} failed: ${vm.last_error}`);
        return vm.state === state ? vm : undefined;
      },
      timeoutMs,
      `VM ${id} ${state}`,
    );
  }

  /**
   * Creates a VM from `template` (named `name` if given), started and running when `state` says so.
   * `nics` as `POST /vms` takes it: omitted, one NIC with a generated MAC; `[]` for none (a bootable
   * test guest without a NIC powers off after its markers, one with a NIC stays up).
   */
  async createVm(
    template: string,
    state: 'running' | 'stopped',
    name?: string,
    nics?: { mac?: string }[],
  ): Promise<VmDto> {
    const res = await this.request<VmDto>('POST', '/api/v1/vms', { body: { template, name, nics } });
    if (res.status !== 201)
      throw new Error(`could not create a VM: ${res.status} ${JSON.stringify(res.body)}`);
    const created = res.body;
    if (state === 'running') {
      await this.request('POST', `/api/v1/vms/${created.id}/actions/start`);
      await this.waitForVmState(created.id, 'running');
    }
    return created;
  }

  /**
   * A VM (from a new template, 1 vCPU and 64 MiB) whose disk `deviceId` holds a small Debian root the
   * way a VMware guest leaves it: fstab by `/dev/disk/by-path/`, VMware tools, hostname `legacy-web`
   * (seed 001's hazards, for the inspector to find). Attached over NATS as vm-operator's device call.
   */
  async createLegacyGuestVm(state: 'running' | 'stopped', deviceId: string): Promise<VmDto> {
    const template = randomName('tpl');
    await this.request('POST', '/api/v1/templates', {
      body: { name: template, cpu_count: 1, ram_amount: 64 },
    });
    const vm = await this.createVm(template, state, randomName('guest'));
    const image = await buildGuestImage({
      dir: mkdtempSync(join(this.vmRuntimeDir, 'img-')),
      rootSpec: 'by-path',
      vmwareTools: true,
      hostname: 'legacy-web',
    });
    const nc = await connect({ servers: this.nats.url });
    try {
      const reply = await nc.request(
        DeviceSubjects.ATTACH,
        JSON.stringify({ vmId: vm.id, deviceId, path: image.path, format: 'qcow2', readOnly: false }),
        { timeout: 15_000 },
      );
      const { error } = reply.json<{ error?: RpcErrorBody }>();
      if (error) throw new Error(`could not attach the guest image: ${error.message}`);
    } finally {
      await nc.close();
    }
    return vm;
  }

  /** Polls GET /volume-operations/{id} until the operation has finished (completed, failed or cancelled). */
  async waitForOperation(id: string, timeoutMs = 40_000): Promise<VolumeOperationDto> {
    return eventually(
      async () => {
        const op = (await this.request<VolumeOperationDto>('GET', `/api/v1/volume-operations/${id}`)).body;
        return op.status === 'completed' || op.status === 'failed' || op.status === 'cancelled'
          ? op
          : undefined;
      },
      timeoutMs,
      `operation ${id} finished`,
    );
  }

  /** Creates an API key with `role` through the admin API and returns the secret. */
  async keyWithRole(role: 'viewer' | 'operator' | 'admin'): Promise<string> {
    const res = await this.request<{ key: string }>('POST', '/api/v1/api-keys', {
      body: { name: `e2e-${role}`, role },
    });
    if (res.status !== 201)
      throw new Error(`could not create ${role} key: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.key;
  }

  /** Pids of the QEMU processes still running under this suite's VM runtime directory. */
  qemuPids(): number[] {
    try {
      return readdirSync(this.vmRuntimeDir)
        .flatMap((vm) => {
          const file = join(this.vmRuntimeDir, vm, 'qemu.pid');
          return existsSync(file) ? [Number(readFileSync(file, 'utf8').trim())] : [];
        })
        .filter((pid) => pid > 0 && existsSync(`/proc/${pid}`));
    } catch {
      return [];
    }
  }

  /**
   * Stops everything the suite started. Every step runs even when one fails (a step left undone
   * leaves a process that keeps jest from exiting), and the first failure is thrown at the end.
   */
  async dispose(): Promise<void> {
    const failures: unknown[] = [];
    const step = async (work: () => unknown) => {
      try {
        await work();
      } catch (err) {
        failures.push(err);
      }
    };
    await step(() => Promise.all([...this.processes.values()].map((p) => p.stop('SIGTERM'))));
    // VMs outlive vm-operator by design; a test suite must not leave them behind.
    for (const pid of this.qemuPids()) {
      // One may exit between the listing and the kill (a guest that powers itself off): ESRCH is done.
      await step(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
      });
    }
    // The bridge, its taps and its dnsmasq outlive vm-operator too.
    await step(() => removeTestNetwork(this.vmRuntimeDir, this.network.bridge));
    await step(() => rmSync(this.vmRuntimeDir, { recursive: true, force: true }));
    await step(() => rmSync(this.diskDir, { recursive: true, force: true }));
    await step(() => this.nats.dispose());
    await step(() => this.db.drop());
    if (failures.length > 0) throw failures[0];
  }
}
