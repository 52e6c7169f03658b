import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ManagedProcess } from './processes';

function findRoot(dir: string): string {
  if (existsSync(join(dir, 'tools', 'ensure-vcsim.sh'))) return dir;
  const parent = dirname(dir);
  if (parent === dir) throw new Error('cannot find the repository root');
  return findRoot(parent);
}

let binary: Promise<string> | undefined;

/**
 * The vcsim binary: tools/ensure-vcsim.sh builds it (or finds it cached) once per process. The first
 * build on a machine takes about 20 s, more when it has to apt-get Go and govmomi.
 */
export function ensureVcsim(timeoutMs = 600_000): Promise<string> {
  binary ??= new Promise<string>((resolve, reject) => {
    const script = join(findRoot(__dirname), 'tools', 'ensure-vcsim.sh');
    execFile('bash', [script], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const path = stdout.trim().split('\n').pop() ?? '';
      if (err || !path) reject(new Error(`${script} failed:\n${stderr}${stdout}`));
      else resolve(path);
    });
  });
  binary.catch(() => (binary = undefined));
  return binary;
}

export interface VcsimOptions {
  /** VMs per standalone host and per cluster (default 2): DC0_H0_VM0…, DC0_C0_RP0_VM0…. */
  vms?: number;
  /** A VM given EFI with secure boot, CBT, encryption, a vTPM, an independent and a multi-writer disk. */
  quirks?: string;
  /** A VM given a physical and a virtual RDM. vcsim panics when a snapshot of it is removed. */
  rdm?: string;
  /** The only credentials vcsim accepts (default user/pass); others get InvalidLogin. */
  username?: string;
  password?: string;
}

/**
 * govmomi's vCenter simulator (VPX model: DC0, hosts DC0_H0 and cluster DC0_C0, datastore LocalDS_0,
 * port group DC0_DVPG0) on a free port, over TLS with its own certificate in `caFile`. VMs start
 * powered on; MoRefs are counters, so look VMs up by inventory path (`/DC0/vm/DC0_H0_VM0`).
 */
export class VcsimProcess {
  private constructor(
    private readonly proc: ManagedProcess,
    private readonly dir: string,
    /** `https://127.0.0.1:<port>/sdk`. */
    readonly url: string,
    /** PEM of the server certificate (for INSPECTOR_VSPHERE_CA_FILE). */
    readonly caFile: string,
    readonly username: string,
    readonly password: string,
  ) {}

  static async start(options: VcsimOptions = {}): Promise<VcsimProcess> {
    const bin = await ensureVcsim();
    const dir = mkdtempSync(join(tmpdir(), 'ferry-vcsim-'));
    const caFile = join(dir, 'ca.pem');
    const username = options.username ?? 'user';
    const password = options.password ?? 'pass';
    const args = ['-l', '127.0.0.1:0', '-cert-file', caFile, '-username', username, '-password', password];
    args.push('-vm', String(options.vms ?? 2));
    if (options.quirks) args.push('-quirks', options.quirks);
    if (options.rdm) args.push('-rdm', options.rdm);
    // vcsim writes its model's files under TMPDIR; keep them with the certificate.
    const child = spawn(bin, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TMPDIR: dir },
    });
    const proc = new ManagedProcess('vcsim', child);
    try {
      await proc.waitFor(/^vcsim ready url=/, 30_000);
    } catch (err) {
      await proc.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const url = proc.output.find((l) => l.startsWith('vcsim ready url='))!.slice('vcsim ready url='.length);
    return new VcsimProcess(proc, dir, url, caFile, username, password);
  }

  /** What vcsim printed (its log of faults and panics), for failure messages. */
  get output(): readonly string[] {
    return this.proc.output;
  }

  async stop(): Promise<void> {
    await this.proc.stop('SIGTERM', 5000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A few read-only questions to vcsim over raw SOAP, for tests to check what the inspector left (an
 * oracle of its own, sharing no code with the inspector's client).
 */
export class VcsimProbe {
  private cookie = '';

  constructor(private readonly sim: Pick<VcsimProcess, 'url' | 'caFile' | 'username' | 'password'>) {}

  /** The VM's MoRef value, e.g. `vm-60`, from its inventory path (`/DC0/vm/DC0_H0_VM0`). */
  async moref(path: string): Promise<string> {
    const body = await this.call(
      `<FindByInventoryPath xmlns="urn:vim25"><_this type="SearchIndex">SearchIndex</_this><inventoryPath>${escapeXml(path.replace(/^\//, ''))}</inventoryPath></FindByInventoryPath>`,
    );
    const m = /<returnval[^>]*>([^<]+)<\/returnval>/.exec(body);
    if (!m) throw new Error(`no VM at ${path}`);
    return m[1]!;
  }

  /** The names of every snapshot in the VM's tree (empty when it has none). */
  async snapshotNames(moref: string): Promise<string[]> {
    const body = await this.call(
      `<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>snapshot</pathSet></propSet><objectSet><obj type="VirtualMachine">${escapeXml(moref)}</obj></objectSet></specSet><options/></RetrievePropertiesEx>`,
    );
    return [...body.matchAll(/<name>([^<]*)<\/name>/g)].map((m) => m[1]!).filter((n) => n !== 'snapshot');
  }

  /** Takes a snapshot as a user would (vcsim finishes the task before it answers). */
  async createSnapshot(moref: string, name: string): Promise<void> {
    await this.call(
      `<CreateSnapshot_Task xmlns="urn:vim25"><_this type="VirtualMachine">${escapeXml(moref)}</_this><name>${escapeXml(name)}</name><memory>false</memory><quiesce>false</quiesce></CreateSnapshot_Task>`,
    );
  }

  /** The probe's own session, as a `Cookie` header value (for vcsim's `/folder` file service). */
  async sessionCookie(): Promise<string> {
    await this.login();
    return this.cookie;
  }

  /**
   * One SOAP call in the probe's session: `inner` is the Body's element (`xsi` is bound to the
   * XMLSchema-instance namespace); returns the response text. A fault rejects.
   */
  async call(inner: string): Promise<string> {
    await this.login();
    return this.post(inner);
  }

  private async login(): Promise<void> {
    if (this.cookie) return;
    await this.post(
      `<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>${escapeXml(this.sim.username)}</userName><password>${escapeXml(this.sim.password)}</password></Login>`,
    );
  }

  private post(inner: string): Promise<string> {
    const envelope = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>${inner}</soapenv:Body></soapenv:Envelope>`;
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        this.sim.url,
        {
          method: 'POST',
          ca: readFileSync(this.sim.caFile),
          headers: {
            'content-type': 'text/xml; charset=utf-8',
            soapaction: 'urn:vim25/6.5',
            ...(this.cookie ? { cookie: this.cookie } : {}),
          },
          timeout: 10_000,
        },
        (res) => {
          const set = res.headers['set-cookie']?.[0];
          if (set) this.cookie = set.split(';')[0]!;
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () =>
            res.statusCode === 200 ? resolve(text) : reject(new Error(`vcsim ${res.statusCode}: ${text}`)),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error('vcsim did not answer')));
      req.on('error', reject);
      req.end(envelope);
    });
  }
}

/** Escapes text for an XML element. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
