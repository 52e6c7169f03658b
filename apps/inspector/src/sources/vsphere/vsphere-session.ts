import { Logger } from '@nestjs/common';
import type { SnapshotRef } from '../source';
import { SourceFatalError, VmInspectionError, VmNotFoundError } from '../source';
import { retrieveOne } from './property-collector';
import { SoapClient } from './soap-client';
import { SoapFault } from './soap-fault';
import { httpTransport, notReached, sdkUrl, VCENTER_UNREACHABLE } from './soap-transport';
import type { MoRef, XmlNode } from './soap-xml';
import { el } from './soap-xml';
import { waitForTask } from './task-waiter';
import type {
  SourceLogger,
  VsphereCredentials,
  VsphereSnapshotRef,
  VsphereSourceConfig,
  VsphereSourceOptions,
} from './vsphere-config';
import { parseRef, readTls } from './vsphere-config';
import { sessionFailure, vmFailure } from './vsphere-errors';
import type { LookupContext } from './vm-lookup';
import { resolveVm } from './vm-lookup';
import { flattenSnapshots } from './vsphere-facts.mapper';

interface ServiceContent {
  propertyCollector: MoRef;
  searchIndex: MoRef;
  sessionManager: MoRef;
  apiVersion: string;
}

const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };

/**
 * One logged-in vCenter (or ESXi) session over our own SOAP client, shared by what reads vSphere:
 * the inspection source and the disk exports. It finds VMs (a MoRef value, or an inventory path
 * when the id starts with `/`), takes snapshots without memory or quiescing and removes them with
 * consolidation. The password lives in an ES private field, shown by neither util.inspect nor JSON.
 */
export class VsphereSession {
  private client?: SoapClient;
  private content?: ServiceContent;
  private readonly paths = new Map<string, MoRef>();
  private readonly url: string;
  protected readonly username: string;
  readonly #password: string;
  #ca: string | undefined;

  constructor(
    credentials: VsphereCredentials,
    private readonly config: VsphereSourceConfig,
    protected readonly logger: SourceLogger = new Logger(VsphereSession.name),
    private readonly options: VsphereSourceOptions = {},
  ) {
    this.url = credentials.url;
    this.username = credentials.username;
    this.#password = credentials.password;
  }

  async open(signal: AbortSignal): Promise<void> {
    let target: URL;
    try {
      target = sdkUrl(this.url);
    } catch {
      // Not echoed: a mistyped URL may hold credentials.
      throw new SourceFatalError('other', 'the vCenter URL is not a valid URL');
    }
    try {
      await this.config.policy?.check(target);
    } catch (err) {
      this.logger.warn({ msg: 'vCenter refused by the settings', host: target.hostname, error: String(err) });
      throw err;
    }
    const tls = await readTls(this.config);
    this.#ca = tls.ca;
    const transport = this.options.transport ?? httpTransport(target, tls, this.config.policy?.lookup);
    const client = new SoapClient(transport, target.href, this.config.requestTimeoutMs);
    this.client = client;
    try {
      const res = await client.call('RetrieveServiceContent', SERVICE_INSTANCE, '', { signal });
      const sc = res.child('returnval');
      const ref = (name: string) => sc?.child(name)?.moRef() ?? { type: '', value: '' };
      this.content = {
        propertyCollector: ref('propertyCollector'),
        searchIndex: ref('searchIndex'),
        sessionManager: ref('sessionManager'),
        apiVersion: sc?.str('about', 'apiVersion') ?? '',
      };
      client.setApiVersion(this.content.apiVersion);
      await this.login(signal);
    } catch (err) {
      // Before a SOAP answer, whatever happened (refused, DNS, TLS, timeout, something that is no
      // vCenter) is VCENTER_UNREACHABLE to the caller: the detail goes to the log only.
      throw this.logged(err instanceof SoapFault ? sessionFailure(err, this.username) : notReached(err));
    }
    client.reauthenticate = async () => {
      this.logger.warn({ msg: 'vCenter session expired; logging in again', url: target.href });
      await this.login();
    };
    this.logger.log({ msg: 'logged in to vCenter', url: target.href, apiVersion: this.content.apiVersion });
  }

  /** `https://vcenter[:port]`: where the datastore file service (`/folder`) is. */
  get origin(): string {
    return sdkUrl(this.url).origin;
  }

  /** The PEM of INSPECTOR_VSPHERE_CA_FILE this session trusts, when one is set. */
  get caPem(): string | undefined {
    return this.#ca;
  }

  /** The `Cookie` header value of the session (`vmware_soap_session="…"`): a secret. */
  get cookie(): string | null {
    return this.client?.sessionCookie ?? null;
  }

  /**
   * Makes sure vCenter still knows the session (which also resets its idle timer): reads
   * SessionManager.currentSession, and logs in again when vCenter has forgotten it.
   */
  async keepAlive(signal?: AbortSignal): Promise<void> {
    const { client, content } = this.session();
    try {
      const s = await retrieveOne(
        client,
        content.propertyCollector,
        content.sessionManager,
        ['currentSession'],
        signal,
      );
      if (s?.props.get('currentSession')?.children.length) return;
      this.logger.warn({ msg: 'vCenter forgot the session; logging in again' });
      await this.login(signal);
    } catch (err) {
      throw this.logged(sessionFailure(err, this.username));
    }
  }

  /** Resolves the VM and reads `paths` of it; throws VmNotFoundError when it is not there. */
  async vmProperties(
    vmId: string,
    paths: readonly string[],
    signal: AbortSignal,
  ): Promise<{ vm: MoRef; props: ReadonlyMap<string, XmlNode> }> {
    const { client, content } = this.session();
    try {
      const vm = await this.resolveVm(vmId, signal);
      const found = await retrieveOne(client, content.propertyCollector, vm, paths, signal);
      if (!found) throw new VmNotFoundError(vmId);
      return { vm, props: found.props };
    } catch (err) {
      throw this.vmError(err, vmId, 'reading');
    }
  }

  async createSnapshot(
    vmId: string,
    name: string,
    description: string,
    signal: AbortSignal,
  ): Promise<SnapshotRef> {
    const { client } = this.session();
    try {
      const vm = await this.resolveVm(vmId, signal);
      const params =
        el('name', name) + el('description', description) + el('memory', false) + el('quiesce', false);
      const res = await client.call('CreateSnapshot_Task', vm, params, { signal });
      const result = await this.waitForTask(res, 'CreateSnapshot_Task', vmId, signal);
      const snapshot = result?.text;
      if (!snapshot) throw new VmInspectionError(`CreateSnapshot_Task on VM ${vmId} returned no snapshot`);
      this.logger.log({ msg: 'snapshot created', vmId, moref: vm.value, snapshot });
      const ref: VsphereSnapshotRef = { moref: vm.value, snapshot };
      return { ...ref };
    } catch (err) {
      throw this.vmError(err, vmId, 'snapshot creation');
    }
  }

  /**
   * Removes the snapshot `ref` names or, without one, every snapshot of the VM with this name and
   * description. What is already gone (the snapshot, or the whole VM) counts as removed.
   */
  async removeSnapshot(
    vmId: string,
    ref: SnapshotRef | null,
    name: string,
    description: string,
  ): Promise<void> {
    const { client, content } = this.session();
    try {
      const own = parseRef(ref);
      if (own) return await this.removeOne(vmId, own.snapshot);
      let info: XmlNode | undefined;
      try {
        const vm = await this.resolveVm(vmId);
        info = (await retrieveOne(client, content.propertyCollector, vm, ['snapshot']))?.props.get(
          'snapshot',
        );
      } catch (err) {
        // A VM that is gone has no snapshot left to remove.
        if (err instanceof VmInspectionError || (err instanceof SoapFault && err.is('ManagedObjectNotFound')))
          return;
        throw err;
      }
      const leftovers = flattenSnapshots(info).filter(
        (s) => s.name === name && s.description === description,
      );
      // Children first, so that no removal has to re-parent one we remove next.
      for (const s of leftovers.sort((a, b) => b.depth - a.depth)) await this.removeOne(vmId, s.snapshot);
    } catch (err) {
      throw this.vmError(err, vmId, 'snapshot removal');
    }
  }

  /** The VM's `runtime.powerState` now: poweredOn, poweredOff or suspended. */
  async powerState(vmId: string, signal?: AbortSignal): Promise<string> {
    const { props } = await this.vmProperties(
      vmId,
      ['runtime.powerState'],
      signal ?? AbortSignal.timeout(60_000),
    );
    return props.get('runtime.powerState')?.text ?? 'unknown';
  }

  /**
   * Powers the VM off (`PowerOffVM_Task`: a hard power-off, as a migration's cutover needs) or on
   * (`PowerOnVM_Task`). Already in that state: nothing is asked, and `changed` is false.
   */
  async setPower(
    vmId: string,
    state: 'poweredOff' | 'poweredOn',
    signal: AbortSignal,
  ): Promise<{ powerState: string; changed: boolean }> {
    const before = await this.powerState(vmId, signal);
    if (before === state) return { powerState: before, changed: false };
    const { client } = this.session();
    const method = state === 'poweredOff' ? 'PowerOffVM_Task' : 'PowerOnVM_Task';
    try {
      const vm = await this.resolveVm(vmId, signal);
      const res = await client.call(method, vm, '', { signal });
      await this.waitForTask(res, method, vmId, signal);
    } catch (err) {
      // Another power change raced ours: what counts is the state it left.
      const now = await this.powerState(vmId, signal).catch(() => undefined);
      if (now === state) return { powerState: now, changed: true };
      throw this.vmError(err, vmId, method === 'PowerOffVM_Task' ? 'power-off' : 'power-on');
    }
    this.logger.log({ msg: `VM ${state === 'poweredOff' ? 'powered off' : 'powered on'}`, vmId });
    return { powerState: await this.powerState(vmId, signal), changed: true };
  }

  /**
   * Logs out (unless `logout` is false: a cookie handed out may still be reading) and closes the
   * connections; never throws.
   */
  async close(options: { logout?: boolean } = {}): Promise<void> {
    const { client, content } = this;
    this.client = undefined;
    if (!client) return;
    try {
      if (options.logout !== false && client.loggedIn && content) {
        await client.call('Logout', content.sessionManager, '', {
          signal: AbortSignal.timeout(5000),
          reauthenticate: false,
        });
      }
    } catch {
      // Logging out is a courtesy; the session expires on its own.
    } finally {
      client.close();
    }
  }

  /** What the inventory lookups need (vm-lookup). */
  lookup(): LookupContext {
    const { client, content } = this.session();
    return { client, propertyCollector: content.propertyCollector, searchIndex: content.searchIndex };
  }

  protected session(): { client: SoapClient; content: ServiceContent } {
    if (!this.client || !this.content) throw new SourceFatalError('other', 'the vSphere source is not open');
    return { client: this.client, content: this.content };
  }

  /** Resolves (and remembers) a VM id; see resolveVm. */
  protected async resolveVm(vmId: string, signal?: AbortSignal): Promise<MoRef> {
    const ref = this.paths.get(vmId) ?? (await resolveVm(this.lookup(), vmId, signal));
    if (vmId.startsWith('/')) this.paths.set(vmId, ref);
    return ref;
  }

  /** Failures of one VM's work: per VM, unless the session itself is lost. */
  protected vmError(err: unknown, vmId: string, what: string): unknown {
    return this.logged(vmFailure(err, vmId, what, this.username));
  }

  /** Logs why vCenter could not be reached (the caller is told VCENTER_UNREACHABLE only); returns `err`. */
  protected logged(err: unknown): unknown {
    if (err instanceof SourceFatalError && err.kind === 'unreachable' && err.detail) {
      this.logger.warn({
        msg: VCENTER_UNREACHABLE,
        url: sdkUrl(this.url).href,
        code: err.fault,
        detail: err.detail,
      });
    }
    return err;
  }

  private async login(signal?: AbortSignal): Promise<void> {
    const { client, content } = this.session();
    client.dropSession();
    const params = el('userName', this.username) + el('password', this.#password);
    await client.call('Login', content.sessionManager, params, { signal, reauthenticate: false });
  }

  private async waitForTask(response: XmlNode, method: string, vmId: string, signal?: AbortSignal) {
    const { client, content } = this.session();
    const task = response.child('returnval')!.moRef();
    return waitForTask(client, content.propertyCollector, task, method, {
      timeoutMs: this.config.taskTimeoutMs,
      signal,
      pollMs: this.options.taskPollMs,
      onProgress: (percent) =>
        this.logger.debug?.({ msg: 'task progress', vmId, task: task.value, method, percent }),
    });
  }

  /** RemoveSnapshot_Task with consolidation; a snapshot that is already gone counts as removed. */
  private async removeOne(vmId: string, snapshot: string): Promise<void> {
    const { client } = this.session();
    const params = el('removeChildren', false) + el('consolidate', true);
    try {
      const res = await client.call(
        'RemoveSnapshot_Task',
        { type: 'VirtualMachineSnapshot', value: snapshot },
        params,
      );
      await this.waitForTask(res, 'RemoveSnapshot_Task', vmId);
      this.logger.log({ msg: 'snapshot removed', vmId, snapshot });
    } catch (err) {
      if (!(err instanceof SoapFault && err.is('ManagedObjectNotFound'))) throw err;
      this.logger.log({ msg: 'snapshot already gone', vmId, snapshot });
    }
  }
}
