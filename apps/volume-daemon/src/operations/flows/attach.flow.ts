import type { DeviceCorrelationDto } from '@ferry/contracts';
import { FerryError, errorOf } from '@ferry/contracts';
import type { DiskRecord } from '../../disks/disks.repository';
import type { OperationContext } from '../operation-context';
import { correlationDto, refOf } from '../operation-context';
import { retrying } from '@ferry/platform';
import type { FlowDeps } from './flow-deps';
import { DEFAULT_DETACH_TIMEOUT_MS } from './flow-deps';

/**
 * Plugs the disk into the VM through the backend, then checks that the VM lists it (the seed's
 * device correlation) before anyone is told it is attached. Both calls are idempotent, so a resumed
 * operation simply runs them again.
 */
export async function attachAndVerify(
  ctx: OperationContext,
  deps: FlowDeps,
  disk: DiskRecord,
  vmId: string,
  names = { attach: 'attach-device', verify: 'verify-device' },
): Promise<DeviceCorrelationDto> {
  const plugged = await ctx.step(
    names.attach,
    () => retrying(deps.retryMs, () => deps.backend.attach(refOf(disk), vmId)),
    (c) => `${c.byIdPath} at ${c.address}${c.live ? '' : ' (cold-plugged; the VM is not running)'}`,
  );
  const seen = await ctx.step(
    names.verify,
    async () => {
      const found = await retrying(deps.retryMs, () => deps.backend.findAttachment(refOf(disk), vmId));
      if (!found)
        throw new FerryError(
          'INTERNAL',
          `VM ${vmId} does not list device ${plugged.deviceId} after the attach`,
        );
      if (found.byIdPath !== plugged.byIdPath)
        throw new FerryError(
          'INTERNAL',
          `VM ${vmId} shows the device as ${found.byIdPath}, not ${plugged.byIdPath}`,
        );
      return found;
    },
    (c) => `listed by VM ${vmId} as ${c.byIdPath}`,
  );
  return correlationDto(vmId, { ...plugged, live: seen.live });
}

/** Brings a disk that is `attaching` to its VM to `in-use`, or back to `available` when that fails. */
export async function runAttach(ctx: OperationContext, deps: FlowDeps): Promise<void> {
  const disk = await ctx.disk();
  const vmId = disk.vmId;
  if (!vmId) throw new FerryError('INTERNAL', `disk ${disk.id} is attaching to no VM`);
  try {
    const correlation = await attachAndVerify(ctx, deps, disk, vmId);
    await ctx.finish(
      { status: 'completed' },
      { state: 'in-use', mountPoint: correlation.by_id_path, lastError: null },
      'attached',
      async (uow, d) => {
        await ctx.setCorrelation(uow, correlation);
        await ctx.announce(uow, 'attached', d, vmId);
      },
    );
  } catch (err) {
    await rollBackAttach(ctx, deps, disk, vmId, err);
  }
}

/** After a failed attach: unplug whatever got plugged, so the disk ends `available`; `error` if unsure. */
export async function rollBackAttach(
  ctx: OperationContext,
  deps: FlowDeps,
  disk: DiskRecord,
  vmId: string,
  cause: unknown,
): Promise<void> {
  const error = errorOf(cause);
  try {
    await ctx.step('roll-back', async () => {
      if (await retrying(deps.retryMs, () => deps.backend.findAttachment(refOf(disk), vmId)))
        await retrying(deps.retryMs, () => deps.backend.detach(refOf(disk), vmId, DEFAULT_DETACH_TIMEOUT_MS));
    });
    await ctx.finish(
      { status: 'failed', error },
      {
        state: 'available',
        vmId: null,
        mountPoint: null,
        lastError: `attach to VM ${vmId} failed: ${error.message}`,
      },
      'attach failed; rolled back',
    );
  } catch (rollbackErr) {
    const message = `attach to VM ${vmId} failed (${error.message}) and so did the roll-back (${errorOf(rollbackErr).message}); the disk may still be attached to that VM: detach it once the VM is reachable`;
    await ctx.finish(
      { status: 'failed', error: { code: error.code, message } },
      { state: 'error', lastError: message },
      'attach failed; roll-back failed',
    );
  }
}
