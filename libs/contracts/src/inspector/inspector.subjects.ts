// Published subjects: never edit one in place.
export const InspectorSubjects = {
  /**
   * The inspector's wire key (`{publicKey}`, raw X25519, base64): callers seal vCenter passwords for it
   * (libs/platform sealFor) before they cross the broker.
   */
  WIRE_KEY: 'inspector.wire.key',
  /** Starts a run (seed 000 `POST /vms/inspector`). */
  START: 'inspector.run.start',
  /** The inspector's state (`GET /vms/inspector`). */
  STATUS: 'inspector.run.status',
  /** Adds VMs to the running inspector's queue (`PATCH /vms/inspector`). */
  ADD: 'inspector.run.add',
  /** Stops the inspector: cancels the pending VMs and the running ones (`DELETE /vms/inspector`). */
  STOP: 'inspector.run.stop',
  /** One page of the queue of the latest run that connected, first queued first (`GET /vms/inspector/queue`). */
  QUEUE: 'inspector.run.queue',
  /** One VM's inspection in the current run (`GET /vms/{id}/inspector`). */
  VM_STATUS: 'inspector.vm.status',
  /** Cancels one VM of the current run (`DELETE /vms/{id}/inspector`). */
  VM_CANCEL: 'inspector.vm.cancel',
  /** Every run's inspection of one VM, newest first (`GET /vms/{id}/inspector/history`). */
  VM_HISTORY: 'inspector.vm.history',
  /** Opens an export of a vSphere VM's disks: logs in, snapshots it when powered on, lists its disks. */
  EXPORT_OPEN: 'inspector.export.open',
  /** The session cookie that reads an export's disk URLs; renews the export's lease. */
  EXPORT_SESSION: 'inspector.export.session',
  /** One export as it is now (open or closed), without renewing its lease. */
  EXPORT_GET: 'inspector.export.get',
  /** Closes an export: removes its snapshot and logs out. Idempotent. */
  EXPORT_CLOSE: 'inspector.export.close',
  /** A vSphere VM's facts and concerns, read without a snapshot (a migration's check before FETCH). */
  VSPHERE_FACTS: 'inspector.vsphere.facts',
  /** Powers a vSphere VM off or on (a migration's cutover, and its cancel); idempotent. */
  VSPHERE_POWER: 'inspector.vsphere.power',
  /** Starts (idempotently, by the caller's id) a deep inspection of Ferry volumes; replies the job. */
  GUEST_INSPECT: 'inspector.guest.inspect',
  /** One volume inspection job as it is now. */
  GUEST_GET: 'inspector.guest.get',
} as const;
