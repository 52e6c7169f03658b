import { Inject, Injectable } from '@nestjs/common';
import type { CleanupTestFailoverRequest } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import { VOLUME_BACKEND } from '../backends/backend.provider';
import type { VmPower, VolumeBackend } from '../backends/volume-backend';
import { DisksRepository } from './disks.repository';

/**
 * The VMs and disks a request names, looked up before anything changes. An id that names nothing,
 * whatever its shape (seed 002's clients send `vm-12345678-test`), is NOT_FOUND naming it.
 */
@Injectable()
export class References {
  constructor(
    private readonly disks: DisksRepository,
    @Inject(VOLUME_BACKEND) private readonly backend: VolumeBackend,
  ) {}

  /** The VM's power state; NOT_FOUND for a VM the backend does not know. */
  async vm(vmId: string): Promise<VmPower> {
    const power = await this.findVm(vmId);
    if (!power) throw FerryError.notFound(`VM "${vmId}" not found`, { vmId });
    return power;
  }

  /** The test VM's power state; one NOT_FOUND naming every id of the request that names nothing. */
  async testFailover(req: CleanupTestFailoverRequest): Promise<VmPower> {
    const [test, oma, volume] = await Promise.all([
      this.findVm(req.test_vm_id),
      this.findVm(req.oma_vm_id),
      this.disks.findById(req.volume_id),
    ]);
    if (test && oma && volume) return test;
    const missing: Record<string, string> = {};
    if (!test) missing['test_vm_id'] = req.test_vm_id;
    if (!volume) missing['volume_id'] = req.volume_id;
    if (!oma) missing['oma_vm_id'] = req.oma_vm_id;
    const named = Object.entries(missing).map(([field, id]) => `${field} "${id}"`);
    throw FerryError.notFound(`not found: ${named.join(', ')}`, { missing });
  }

  private findVm(vmId: string): Promise<VmPower | null> {
    return this.backend.powerState(vmId).catch((err: unknown) => {
      if (err instanceof FerryError && err.code === 'NOT_FOUND') return null;
      throw err;
    });
  }
}
