import type { AttachedDeviceDto } from './device.dto';

// Published event types: never edit one in place.
export const DeviceEvents = {
  ATTACHED: 'ferry.vm-operator.vm.device-attached',
  DETACHED: 'ferry.vm-operator.vm.device-detached',
} as const;

export interface DeviceEventData {
  [DeviceEvents.ATTACHED]: { vmId: string; device: AttachedDeviceDto; path: string };
  [DeviceEvents.DETACHED]: { vmId: string; deviceId: string; live: boolean };
}
