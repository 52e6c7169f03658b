import { Injectable, Logger } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import { QemuDriver } from '../drivers/qemu/qemu-driver';
import type { VmRecord } from './entities/vm.entity';
import { VmLifecycle } from './vm-lifecycle.service';
import { VmTransitions } from './vm-events';
import { VmsRepository } from './vms.repository';

/** What the VM's QEMU is now. */
export interface QemuProbe {
  /** The pid of a live QEMU process of this VM (pid file, `/proc/<pid>/cmdline`), if there is one. */
  pid: number | undefined;
  /** There is one, and its QMP answers that it runs. */
  alive: boolean;
}

/**
 * A VM's record meets its QEMU: shared by start-up recovery (`VmRecovery`) and by
 * `vm-operator.vm.reconcile` (the observer's repair). Every change goes through
 * `VmTransitions.move`, a compare-and-set on the state the VM was seen in, so an action that moved
 * the VM in the meantime is never overwritten.
 */
@Injectable()
export class VmReconciler {
  private readonly logger = new Logger(VmReconciler.name);

  constructor(
    private readonly vms: VmsRepository,
    private readonly qemu: QemuDriver,
    private readonly lifecycle: VmLifecycle,
    private readonly transitions: VmTransitions,
  ) {}

  async probe(vmId: string): Promise<QemuProbe> {
    const pid = await this.qemu.runningPid(vmId);
    const alive = pid
      ? await this.qemu.status(vmId).then(
          (s) => s.running,
          () => false,
        )
      : false;
    return { pid, alive };
  }

  /**
   * The VM's QEMU is gone or does not answer: a process that is left is stopped (`quit`, then
   * SIGKILL), and the VM moves from the state it was seen in to `stopped`. Null when it had moved on.
   */
  async markGone(vm: VmRecord, probe: QemuProbe, reason: string): Promise<VmRecord | null> {
    if (probe.pid) await this.qemu.stop(vm.id, 0);
    return this.transitions.move(vm.id, [vm.state], 'stopped', reason, { pid: null });
  }

  /**
   * The VM's QEMU runs: the VM becomes `running` with its pid (unless it already is) and its QMP is
   * watched again. Null when it had moved on.
   */
  async adopt(vm: VmRecord, pid: number, reason: string): Promise<VmRecord | null> {
    const adopted =
      vm.state === 'running'
        ? vm
        : await this.transitions.move(vm.id, [vm.state], 'running', reason, { pid, lastError: null });
    if (adopted) await this.lifecycle.watch(vm.id);
    return adopted;
  }

  /**
   * On request, for one VM: `running` without a live, answering QEMU → `stopped`; `stopped` or `error`
   * with one → `running` (adopted and watched); `starting`/`stopping` are left to the action in flight.
   * Returns the VM as it now is; NOT_FOUND for an unknown (or meanwhile deleted) VM.
   */
  async reconcile(id: string): Promise<VmRecord> {
    const vm = await this.require(id);
    if (vm.state === 'starting' || vm.state === 'stopping') return vm;
    const probe = await this.probe(id);
    let changed: VmRecord | null = null;
    if (vm.state === 'running' && !probe.alive) {
      changed = await this.markGone(vm, probe, 'qemu not running (reconciled on request)');
    } else if ((vm.state === 'stopped' || vm.state === 'error') && probe.alive && probe.pid) {
      changed = await this.adopt(vm, probe.pid, 'qemu found running (reconciled on request)');
    } else if (vm.state === 'running') {
      // Record and QEMU agree; make sure its exit would still be seen.
      await this.lifecycle.watch(vm.id);
      return vm;
    } else {
      return vm;
    }
    if (changed) {
      this.logger.warn({
        msg: 'VM record reconciled with its QEMU',
        vmId: id,
        from: vm.state,
        to: changed.state,
      });
      return changed;
    }
    // Someone else moved it between the look and the change: theirs stands.
    return this.require(id);
  }

  private async require(id: string): Promise<VmRecord> {
    const vm = await this.vms.findById(id);
    if (!vm) throw FerryError.notFound(`VM "${id}" not found`, { id });
    return vm;
  }
}
