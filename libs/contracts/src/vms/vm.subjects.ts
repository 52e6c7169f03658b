// Published subjects: never edit one in place.
export const VmSubjects = {
  CREATE: 'vm-operator.vm.create',
  LIST: 'vm-operator.vm.list',
  GET: 'vm-operator.vm.get',
  DELETE: 'vm-operator.vm.delete',
  START: 'vm-operator.vm.start',
  STOP: 'vm-operator.vm.stop',
  RESTART: 'vm-operator.vm.restart',
  /** Re-checks one VM's record against its QEMU (the observer's repair); replies the VM as it now is. */
  RECONCILE: 'vm-operator.vm.reconcile',
  /** The end of a VM's serial console log (ttyS0), readable whether or not it runs. */
  CONSOLE: 'vm-operator.vm.console',
} as const;
