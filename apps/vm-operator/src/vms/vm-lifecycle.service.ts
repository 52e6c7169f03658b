import { rm } from 'node:fs/promises';
import { Injectable, Logger } from '@nestjs/common';
import type { VmAction } from '@ferry/contracts';
import type { QmpClient } from '@ferry/qemu';
import { QemuDriver } from '../drivers/qemu/qemu-driver';
import { DevicesRepository } from '../devices/devices.repository';
import { DevicesService } from '../devices/devices.service';
import { TemplatesRepository } from '../templates/templates.repository';
import { VmNetwork } from '../network/vm-network.service';
import { ImagePaths } from '../storage/image-paths';
import { VmTransitions } from './vm-events';
import type { VmRecord } from './entities/vm.entity';
import type { ActionOptions } from './vm-state';

/**
 * Carries out accepted actions in the background (the request already got 202) and watches each
 * running QEMU: a QMP socket that closes while the VM is `running` means QEMU went away outside Ferry.
 */
@Injectable()
export class VmLifecycle {
  private readonly logger = new Logger(VmLifecycle.name);
  private readonly busy = new Set<Promise<void>>();
  /** The QMP connections whose close is watched (one listener each). */
  private readonly watched = new WeakSet<QmpClient>();

  constructor(
    private readonly qemu: QemuDriver,
    private readonly templates: TemplatesRepository,
    private readonly transitions: VmTransitions,
    private readonly devices: DevicesRepository,
    private readonly deviceOps: DevicesService,
    private readonly network: VmNetwork,
    private readonly images: ImagePaths,
  ) {}

  /** Runs `action` for a VM already moved to starting/stopping; never throws. */
  run(vm: VmRecord, action: VmAction, options: ActionOptions = {}): void {
    const work = this.perform(vm, action, options)
      .catch((err: Error) =>
        this.logger.error({ msg: 'VM action failed', vmId: vm.id, action, error: err.message }, err.stack),
      )
      .finally(() => this.busy.delete(work));
    this.busy.add(work);
  }

  /** For shutdown and tests: resolves when no action is running. */
  async idle(): Promise<void> {
    while (this.busy.size > 0) await Promise.allSettled([...this.busy]);
  }

  /**
   * Stops a VM already moved to `stopping` now, without the power-down grace, and waits for it; the
   * VM ends `stopped`, or `error` with the reason. For a delete that must detach disks first.
   */
  async stopNow(vm: VmRecord, reason: string): Promise<void> {
    await this.stop(vm, reason, 0);
  }

  /** Stops QEMU now (no power-down grace), removes the runtime directory and the VM's taps; for delete. */
  async destroy(vm: VmRecord): Promise<void> {
    await this.qemu.stop(vm.id, 0);
    await rm(this.qemu.paths(vm.id).dir, { recursive: true, force: true });
    await this.network.release(vm.id);
  }

  private async perform(vm: VmRecord, action: VmAction, options: ActionOptions): Promise<void> {
    switch (action) {
      case 'start':
        return this.start(vm, 'start requested');
      case 'stop':
        return this.stop(
          vm,
          options.force ? 'forced stop requested' : 'stop requested',
          options.force ? 0 : undefined,
        );
      case 'restart':
        await this.stop(vm, 'restart requested');
        if (await this.transitions.move(vm.id, ['stopped'], 'starting', 'restart requested'))
          await this.start(vm, 'restart requested');
        return;
      default: {
        const never: never = action;
        throw new Error(`unknown action ${String(never)}`);
      }
    }
  }

  private async start(vm: VmRecord, reason: string): Promise<void> {
    try {
      const template = await this.templates.findByName(vm.template);
      if (!template) throw new Error(`template "${vm.template}" no longer exists`);
      // A VM always starts with the disks recorded for it (cold-plugged while it was stopped), and
      // with the writes of any snapshot overlay committed into them.
      await this.deviceOps.settleOverlays(vm.id);
      const disks = await this.devices.list(vm.id);
      // Checked again here: a record older than the check, or a symlink changed since the attach.
      for (const disk of disks) await this.images.check(disk.path, disk.deviceId, disk.format);
      // Bridge, dnsmasq and taps (bridge mode) before QEMU opens the taps; a host that cannot give
      // the VM its network fails the start saying which setting to change, never falls back.
      const nics = await this.network.prepare(vm.id);
      const started = await this.qemu.start({
        id: vm.id,
        cpuCount: template.cpuCount,
        ramMiB: template.ramAmount,
        machine: template.machineType,
        disks,
        nics,
      });
      const running = await this.transitions.move(vm.id, ['starting'], 'running', reason, {
        pid: started.pid,
        accelerator: started.accelerator,
        lastError: null,
      });
      if (!running) {
        // Deleted or moved while QEMU was starting: do not leave a process nobody owns.
        await this.qemu.stop(vm.id, 0);
        return;
      }
      await this.watch(vm.id);
    } catch (err) {
      const message = (err as Error).message;
      await this.qemu.stop(vm.id, 0).catch(() => undefined);
      await this.transitions.move(vm.id, ['starting'], 'error', `start failed: ${message}`, {
        pid: null,
        lastError: message,
      });
    }
  }

  private async stop(vm: VmRecord, reason: string, graceMs?: number): Promise<void> {
    try {
      const outcome = await this.qemu.stop(vm.id, graceMs);
      await this.deviceOps.settleOverlays(vm.id);
      await this.transitions.move(vm.id, ['stopping'], 'stopped', `${reason} (${outcome})`, {
        pid: null,
        lastError: null,
      });
    } catch (err) {
      const message = (err as Error).message;
      await this.transitions.move(vm.id, ['stopping'], 'error', `stop failed: ${message}`, {
        lastError: message,
      });
    }
  }

  /**
   * Power changes outside Ferry: QEMU exited (guest power-off, killed by hand) while the VM ran.
   * Watching a VM that is already watched (a reconcile) adds nothing.
   */
  async watch(vmId: string): Promise<void> {
    const qmp = await this.qemu.connect(vmId);
    if (this.watched.has(qmp)) return;
    this.watched.add(qmp);
    qmp.once('close', () => {
      void this.transitions
        .move(vmId, ['running'], 'stopped', 'qemu exited', { pid: null })
        .then((vm) => vm && this.logger.warn({ msg: 'QEMU exited outside Ferry; VM marked stopped', vmId }))
        .catch((err: Error) =>
          this.logger.error({ msg: 'could not record that QEMU exited', vmId, error: err.message }),
        );
    });
  }
}
