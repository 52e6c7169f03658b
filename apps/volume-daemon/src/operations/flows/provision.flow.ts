import { DiskEvents, errorOf } from '@ferry/contracts';
import type { EventFactory, Transactional } from '@ferry/platform';
import { toDiskDto } from '../../disks/disk-dto';
import type { DisksRepository } from '../../disks/disks.repository';
import type { OperationContext } from '../operation-context';
import { refOf } from '../operation-context';
import { retrying } from '@ferry/platform';
import type { FlowDeps } from './flow-deps';

/**
 * Creates the disk's image. A create that a crash interrupted is undone rather than finished: its
 * caller never got an answer, and a half-written image is not worth keeping.
 */
export async function runCreate(
  ctx: OperationContext,
  deps: FlowDeps,
  disks: DisksRepository,
  events: EventFactory,
  tx: Transactional,
): Promise<void> {
  const disk = await ctx.disk();
  if (ctx.resumed) {
    await ctx.step('remove-partial-image', () => deps.backend.deleteDisk(refOf(disk)));
    await ctx.finishRemoved(
      {
        status: 'failed',
        error: {
          code: 'INTERNAL',
          message: 'interrupted by a restart of volume-daemon; create the disk again',
        },
      },
      disk.name,
    );
    return;
  }
  try {
    const made = await ctx.step(
      'create-image',
      () =>
        deps.backend.createDisk({
          id: disk.id,
          name: disk.name,
          sizeBytes: disk.sizeBytes,
          format: disk.format,
        }),
      (m) => (m.path ? `${m.path}` : `volume ${m.ref}`),
    );
    await tx.run((uow) => disks.setProvisioned(uow.em, disk.id, made.ref, made.path));
    await ctx.finish({ status: 'completed' }, { state: 'available' }, 'created', (uow, d) =>
      uow.emit(events.create(DiskEvents.CREATED, d.id, { disk: toDiskDto(d) })),
    );
  } catch (err) {
    await deps.backend.deleteDisk(refOf(disk)).catch(() => undefined);
    await ctx.finishRemoved({ status: 'failed', error: errorOf(err) }, disk.name);
  }
}

/** Removes the image, then the record. Finished even after a crash: deleting twice is harmless. */
export async function runDelete(ctx: OperationContext, deps: FlowDeps): Promise<void> {
  const disk = await ctx.disk();
  try {
    await ctx.step('delete-image', () => retrying(deps.retryMs, () => deps.backend.deleteDisk(refOf(disk))));
    await ctx.finishRemoved({ status: 'completed' }, disk.name);
  } catch (err) {
    const error = errorOf(err);
    await ctx.finish(
      { status: 'failed', error },
      { state: 'error', lastError: `delete failed: ${error.message}` },
      'delete failed',
    );
  }
}
