import type { VmAction, VmDto, VmState } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import type { VmRecord } from './entities/vm.entity';

/** Which states each action starts from, and the state it moves the VM to at once. */
/** `force` (stop only): no ACPI power-down grace, `quit` at once. */
export interface ActionOptions {
  force?: boolean;
}

export const ACTIONS: Readonly<Record<VmAction, { from: readonly VmState[]; to: VmState }>> = {
  start: { from: ['stopped', 'error'], to: 'starting' },
  stop: { from: ['running', 'error'], to: 'stopping' },
  restart: { from: ['running'], to: 'stopping' },
};

/** 409 naming the VM's state and what the action needs. */
export function invalidTransition(vm: VmRecord, action: VmAction): FerryError {
  const { from, to } = ACTIONS[action];
  return FerryError.conflict(
    `cannot ${action} VM "${vm.name}": it is ${vm.state}, and ${action} moves ${from.join(' or ')} to ${to}`,
    {
      id: vm.id,
      state: vm.state,
      action,
      allowedFrom: from,
    },
  );
}

/** `qmpHealthy` is only known when someone asked QEMU; events leave it null. */
export function toVmDto(vm: VmRecord, qmpHealthy: boolean | null = null): VmDto {
  return {
    id: vm.id,
    name: vm.name,
    template: vm.template,
    vm_template: vm.template,
    state: vm.state,
    local_ip: vm.localIp,
    nics: vm.nics.map((n) => ({ ...n })),
    pid: vm.pid,
    accelerator: vm.accelerator,
    qmp_healthy: qmpHealthy,
    last_error: vm.lastError,
    created_at: vm.createdAt.toISOString(),
    updated_at: vm.updatedAt.toISOString(),
  };
}
