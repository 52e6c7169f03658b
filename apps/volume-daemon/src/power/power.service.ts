import { Inject, Injectable } from '@nestjs/common';
import type { VmPowerDto } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import { VOLUME_BACKEND } from '../backends/backend.provider';
import type { VolumeBackend } from '../backends/volume-backend';
import { DEFAULT_POWER_OFF_TIMEOUT_MS } from '../operations/flows/flow-deps';

/** Seed 002's GetVMPowerState, ValidateVMPoweredOff and PowerOffVM, for the cleanup service. */
@Injectable()
export class PowerService {
  constructor(@Inject(VOLUME_BACKEND) private readonly backend: VolumeBackend) {}

  powerState(vmId: string): Promise<VmPowerDto> {
    return this.backend.powerState(vmId);
  }

  async validatePoweredOff(vmId: string): Promise<VmPowerDto> {
    const power = await this.backend.powerState(vmId);
    if (power.running)
      throw FerryError.conflict(`VM ${vmId} is ${power.state}; it must be powered off`, {
        vmId,
        state: power.state,
      });
    return power;
  }

  powerOff(vmId: string, timeoutMs = DEFAULT_POWER_OFF_TIMEOUT_MS): Promise<VmPowerDto> {
    return this.backend.powerOff(vmId, timeoutMs);
  }
}
