import type { VmNicDto, VmState } from '@ferry/contracts';

/** A row of `vm_operator.vms`. Read and written with plain SQL in VmsRepository. */
export interface VmRecord {
  id: string;
  name: string;
  template: string;
  state: VmState;
  /** The first NIC's address. */
  localIp: string | null;
  /** Its NICs in order (vm_operator.vm_nics), each with its address. */
  nics: VmNicDto[];
  pid: number | null;
  accelerator: 'kvm' | 'tcg' | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}
