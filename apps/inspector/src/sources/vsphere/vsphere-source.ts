import type { InspectionConcern, InspectionResults, VsphereVmFacts } from '@ferry/contracts';
import { runCommand } from '@ferry/platform';
import { deepInspectionFailed, LocalConcernCodes } from '../../deep/hazards';
import type { DiskInspection, VmDiskInspection } from '../../deep/vm-disk-inspector';
import { DEFAULT_VM_DISK_INSPECTOR_OPTIONS, VmDiskInspector } from '../../deep/vm-disk-inspector';
import type { InspectionSource, SnapshotRef } from '../source';
import { SourceFatalError, VmNotFoundError } from '../source';
import type { BaseDisk } from './base-disks';
import { parseBaseDisks, readBaseDisks } from './base-disks';
import { inspectOverDatastore } from './datastore-inspection';
import { retrieveOne } from './property-collector';
import { inventoryPath, networkNames } from './vm-lookup';
import { sortConcerns, vsphereConcerns } from './vsphere-concerns';
import { VM_PROPERTIES, buildVmFacts } from './vsphere-facts.mapper';
import type {
  SourceLogger,
  VsphereCredentials,
  VsphereSourceConfig,
  VsphereSourceOptions,
} from './vsphere-config';
import { parseRef } from './vsphere-config';
import { VsphereSession } from './vsphere-session';

export type {
  SourceLogger,
  VsphereCredentials,
  VsphereSourceConfig,
  VsphereSourceOptions,
} from './vsphere-config';

/** nbdkit's curl plugin, which serves each disk over the datastore. */
const NBDKIT = 'nbdkit';
/** Limit of each step of opening a disk over the datastore when no request timeout says otherwise, in ms. */
const OPEN_STEP_TIMEOUT_MS = 60_000;

/**
 * VMs in vCenter (or ESXi) as an inspection source: a VsphereSession (login, VM lookup, snapshots)
 * that also reads a VM's facts and concerns and, with INSPECTOR_DEEP_INSPECTION=virt-inspector,
 * the guest on its disks as the inspection's snapshot froze them, over the datastore.
 */
export class VsphereSource extends VsphereSession implements InspectionSource {
  readonly type = 'vsphere' as const;
  readonly snapshots = true;
  /** The deep inspection of the disks; absent with `first-pass`. */
  private readonly disks?: DiskInspection;

  constructor(
    credentials: VsphereCredentials,
    private readonly sourceConfig: VsphereSourceConfig,
    logger?: SourceLogger,
    private readonly sourceOptions: VsphereSourceOptions = {},
  ) {
    super(credentials, sourceConfig, logger, sourceOptions);
    if (sourceConfig.deepInspection === 'virt-inspector') {
      this.disks =
        sourceOptions.disks ??
        new VmDiskInspector({
          ...DEFAULT_VM_DISK_INSPECTOR_OPTIONS,
          deepTimeoutMs:
            sourceConfig.virtInspectorTimeoutMs ?? DEFAULT_VM_DISK_INSPECTOR_OPTIONS.deepTimeoutMs,
          qemuImg: sourceConfig.qemuImg ?? DEFAULT_VM_DISK_INSPECTOR_OPTIONS.qemuImg,
        });
    }
  }

  /** Checks the deep inspection's tools (before logging in, so that a failure leaves no session), then logs in. */
  override async open(signal: AbortSignal): Promise<void> {
    if (this.disks) {
      try {
        await this.disks.check();
        if (!this.sourceOptions.openSource) await runCommand(NBDKIT, ['curl', '--version'], 10_000);
      } catch (err) {
        throw new SourceFatalError(
          'other',
          `${(err as Error).message} (deep inspection of vSphere disks needs qemu-img, guestfish and nbdkit's curl plugin; or set INSPECTOR_DEEP_INSPECTION=first-pass)`,
        );
      }
    }
    await super.open(signal);
  }

  /** With deep inspection, the disks' files are read first and kept in the ref: what the snapshot freezes. */
  override async createSnapshot(
    vmId: string,
    name: string,
    description: string,
    signal: AbortSignal,
  ): Promise<SnapshotRef> {
    let base: BaseDisk[] | undefined;
    if (this.disks) {
      try {
        base = await readBaseDisks(this, vmId, signal);
      } catch (err) {
        throw this.vmError(err, vmId, 'reading the disks');
      }
    }
    const ref = await super.createSnapshot(vmId, name, description, signal);
    return base ? { ...ref, disks: base } : ref;
  }

  async inspect(vmId: string, ref: SnapshotRef | null, signal: AbortSignal): Promise<InspectionResults> {
    const facts = await this.readFacts(vmId, ref, signal);
    const results: InspectionResults = {
      source: 'vsphere',
      vmId,
      inspectedAt: new Date().toISOString(),
      durationMs: 0,
      snapshot: null,
      vsphere: facts,
      concerns: vsphereConcerns(facts),
    };
    if (!this.disks) return results;
    const found = await this.inspectDisks(this.disks, vmId, ref, signal);
    return {
      ...results,
      inspectedAt: new Date().toISOString(),
      disks: found.disks,
      guest: found.guest,
      concerns: mergeConcerns(results.concerns, found.concerns),
    };
  }

  /** The VM's facts and concerns as vSphere has them now, without a snapshot. */
  async factsOf(
    vmId: string,
    signal: AbortSignal,
  ): Promise<{ facts: VsphereVmFacts; concerns: InspectionConcern[] }> {
    const facts = await this.readFacts(vmId, null, signal);
    return { facts, concerns: vsphereConcerns(facts) };
  }

  private async readFacts(
    vmId: string,
    ref: SnapshotRef | null,
    signal: AbortSignal,
  ): Promise<VsphereVmFacts> {
    const { client, content } = this.session();
    try {
      const own = parseRef(ref);
      const vm = own ? { type: 'VirtualMachine', value: own.moref } : await this.resolveVm(vmId, signal);
      const vmContent = await retrieveOne(client, content.propertyCollector, vm, VM_PROPERTIES, signal);
      if (!vmContent) throw new VmNotFoundError(vmId);
      return buildVmFacts(vmContent.props, {
        moref: vm.value,
        inventoryPath: vmId.startsWith('/')
          ? vmId
          : await inventoryPath(this.lookup(), vmContent.props, signal),
        networks: await networkNames(this.lookup(), vmContent.props.get('network'), signal),
        ownSnapshot: own?.snapshot ?? null,
      });
    } catch (err) {
      throw this.vmError(err, vmId, 'inspection');
    }
  }

  /** The guest on the disks the ref's snapshot froze; what fails short of an abort is a concern. */
  private async inspectDisks(
    disks: DiskInspection,
    vmId: string,
    ref: SnapshotRef | null,
    signal: AbortSignal,
  ): Promise<VmDiskInspection> {
    const base = parseBaseDisks(ref);
    const none = (why: string): VmDiskInspection => ({
      disks: [],
      guest: null,
      guests: [],
      concerns: [deepInspectionFailed(why)],
    });
    if (!base) return none('no snapshot of this inspection says which disk files it froze');
    const stepTimeoutMs = Math.max(this.sourceConfig.requestTimeoutMs, OPEN_STEP_TIMEOUT_MS);
    const deepTimeoutMs =
      this.sourceConfig.virtInspectorTimeoutMs ?? DEFAULT_VM_DISK_INSPECTOR_OPTIONS.deepTimeoutMs;
    try {
      return await inspectOverDatastore(base, { cookie: () => this.cookie, caPem: this.caPem }, disks, {
        stepTimeoutMs,
        // Past the libguestfs session and the opening of each disk, the servers stop by themselves.
        lifetimeMs: deepTimeoutMs + stepTimeoutMs * (4 * base.length + 2),
        tmpDir: this.sourceConfig.tmpDir,
        qemuImg: this.sourceConfig.qemuImg,
        signal,
        logger: this.logger,
        vmId,
        open: this.sourceOptions.openSource,
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      this.logger.warn({
        msg: 'deep inspection over the datastore failed',
        vmId,
        error: (err as Error).message,
      });
      return none((err as Error).message);
    }
  }
}

/**
 * vSphere's concerns and the guest's, worst first. vSphere's VMWARE_TOOLS (an info from the tools
 * status) gives way to the guest's (a warning naming the files that show them).
 */
function mergeConcerns(vsphere: InspectionConcern[], guest: InspectionConcern[]): InspectionConcern[] {
  const tools = guest.some((c) => c.code === LocalConcernCodes.VMWARE_TOOLS);
  return sortConcerns([
    ...vsphere.filter((c) => !(tools && c.code === LocalConcernCodes.VMWARE_TOOLS)),
    ...guest,
  ]);
}
