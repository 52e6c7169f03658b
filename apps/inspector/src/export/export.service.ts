import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type {
  ExportSessionDto,
  OpenExportRequest,
  VsphereExportDto,
  VspherePowerState,
} from '@ferry/contracts';
import { FerryError, INSPECTOR_EXPORT_SNAPSHOT_NAME, VSPHERE_POWER_STATES } from '@ferry/contracts';
import { CredentialsCipher, withTimeout } from '@ferry/platform';
import { InspectorConfig } from '../config/inspector.config';
import { InspectionRunner, OPEN_TIMEOUT_MS } from '../runner/inspection-runner';
import { SourceFatalError, VmInspectionError } from '../sources/source';
import { errorOfOpen, errorOfVm } from '../sources/source-errors';
import { SourceFactory } from '../sources/source-factory';
import { exportDisks } from '../sources/vsphere/datastore-disks';
import { SoapFault } from '../sources/vsphere/soap-fault';
import { sdkUrl, VCENTER_UNREACHABLE } from '../sources/vsphere/soap-transport';
import { datacenterPath } from '../sources/vsphere/vm-lookup';
import { buildVmFacts } from '../sources/vsphere/vsphere-facts.mapper';
import type { VsphereSession } from '../sources/vsphere/vsphere-session';
import { ExportReaper } from './export-reaper';
import { ExportSessions } from './export-sessions';
import { toExportDto } from './export.mapper';
import type { ExportRecord, NewExport } from './export.repository';
import { ExportRepository } from './export.repository';

/** What an export reads of the VM, before any snapshot (so that its disks are the base disks). */
const EXPORT_VM_PROPERTIES = [
  'name',
  'parent',
  'config.hardware.device',
  'config.keyId',
  'runtime.powerState',
];

/**
 * Exports of vSphere VMs' disks for volume-daemon's imports: the inspector holds the vCenter login,
 * the snapshot and the lease; the importer gets disk URLs and a session cookie, and closes the export.
 */
@Injectable()
export class ExportService {
  private readonly logger = new Logger(ExportService.name);

  constructor(
    private readonly repo: ExportRepository,
    private readonly sessions: ExportSessions,
    private readonly reaper: ExportReaper,
    private readonly runner: InspectionRunner,
    private readonly factory: SourceFactory,
    private readonly cipher: CredentialsCipher,
    private readonly config: InspectorConfig,
  ) {}

  /**
   * Logs in, reads the VM's disks and records the export (with its snapshot intent, committed
   * before the snapshot is asked for); then, for a powered-on VM and `snapshot: 'auto'`, snapshots
   * it. A snapshot that fails closes the export (removing whatever the task left) and answers the error.
   */
  async open(req: OpenExportRequest): Promise<VsphereExportDto> {
    const id = randomUUID();
    const { url, username, password } = req.VcenterCredentials;
    const session = this.factory.vsphereSession({ url, username, password });
    const timeout = () =>
      new SourceFatalError(
        'unreachable',
        VCENTER_UNREACHABLE,
        undefined,
        `no answer within ${OPEN_TIMEOUT_MS} ms`,
      );
    let record: ExportRecord;
    try {
      await withTimeout(session.open(AbortSignal.timeout(OPEN_TIMEOUT_MS)), OPEN_TIMEOUT_MS, timeout);
    } catch (err) {
      await session.close();
      throw errorOfOpen(err);
    }
    try {
      const vm = await this.readVm(session, req, id);
      // While CreateSnapshot_Task may run (its request and its task deadline), the lease cannot run out.
      const holdMs =
        vm.snapshotIntent === 'intended'
          ? this.config.INSPECTOR_VSPHERE_TASK_TIMEOUT_MS + this.config.INSPECTOR_VSPHERE_REQUEST_TIMEOUT_MS
          : 0;
      record = await this.repo.insert(vm, holdMs);
    } catch (err) {
      await session.close();
      throw exportError(err);
    }
    this.sessions.adopt(id, session);
    this.logger.log({
      msg: 'export opened',
      exportId: id,
      vmId: record.vmId,
      snapshot: record.snapshotIntent,
    });
    if (record.snapshotIntent === 'none') return toExportDto(record);
    try {
      // Never aborted half-way: a snapshot asked for and then forgotten is what leaks.
      const ref = await session.createSnapshot(
        record.vmId,
        record.snapshotName!,
        record.snapshotDescription!,
        new AbortController().signal,
      );
      const created = await this.repo.snapshotCreated(id, ref);
      if (!created) throw new FerryError('CONFLICT', `export ${id} was closed while its snapshot was taken`);
      return toExportDto(created);
    } catch (err) {
      const failure = await this.reaper.close(record);
      if (failure) this.logger.warn({ msg: 'export left open for recovery', exportId: id, error: failure });
      throw exportError(err);
    }
  }

  async get(id: string): Promise<VsphereExportDto> {
    return toExportDto(await this.find(id));
  }

  /**
   * The cookie that reads the export's URLs, from a session this replica checked is alive (logged in
   * again when vCenter forgot it); renews the lease. A closed or expired export has none (CONFLICT).
   */
  async session(id: string): Promise<ExportSessionDto> {
    const e = await this.find(id);
    if (e.state !== 'open' || e.leaseExpiresAt.getTime() <= Date.now()) throw ended(e);
    // Renewed (and claimed) first, so that this replica's recovery pass never logs out the session
    // it is handing out as belonging to another replica.
    const renewed = await this.repo.renew(id, this.runner.replicaId);
    if (!renewed) throw ended((await this.repo.find(id)) ?? e);
    let session: VsphereSession;
    try {
      session = await this.sessions.live(renewed, AbortSignal.timeout(OPEN_TIMEOUT_MS));
    } catch (err) {
      throw err instanceof FerryError ? err : errorOfOpen(err);
    }
    const cookie = session.cookie;
    if (!cookie) throw new FerryError('UNAVAILABLE', `vCenter gave export ${id} no session cookie`);
    const refreshMs = Math.min(this.config.INSPECTOR_EXPORT_SESSION_REFRESH_MS, renewed.leaseMs / 2);
    return {
      id,
      cookie,
      expiresAt: new Date(Date.now() + refreshMs).toISOString(),
      leaseExpiresAt: renewed.leaseExpiresAt.toISOString(),
      ...(session.caPem ? { caPem: session.caPem } : {}),
    };
  }

  /** Removes the snapshot, logs out and forgets the credentials; closing a closed export returns it. */
  async close(id: string): Promise<VsphereExportDto> {
    const e = await this.find(id);
    if (e.state === 'closed') return toExportDto(e);
    // Nothing may renew it from now on; if the removal fails here, recovery retries it.
    await this.repo.expire(id);
    const failure = await this.reaper.close(e);
    if (failure) {
      throw new FerryError(
        'UNAVAILABLE',
        `export ${id} is not closed yet: its snapshot could not be removed (the inspector keeps trying): ${failure}`,
        { id },
      );
    }
    return this.get(id);
  }

  private async find(id: string): Promise<ExportRecord> {
    const e = await this.repo.find(id);
    if (!e) throw FerryError.notFound(`export ${id} not found`, { id });
    return e;
  }

  /** The export's row, from the VM as it is now (before the snapshot). */
  private async readVm(session: VsphereSession, req: OpenExportRequest, id: string): Promise<NewExport> {
    const signal = AbortSignal.timeout(OPEN_TIMEOUT_MS);
    const { vm, props } = await session.vmProperties(req.vmId, EXPORT_VM_PROPERTIES, signal);
    const facts = buildVmFacts(props, {
      moref: vm.value,
      inventoryPath: null,
      networks: new Map(),
      ownSnapshot: null,
    });
    const powerState = VSPHERE_POWER_STATES.find((p) => p === facts.powerState);
    if (!powerState) throw new VmInspectionError(`vCenter did not say whether VM ${req.vmId} is powered on`);
    const dcPath = await datacenterPath(session.lookup(), props, signal);
    if (dcPath === null) throw new VmInspectionError(`the datacenter of VM ${req.vmId} cannot be found`);
    const snapshot = powerState === 'poweredOn' && (req.snapshot ?? 'auto') === 'auto';
    const { username, password } = req.VcenterCredentials;
    return {
      id,
      vmId: vm.value,
      requestedVmId: req.vmId,
      vmName: facts.name,
      powerState: powerState as VspherePowerState,
      url: sdkUrl(req.VcenterCredentials.url).toString(),
      credentials: this.cipher.encrypt({ username, password }, id),
      credentialsKeyId: this.cipher.keyId,
      snapshotName: snapshot ? INSPECTOR_EXPORT_SNAPSHOT_NAME : null,
      snapshotDescription: snapshot ? `ferry export ${id}` : null,
      snapshotIntent: snapshot ? 'intended' : 'none',
      disks: exportDisks(facts, props.get('config.hardware.device')?.children ?? [], {
        origin: session.origin,
        dcPath,
        snapshotted: snapshot,
      }),
      leaseMs: req.leaseMs ?? this.config.INSPECTOR_EXPORT_LEASE_MS,
      claimedBy: this.runner.replicaId,
    };
  }
}

/** A closed export, or one whose lease ran out, gives out no more sessions. */
function ended(e: ExportRecord): FerryError {
  const why = e.state === 'closed' ? 'is closed' : `has expired (at ${e.leaseExpiresAt.toISOString()})`;
  return FerryError.conflict(`export ${e.id} ${why}: open a new one`, { id: e.id, state: e.state });
}

/** A failure after the login: the VM's (NOT_FOUND, UNPROCESSABLE) or vCenter's (a fault it answered). */
function exportError(err: unknown): FerryError {
  if (err instanceof SoapFault)
    return new FerryError('UNPROCESSABLE', `vCenter answered ${err.message}`, { fault: err.faultType });
  return errorOfVm(err);
}
