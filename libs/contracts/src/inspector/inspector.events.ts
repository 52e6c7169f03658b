import type {
  InspectionResults,
  InspectionState,
  InspectionSourceType,
  InspectorState,
} from './inspector.dto';

// Published event types: never edit one in place.
export const InspectorEvents = {
  /** The inspector (its current run) changed state. Subject: the run id. */
  STATE_CHANGED: 'ferry.inspector.run.state-changed',
  /** One VM's inspection changed state. Subject: the VM id. */
  VM_STATE_CHANGED: 'ferry.inspector.vm.state-changed',
  /** A VM was inspected; carries the results. Subject: the VM id. */
  VM_INSPECTED: 'ferry.inspector.vm.inspected',
} as const;

export interface InspectorEventData {
  [InspectorEvents.STATE_CHANGED]: {
    runId: string;
    source: InspectionSourceType;
    from: InspectorState | null;
    to: InspectorState;
    error?: string;
  };
  [InspectorEvents.VM_STATE_CHANGED]: {
    runId: string;
    vmId: string;
    from: InspectionState | null;
    to: InspectionState;
    error?: string;
  };
  [InspectorEvents.VM_INSPECTED]: { runId: string; vmId: string; results: InspectionResults };
}
