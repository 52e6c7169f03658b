import { readFile } from 'node:fs/promises';
import type { LoggerService } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import type { InspectionResults } from '@ferry/contracts';
import type { InspectionSource, SnapshotRef } from '../source';
import { SourceFatalError, VmInspectionError } from '../source';
import { retrieveOne } from './property-collector';
import { SoapClient } from './soap-client';
import { SoapFault, isSessionFault } from './soap-fault';
import type { SoapTransport } from './soap-transport';
import { httpTransport, sdkUrl } from './soap-transport';
import type { MoRef, XmlNode } from './soap-xml';
import { el } from './soap-xml';
import { TaskWaitError, waitForTask } from './task-waiter';
import type { LookupContext } from './vm-lookup';
import { inventoryPath, networkNames, resolveVm } from './vm-lookup';
import { vsphereConcerns } from './vsphere-concerns';
import { VM_PROPERTIES, buildVmFacts, flattenSnapshots } from './vsphere-facts.mapper';

export interface VsphereCredentials {
  url: string;
  username: string;
  password: string;
}

/** From InspectorConfig's INSPECTOR_VSPHERE_* settings. */
export interface VsphereSourceConfig {
  /** PEM file of the CAs to trust; empty: the system's. */
  caFile: string;
  /** Accept any certificate. */
  insecure: boolean;
  /** Limit of each SOAP request, in ms. */
  requestTimeoutMs: number;
  /** Limit of each task (snapshot creation or removal), in ms. */
  taskTimeoutMs: number;
}

export type SourceLogger = Pick<LoggerService, 'log' | 'warn' | 'debug'>;

export interface VsphereSourceOptions {
  /** Replaces HTTPS (unit tests). */
  transport?: SoapTransport;
  /** Pauses between task polls, in ms. */
  taskPollMs?: { first: number; max: number };
}

interface ServiceContent {
  propertyCollector: MoRef;
  searchIndex: MoRef;
  sessionManager: MoRef;
  apiVersion: string;
}

/** The vSphere SnapshotRef: MoRef values of the VM and of the snapshot. */
interface VsphereSnapshotRef {
  moref: string;
  snapshot: string;
}

const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };
const VM = (value: string): MoRef => ({ type: 'VirtualMachine', value });

function parseRef(ref: SnapshotRef | null): VsphereSnapshotRef | null {
  const { moref, snapshot } = ref ?? {};
  return typeof moref === 'string' && typeof snapshot === 'string' && moref && snapshot
    ? { moref, snapshot }
    : null;
}

/**
 * VMs in vCenter (or ESXi) over our own SOAP client. A VM id is a MoRef value (`vm-42`) or, when it
 * starts with `/`, an inventory path (`/DC0/vm/web-1`). Snapshots are taken without memory or
 * quiescing and removed with consolidation.
 */
export class VsphereSource implements InspectionSource {
  readonly type = 'vsphere' as const;
  readonly snapshots = true;
  private client?: SoapClient;
  private content?: ServiceContent;
  private readonly paths = new Map<string, MoRef>();
  private readonly url: string;
  private readonly username: string;
  // An ES private field: neither util.inspect nor JSON.stringify shows it.
  readonly #password: string;

  constructor(
    credentials: VsphereCredentials,
    private readonly config: VsphereSourceConfig,
    private readonly logger: SourceLogger = new Logger(VsphereSource.name),
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
    const tls = await this.tlsOptions();
    const transport = this.options.transport ?? httpTransport(target, tls);
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
      throw this.fatal(err);
    }
    client.reauthenticate = async () => {
      this.logger.warn({ msg: 'vCenter session expired; logging in again', url: target.href });
      await this.login();
    };
    this.logger.log({ msg: 'logged in to vCenter', url: target.href, apiVersion: this.content.apiVersion });
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

  async inspect(vmId: string, ref: SnapshotRef | null, signal: AbortSignal): Promise<InspectionResults> {
    const { client, content } = this.session();
    try {
      const own = parseRef(ref);
      const vm = own ? VM(own.moref) : await this.resolveVm(vmId, signal);
      const vmContent = await retrieveOne(client, content.propertyCollector, vm, VM_PROPERTIES, signal);
      if (!vmContent) throw new VmInspectionError(`VM ${vmId} not found`);
      const facts = buildVmFacts(vmContent.props, {
        moref: vm.value,
        inventoryPath: vmId.startsWith('/')
          ? vmId
          : await inventoryPath(this.lookup(), vmContent.props, signal),
        networks: await networkNames(this.lookup(), vmContent.props.get('network'), signal),
        ownSnapshot: own?.snapshot ?? null,
      });
      return {
        source: 'vsphere',
        vmId,
        inspectedAt: new Date().toISOString(),
        durationMs: 0,
        snapshot: null,
        vsphere: facts,
        concerns: vsphereConcerns(facts),
      };
    } catch (err) {
      throw this.vmError(err, vmId, 'inspection');
    }
  }

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
      let vm: MoRef;
      let info: XmlNode | undefined;
      try {
        vm = await this.resolveVm(vmId);
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

  async close(): Promise<void> {
    const { client, content } = this;
    this.client = undefined;
    if (!client) return;
    try {
      if (client.loggedIn && content) {
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

  private async tlsOptions(): Promise<{ ca?: string; insecure: boolean }> {
    const file = this.config.caFile;
    const insecure = this.config.insecure;
    if (!file) return { insecure };
    try {
      return { ca: await readFile(file, 'utf8'), insecure };
    } catch (err) {
      throw new SourceFatalError(
        'other',
        `INSPECTOR_VSPHERE_CA_FILE ${file} cannot be read: ${(err as Error).message}`,
      );
    }
  }

  private async login(signal?: AbortSignal): Promise<void> {
    const { client, content } = this.session();
    client.dropSession();
    const params = el('userName', this.username) + el('password', this.#password);
    await client.call('Login', content.sessionManager, params, { signal, reauthenticate: false });
  }

  private session(): { client: SoapClient; content: ServiceContent } {
    if (!this.client || !this.content) throw new SourceFatalError('other', 'the vSphere source is not open');
    return { client: this.client, content: this.content };
  }

  /** Resolves (and remembers) a VM id; see resolveVm. */
  private async resolveVm(vmId: string, signal?: AbortSignal): Promise<MoRef> {
    const ref = this.paths.get(vmId) ?? (await resolveVm(this.lookup(), vmId, signal));
    if (vmId.startsWith('/')) this.paths.set(vmId, ref);
    return ref;
  }

  private lookup(): LookupContext {
    const { client, content } = this.session();
    return { client, propertyCollector: content.propertyCollector, searchIndex: content.searchIndex };
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

  /** Failures of open(): all fatal. */
  private fatal(err: unknown): unknown {
    if (!(err instanceof SoapFault)) return err;
    if (err.is('InvalidLogin', 'NotAuthenticated')) {
      return new SourceFatalError(
        'auth',
        `vCenter refused the credentials of ${this.username} (${err.faultType})`,
        err.faultType,
      );
    }
    return new SourceFatalError('other', `vCenter answered ${err.message}`, err.faultType);
  }

  /** Failures of one VM's work: per VM, unless the session itself is lost. */
  private vmError(err: unknown, vmId: string, what: string): unknown {
    if (err instanceof SoapFault) {
      if (isSessionFault(err)) {
        return new SourceFatalError(
          'auth',
          `vCenter ended the session of ${this.username} and refused a new login (${err.faultType})`,
          err.faultType,
        );
      }
      if (err.is('ManagedObjectNotFound')) return new VmInspectionError(`VM ${vmId} not found`);
      const detail = err.faultMessage && err.faultMessage !== err.faultType ? `: ${err.faultMessage}` : '';
      return new VmInspectionError(`${what} of VM ${vmId} failed: ${err.faultType}${detail}`);
    }
    if (err instanceof TaskWaitError)
      return new VmInspectionError(`${what} of VM ${vmId} failed: ${err.message}`);
    return err;
  }
}
