// Published subjects: never edit one in place.
export const DiskSubjects = {
  CREATE: 'volume-daemon.disk.create',
  LIST: 'volume-daemon.disk.list',
  GET: 'volume-daemon.disk.get',
  DELETE: 'volume-daemon.disk.delete',
  ATTACH: 'volume-daemon.disk.attach',
  DETACH: 'volume-daemon.disk.detach',
  /** Brings a disk image in (a vSphere VM's disk, a file, a URL) as a new disk; replies the operation. */
  IMPORT: 'volume-daemon.disk.import',
  OPERATION_GET: 'volume-daemon.operation.get',
  /** Re-checks one disk's attachment against the backend (the observer's repair); replies the disk. */
  RECONCILE: 'volume-daemon.disk.reconcile',
  /** Power-state checks (seed 002), for the cleanup service. */
  POWER_STATE: 'volume-daemon.vm.power-state',
  VALIDATE_POWERED_OFF: 'volume-daemon.vm.validate-powered-off',
  POWER_OFF: 'volume-daemon.vm.power-off',
  CLEANUP_TEST_FAILOVER: 'volume-daemon.cleanup.test-failover',
  /** Detaches every disk attached to a VM and waits for it (vm-operator's delete of that VM). */
  DETACH_VM_DISKS: 'volume-daemon.vm.detach-disks',
  /** Fixes a guest offline on its disks (virt-v2v in place, then Ferry's planned edits); replies the operation. */
  FIX: 'volume-daemon.disk.fix',
  /** Rewrites an available disk's image into another format; replies the operation. */
  CONVERT: 'volume-daemon.disk.convert',
  /** Cancels a pending or running import, fix or convert; replies the operation. */
  OPERATION_CANCEL: 'volume-daemon.operation.cancel',
} as const;
