import type { OnApplicationBootstrap } from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import type { VmRecord } from './entities/vm.entity';
import { VmLifecycle } from './vm-lifecycle.service';
import { VmReconciler } from './vm-reconcile';
import { VmsRepository } from './vms.repository';

/**
 * Before vm-operator serves anything, its records meet reality: a VM whose QEMU still runs (pid file,
 * the process is that VM's QEMU, QMP answers) is adopted as running and watched again; a VM whose QEMU
 * is gone is marked stopped with the reason. No VM stays starting or stopping for ever: a stop that a
 * crash interrupted is carried out again. The look and the changes are `VmReconciler`'s, which also
 * serves `vm-operator.vm.reconcile`.
 */
@Injectable()
export class VmRecovery implements OnApplicationBootstrap {
  private readonly logger = new Logger(VmRecovery.name);

  constructor(
    private readonly vms: VmsRepository,
    private readonly lifecycle: VmLifecycle,
    private readonly reconciler: VmReconciler,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const live = (await this.vms.list()).filter(
      (vm) => vm.state === 'starting' || vm.state === 'running' || vm.state === 'stopping',
    );
    for (const vm of live) {
      try {
        await this.reconcile(vm);
      } catch (err) {
        this.logger.error({ msg: 'could not reconcile VM', vmId: vm.id, error: (err as Error).message });
      }
    }
    if (live.length > 0)
      this.logger.log({ msg: 'reconciled VMs with their QEMU processes', count: live.length });
  }

  private async reconcile(vm: VmRecord): Promise<void> {
    const probe = await this.reconciler.probe(vm.id);
    if (!probe.pid || !probe.alive) {
      await this.reconciler.markGone(vm, probe, 'qemu not running when vm-operator started');
      return;
    }
    if (vm.state === 'stopping') {
      this.lifecycle.run(vm, 'stop');
      return;
    }
    // A running VM is simply watched again; one caught starting has made it, and says so.
    await this.reconciler.adopt(vm, probe.pid, 'adopted after vm-operator restart');
  }
}
