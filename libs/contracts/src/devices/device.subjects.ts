// Published subjects: never edit one in place.
export const DeviceSubjects = {
  ATTACH: 'vm-operator.device.attach',
  DETACH: 'vm-operator.device.detach',
  LIST: 'vm-operator.device.list',
  POWER_STATE: 'vm-operator.vm.power-state',
  SNAPSHOT: 'vm-operator.device.snapshot',
  CONSOLIDATE: 'vm-operator.device.consolidate',
} as const;
