// Published subjects: never edit one in place.
export const InspectorSubjects = {
  /** Starts a run (seed 000 `POST /vms/inspector`). */
  START: 'inspector.run.start',
  /** The inspector's state (`GET /vms/inspector`). */
  STATUS: 'inspector.run.status',
  /** Adds VMs to the running inspector's queue (`PATCH /vms/inspector`). */
  ADD: 'inspector.run.add',
  /** Stops the inspector: cancels the pending VMs and the running ones (`DELETE /vms/inspector`). */
  STOP: 'inspector.run.stop',
  /** One VM's inspection in the current run (`GET /vms/{id}/inspector`). */
  VM_STATUS: 'inspector.vm.status',
  /** Cancels one VM of the current run (`DELETE /vms/{id}/inspector`). */
  VM_CANCEL: 'inspector.vm.cancel',
  /** Every run's inspection of one VM, newest first (`GET /vms/{id}/inspector/history`). */
  VM_HISTORY: 'inspector.vm.history',
} as const;
