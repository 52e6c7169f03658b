import { FerryError, errorOf } from '@ferry/contracts';
import type { DiskRecord } from '../../disks/disks.repository';
import type { OperationContext } from '../operation-context';
import { refOf } from '../operation-context';
import { retrying } from '@ferry/platform';
import type { FlowDeps } from './flow-deps';
import { DEFAULT_DETACH_TIMEOUT_MS } from './flow-deps';

/** Unplugs the disk and checks that the VM no longer lists it. Both calls are idempotent. */
export async function detachAndVerify(
  ctx: OperationContext,
  deps: FlowDeps,
  disk: DiskRecord,
  vmId: string,
  timeoutMs: number,
  names = { detach: 'detach-device', verify: 'verify-detached' },
): Promise<void> {
  await ctx.step(names.detach, () =>
    retrying(deps.retryMs, () => deps.backend.detach(refOf(disk), vmId, timeoutMs)),
  );
  await ctx.step(names.verify, async () => {
    if (await retrying(deps.retryMs, () => deps.backend.findAttachment(refOf(disk), vmId)))
      throw new FerryError('INTERNAL', `VM ${vmId} still lists the disk after the detach`);
  });
}

/** Brings a disk that is `detaching` to `available`; when that fails, to whatever the VM shows. */
export async function runDetach(ctx: OperationContext, deps: FlowDeps): Promise<void> {
  const disk = await ctx.disk();
  const vmId = disk.vmId;
  if (!vmId) throw new FerryError('INTERNAL', `disk ${disk.id} is detaching from no VM`);
  const timeoutMs = Number(ctx.op.params['timeoutMs'] ?? DEFAULT_DETACH_TIMEOUT_MS);
  try {
    await detachAndVerify(ctx, deps, disk, vmId, timeoutMs);
    await ctx.finish(
      { status: 'completed' },
      { state: 'available', vmId: null, mountPoint: null, lastError: null },
      'detached',
      (uow, d) => ctx.announce(uow, 'detached', d, vmId),
    );
  } catch (err) {
    await settleFailedDetach(ctx, deps, disk, vmId, err);
  }
}

/** The record follows the VM: still listed → `in-use`; gone → `available`; cannot tell → `error`. */
async function settleFailedDetach(
  ctx: OperationContext,
  deps: FlowDeps,
  disk: DiskRecord,
  vmId: string,
  cause: unknown,
): Promise<void> {
  const error = errorOf(cause);
  const lastError = `detach from VM ${vmId} failed: ${error.message}`;
  try {
    const still = await retrying(deps.retryMs, () => deps.backend.findAttachment(refOf(disk), vmId));
    if (still) {
      await ctx.finish(
        { status: 'failed', error },
        { state: 'in-use', lastError },
        'detach failed; still attached',
      );
    } else {
      await ctx.finish(
        { status: 'failed', error },
        { state: 'available', vmId: null, mountPoint: null, lastError },
        'detach failed but the VM no longer has the disk',
        (uow, d) => ctx.announce(uow, 'detached', d, vmId),
      );
    }
  } catch (checkErr) {
    const message = `${lastError}; whether the VM still has it is unknown (${errorOf(checkErr).message})`;
    await ctx.finish(
      { status: 'failed', error: { code: error.code, message } },
      { state: 'error', lastError: message },
      'detach failed; state unknown',
    );
  }
}
