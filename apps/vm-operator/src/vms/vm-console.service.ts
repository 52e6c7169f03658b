import { Injectable } from '@nestjs/common';
import type { VmConsoleDto, VmConsoleRequest } from '@ferry/contracts';
import { CONSOLE_TAIL_DEFAULT_BYTES, FerryError } from '@ferry/contracts';
import { QemuDriver } from '../drivers/qemu/qemu-driver';
import { VmsRepository } from './vms.repository';

/**
 * What a console reply's text may take once JSON-encoded: NATS refuses messages over its max_payload
 * (1 MiB unless configured), and a reply that is refused never reaches the caller, who would only see
 * a TIMEOUT. 4 KiB are left for the rest of the reply.
 */
export const CONSOLE_REPLY_TEXT_BUDGET = 1024 * 1024 - 4 * 1024;

/** `vm-operator.vm.console`: the end of a VM's serial console log, in whatever state the VM is. */
@Injectable()
export class VmConsoleService {
  constructor(
    private readonly vms: VmsRepository,
    private readonly qemu: QemuDriver,
  ) {}

  /** NOT_FOUND for an unknown VM; a VM that never started has an empty console. */
  async read(req: VmConsoleRequest): Promise<VmConsoleDto> {
    const vm = await this.vms.findById(req.id);
    if (!vm) throw FerryError.notFound(`VM "${req.id}" not found`, { id: req.id });
    const tail = await this.qemu.readConsole(vm.id, req.boot ?? 'current', {
      tailBytes: req.tailBytes ?? CONSOLE_TAIL_DEFAULT_BYTES,
      maxJsonBytes: CONSOLE_REPLY_TEXT_BUDGET,
    });
    return {
      id: vm.id,
      text: tail.text,
      bytes: tail.bytes,
      truncated: tail.truncated,
      updated_at: tail.updatedAt?.toISOString() ?? null,
    };
  }
}
