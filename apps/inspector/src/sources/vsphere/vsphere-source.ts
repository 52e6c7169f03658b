import type { InspectionResults } from '@ferry/contracts';
import type { InspectionSource, SnapshotRef } from '../source';
import { VmNotFoundError } from '../source';
import { retrieveOne } from './property-collector';
import { inventoryPath, networkNames } from './vm-lookup';
import { vsphereConcerns } from './vsphere-concerns';
import { VM_PROPERTIES, buildVmFacts } from './vsphere-facts.mapper';
import { parseRef } from './vsphere-config';
import { VsphereSession } from './vsphere-session';

export type {
  SourceLogger,
  VsphereCredentials,
  VsphereSourceConfig,
  VsphereSourceOptions,
} from './vsphere-config';

/**
 * VMs in vCenter (or ESXi) as an inspection source: a VsphereSession (login, VM lookup, snapshots)
 * that also reads a VM's facts and concerns.
 */
export class VsphereSource extends VsphereSession implements InspectionSource {
  readonly type = 'vsphere' as const;
  readonly snapshots = true;

  async inspect(vmId: string, ref: SnapshotRef | null, signal: AbortSignal): Promise<InspectionResults> {
    const { client, content } = this.session();
    try {
      const own = parseRef(ref);
      const vm = own ? { type: 'VirtualMachine', value: own.moref } : await this.resolveVm(vmId, signal);
      const vmContent = await retrieveOne(client, content.propertyCollector, vm, VM_PROPERTIES, signal);
      if (!vmContent) throw new VmNotFoundError(vmId);
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
}
