import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type {
  CreateVmRequest,
  ListVmsRequest,
  Page,
  VmAction,
  VmActionAcceptedDto,
  VmDto,
} from '@ferry/contracts';
import { FerryError, VmEvents, decodeCursor, pageLimit } from '@ferry/contracts';
import { EventFactory, Transactional, pageOf } from '@ferry/platform';
import { QemuDriver } from '../drivers/qemu/qemu-driver';
import type { VmRecord } from './entities/vm.entity';
import { VmLifecycle } from './vm-lifecycle.service';
import { ACTIONS, invalidTransition, toVmDto } from './vm-state';
import type { ActionOptions } from './vm-state';
import { VmTransitions } from './vm-events';
import { VmReconciler } from './vm-reconcile';
import { VmsRepository } from './vms.repository';
import { HostFit } from './host-fit';
import { VmDeletion } from './vm-deletion';
import { NicsRepository } from '../network/nics.repository';
import { VmNetwork } from '../network/vm-network.service';
import type { PlannedNic } from '../network/vm-network.service';

/** A generated MAC that another create took at the same moment is drawn again, this many times. */
const MAC_DRAWS = 3;

@Injectable()
export class VmsService {
  private readonly logger = new Logger(VmsService.name);

  constructor(
    private readonly vms: VmsRepository,
    private readonly tx: Transactional,
    private readonly events: EventFactory,
    private readonly transitions: VmTransitions,
    private readonly lifecycle: VmLifecycle,
    private readonly qemu: QemuDriver,
    private readonly reconciler: VmReconciler,
    private readonly hostFit: HostFit,
    private readonly deletion: VmDeletion,
    private readonly network: VmNetwork,
    private readonly nics: NicsRepository,
  ) {}

  async create(req: CreateVmRequest): Promise<VmDto> {
    await this.hostFit.check(req.template);
    for (let draw = 1; ; draw++) {
      const planned = this.network.plan(req.nics);
      try {
        return await this.insert(req, planned);
      } catch (err) {
        // Only a MAC vm-operator drew may be drawn again; one the caller named is its CONFLICT.
        const taken =
          err instanceof FerryError && err.code === 'CONFLICT' ? err.details?.['macs'] : undefined;
        const drawn = new Set(planned.filter((n) => n.generated).map((n) => n.mac));
        const redraw = Array.isArray(taken) && taken.length > 0 && taken.every((m) => drawn.has(m as string));
        if (!redraw || draw >= MAC_DRAWS) throw err;
      }
    }
  }

  private async insert(req: CreateVmRequest, nics: PlannedNic[]): Promise<VmDto> {
    const id = randomUUID();
    const vm = await this.tx.run(async (uow) => {
      const inserted = await this.vms.insert(uow.em, {
        id,
        name: req.name ?? `vm-${id.slice(0, 8)}`,
        template: req.template,
      });
      await this.nics.insert(uow.em, id, nics);
      const created = toVmDto(
        nics.length > 0 ? ((await this.vms.findById(id, uow.em)) ?? inserted) : inserted,
      );
      await uow.emit(this.events.create(VmEvents.CREATED, id, { vm: created }));
      return created;
    });
    this.logger.log({
      msg: 'VM created',
      vmId: id,
      name: vm.name,
      template: vm.template,
      macs: vm.nics.map((n) => n.mac),
    });
    return vm;
  }

  async get(id: string): Promise<VmDto> {
    return this.withHealth(await this.require(id));
  }

  /** One page of VMs, oldest first (created_at, then id). */
  async list(req: ListVmsRequest): Promise<Page<VmDto>> {
    const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor, ['time', 'uuid']);
    const limit = pageLimit(req);
    const rows = await this.vms.page(req.state, limit + 1, after);
    const page = pageOf(
      rows,
      limit,
      (r) => [r.pageAt, r.id],
      (r) => r,
    );
    return { ...page, items: await Promise.all(page.items.map((vm) => this.withHealth(vm))) };
  }

  private async withHealth(vm: VmRecord): Promise<VmDto> {
    return toVmDto(vm, vm.state === 'running' ? await this.qemu.qmpHealthy(vm.id) : null);
  }

  /** Moves the VM into its transitional state now (or 409), then carries the action out in the background. */
  async act(id: string, action: VmAction, options: ActionOptions = {}): Promise<VmActionAcceptedDto> {
    const vm = await this.require(id);
    const { from, to } = ACTIONS[action];
    const moved = await this.transitions.move(id, from, to, `${action} requested`);
    if (!moved) throw invalidTransition((await this.vms.findById(id)) ?? vm, action);
    this.lifecycle.run(moved, action, options);
    return { id, action, state: moved.state };
  }

  /** Re-checks the VM against its QEMU (see `VmReconciler.reconcile`) and replies it as it now is. */
  async reconcile(id: string): Promise<VmDto> {
    return this.withHealth(await this.reconciler.reconcile(id));
  }

  /** Stops the VM if it runs and detaches its disks (see VmDeletion); refuses while an action is in flight. */
  async delete(id: string): Promise<void> {
    await this.deletion.delete(await this.require(id));
  }

  private async require(id: string): Promise<VmRecord> {
    const vm = await this.vms.findById(id);
    if (!vm) throw FerryError.notFound(`VM "${id}" not found`, { id });
    return vm;
  }
}
