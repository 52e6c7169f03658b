import type { VmDto, VmState } from './vm.dto';

// Published event types: never edit one in place.
export const VmEvents = {
  CREATED: 'ferry.vm-operator.vm.created',
  STARTED: 'ferry.vm-operator.vm.started',
  STOPPED: 'ferry.vm-operator.vm.stopped',
  DELETED: 'ferry.vm-operator.vm.deleted',
  STATE_CHANGED: 'ferry.vm-operator.vm.state-changed',
} as const;

export interface VmStateChange {
  from: VmState;
  to: VmState;
  /** Why: the action that caused it, or what was observed (e.g. "qemu exited"). */
  reason: string;
}

export interface VmEventData {
  [VmEvents.CREATED]: { vm: VmDto };
  [VmEvents.STARTED]: { vm: VmDto };
  [VmEvents.STOPPED]: { vm: VmDto; reason: string };
  [VmEvents.DELETED]: { id: string; name: string };
  [VmEvents.STATE_CHANGED]: VmStateChange & { id: string };
}
