import type { VmState } from '@ferry/contracts';

/** A row of `vm_operator.vms`. Read and written with plain SQL in VmsRepository. */
export interface VmRecord {
  id: string;
  name: string;
  template: string;
  state: VmState;
  localIp: string | null;
  pid: number | null;
  accelerator: 'kvm' | 'tcg' | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}
