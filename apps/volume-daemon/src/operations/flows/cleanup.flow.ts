import type { CleanupTestFailoverRequest } from '@ferry/contracts';
import { FerryError, errorOf } from '@ferry/contracts';
import type { DiskRecord } from '../../disks/disks.repository';
import type { OperationContext } from '../operation-context';
import { refOf } from '../operation-context';
import { retrying } from '@ferry/platform';
import { attachAndVerify } from './attach.flow';
import { detachAndVerify } from './detach.flow';
import type { FlowDeps } from './flow-deps';
import { DEFAULT_DETACH_TIMEOUT_MS, DEFAULT_POWER_OFF_TIMEOUT_MS } from './flow-deps';

type CleanupParams = Required<CleanupTestFailoverRequest>;

/**
 * Seed 002's CleanupTestFailover: test VM off → volume detached from it → reattached to the appliance
 * VM → verified by device correlation → test VM deleted (optional). Each phase starts from what the
 * disk record says, so a resumed operation skips what is done. Once the volume has left the test VM,
 * any failure ends in the emergency reattach: the volume is never left attached to nothing.
 */
export async function runCleanup(ctx: OperationContext, deps: FlowDeps): Promise<void> {
  const p = ctx.op.params as unknown as CleanupParams;
  let disk = await ctx.disk();

  if (disk.vmId === p.test_vm_id) {
    try {
      disk = await leaveTestVm(ctx, deps, disk, p);
    } catch (err) {
      return settleOnTestVm(ctx, deps, disk, p, err);
    }
  }

  if (!(disk.vmId === p.oma_vm_id && disk.state === 'in-use')) {
    try {
      disk = await reattach(ctx, deps, disk, p.oma_vm_id, 'reattach-to-appliance', 'verify-correlation');
    } catch (err) {
      disk = await emergencyReattach(ctx, deps, p, err);
      if (disk.state !== 'in-use') return;
    }
  }

  try {
    if (p.delete_vm) {
      await ctx.step('delete-test-vm', () =>
        retrying(deps.retryMs, () => deps.backend.deleteVm(p.test_vm_id)),
      );
      await ctx.step('verify-test-vm-deleted', async () => {
        const gone = await deps.backend.powerState(p.test_vm_id).then(
          () => false,
          (err: unknown) => err instanceof FerryError && err.code === 'NOT_FOUND',
        );
        if (!gone) throw new FerryError('INTERNAL', `test VM ${p.test_vm_id} still exists after the delete`);
      });
    } else {
      await ctx.record('delete-test-vm', 'skipped', 'delete_vm is false');
    }
    await ctx.finish({ status: 'completed' }, { lastError: null }, 'test-failover cleanup completed');
  } catch (err) {
    // The volume is safe on the appliance; only the test VM is left behind.
    await ctx.finish({ status: 'failed', error: errorOf(err) }, {}, 'test VM not deleted');
  }
}

/** Phases 2 and 3a: the test VM must be off (powered off if force_clean), then the volume comes off it. */
async function leaveTestVm(
  ctx: OperationContext,
  deps: FlowDeps,
  disk: DiskRecord,
  p: CleanupParams,
): Promise<DiskRecord> {
  const power = await ctx.step(
    'check-power-state',
    () => retrying(deps.retryMs, () => deps.backend.powerState(p.test_vm_id)),
    (s) => `test VM is ${s.state}`,
  );
  if (power.running) {
    if (!p.force_clean)
      throw FerryError.conflict(
        `test VM ${p.test_vm_id} is ${power.state}; power it off or set force_clean`,
        {
          vmId: p.test_vm_id,
          state: power.state,
        },
      );
    await ctx.step(
      'power-off',
      () => retrying(deps.retryMs, () => deps.backend.powerOff(p.test_vm_id, DEFAULT_POWER_OFF_TIMEOUT_MS)),
      (s) => `test VM is ${s.state}`,
    );
  }
  await ctx.step('verify-powered-off', async () => {
    const now = await retrying(deps.retryMs, () => deps.backend.powerState(p.test_vm_id));
    if (now.running)
      throw FerryError.conflict(`test VM ${p.test_vm_id} is still ${now.state}`, { vmId: p.test_vm_id });
  });
  if (disk.state !== 'detaching')
    disk = await ctx.move({ state: 'detaching' }, 'test-failover cleanup: detaching from the test VM');
  await detachAndVerify(ctx, deps, disk, p.test_vm_id, DEFAULT_DETACH_TIMEOUT_MS, {
    detach: 'detach-from-test-vm',
    verify: 'verify-detached',
  });
  return ctx.move(
    { state: 'available', vmId: null, mountPoint: null },
    'test-failover cleanup: detached from the test VM',
    (uow, d) => ctx.announce(uow, 'detached', d, p.test_vm_id),
  );
}

/** A failure before the volume left the test VM: it stays (or is put back) where the VM shows it. */
async function settleOnTestVm(
  ctx: OperationContext,
  deps: FlowDeps,
  disk: DiskRecord,
  p: CleanupParams,
  cause: unknown,
): Promise<void> {
  const error = errorOf(cause);
  const still = await retrying(deps.retryMs, () =>
    deps.backend.findAttachment(refOf(disk), p.test_vm_id),
  ).catch(() => undefined);
  if (still) {
    await ctx.finish(
      { status: 'failed', error },
      { state: 'in-use', lastError: null },
      'test-failover cleanup failed before the detach',
    );
    return;
  }
  // It did come off (or we cannot tell): the appliance must get it back.
  await ctx
    .move(
      { state: 'available', vmId: null, mountPoint: null },
      'test-failover cleanup: off the test VM after a failure',
    )
    .catch(() => undefined);
  const safe = await emergencyReattach(ctx, deps, p, cause);
  if (safe.state === 'in-use')
    await ctx.finish(
      { status: 'failed', error },
      {},
      'test-failover cleanup failed; volume back on the appliance',
    );
}

async function reattach(
  ctx: OperationContext,
  deps: FlowDeps,
  disk: DiskRecord,
  vmId: string,
  attachStep: string,
  verifyStep: string,
): Promise<DiskRecord> {
  if (!(disk.state === 'attaching' && disk.vmId === vmId))
    disk = await ctx.move(
      { state: 'attaching', vmId, mountPoint: null },
      `test-failover cleanup: attaching to VM ${vmId}`,
    );
  const correlation = await attachAndVerify(ctx, deps, disk, vmId, {
    attach: attachStep,
    verify: verifyStep,
  });
  return ctx.move(
    { state: 'in-use', mountPoint: correlation.by_id_path },
    `attached to VM ${vmId}`,
    async (uow, d) => {
      await ctx.setCorrelation(uow, correlation);
      await ctx.announce(uow, 'attached', d, vmId);
    },
  );
}

/**
 * Seed 002's "emergency reattach": the volume goes back on the appliance VM, tried
 * `reattachAttempts` times with backoff. If every attempt fails, the disk is marked `error`, the
 * operation failed, and the message says where the volume is and what a person must do.
 */
async function emergencyReattach(
  ctx: OperationContext,
  deps: FlowDeps,
  p: CleanupParams,
  cause: unknown,
): Promise<DiskRecord> {
  let last: unknown = cause;
  for (let attempt = 1; attempt <= deps.reattachAttempts; attempt++) {
    await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** (attempt - 1), 5000)));
    try {
      const disk = await ctx.disk();
      return await reattach(
        ctx,
        deps,
        disk,
        p.oma_vm_id,
        `emergency-reattach-${attempt}`,
        `verify-emergency-reattach-${attempt}`,
      );
    } catch (err) {
      last = err;
    }
  }
  const message =
    `volume ${ctx.op.diskId} is attached to no VM after a failed test-failover cleanup ` +
    `(${errorOf(cause).message}; last reattach error: ${errorOf(last).message}). ` +
    `Attach it to appliance VM ${p.oma_vm_id} by hand: POST /api/v1/disks/${ctx.op.diskId}/attach {"vmId":"${p.oma_vm_id}"}`;
  await ctx.finish(
    { status: 'failed', error: { code: errorOf(cause).code, message } },
    { state: 'error', vmId: null, mountPoint: null, lastError: message },
    'emergency reattach failed',
  );
  return ctx.disk();
}
