import type { VmDto, VmState } from './vm.dto';

// Published event types: never edit one in place.
export const VmEvents = {
  CREATED: 'ferry.vm-operator.vm.created',
  STARTED: 'ferry.vm-operator.vm.started',
  STOPPED: 'ferry.vm-operator.vm.stopped',
  DELETED: 'ferry.vm-operator.vm.deleted',
  STATE_CHANGED: 'ferry.vm-operator.vm.state-changed',
  /** A NIC's address changed: a DHCP lease seen (bridge mode), or cleared when its VM stopped. */
  ADDRESS_CHANGED: 'ferry.vm-operator.vm.address-changed',
} as const;

export interface VmStateChange {
  from: VmState;
  to: VmState;
  /** Why: the action that caused it, or what was observed (e.g. "qemu exited"). */
  reason: string;
}

/** Data of `ferry.vm-operator.vm.address-changed`, subject = the VM id. */
export interface VmAddressChange {
  /** The VM. */
  id: string;
  /** The NIC, by its MAC (lower case). */
  mac: string;
  /** The NIC's address now; null when it has none (its VM stopped, its lease expired). */
  local_ip: string | null;
  /** Its address before; null when it had none. */
  previous: string | null;
}

export interface VmEventData {
  [VmEvents.CREATED]: { vm: VmDto };
  [VmEvents.STARTED]: { vm: VmDto };
  [VmEvents.STOPPED]: { vm: VmDto; reason: string };
  [VmEvents.DELETED]: { id: string; name: string };
  [VmEvents.STATE_CHANGED]: VmStateChange & { id: string };
  [VmEvents.ADDRESS_CHANGED]: VmAddressChange;
}
