import { rm } from 'node:fs/promises';
import type { ImportStage } from '@ferry/contracts';
import { FerryError, errorOf } from '@ferry/contracts';
import { CommandError, commandReason } from '@ferry/platform';
import type { OpenedSource } from '@ferry/qemu';
import { compareImages, convertImage } from '@ferry/qemu';
import type { DiskRecord } from '../../disks/disks.repository';
import type { ImportParams } from '../../imports/import-params';
import { ImportProgress } from '../../imports/import-progress';
import type { OperationContext } from '../operation-context';
import { OperationAbandoned, OperationCancelled, endingOf } from '../operation-context';
import { attachAndVerify, rollBackAttach } from './attach.flow';
import type { FlowDeps } from './flow-deps';

/** A failed qemu-img run as the operation records it: qemu-img's own reason. */
export function qemuFailure(what: string, err: unknown): unknown {
  if (err instanceof CommandError && err.kind !== 'aborted')
    return new FerryError('UNPROCESSABLE', `${what}: ${commandReason(err)}`);
  return err;
}

function gib(n: number): string {
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * FETCH → FLATTEN → CONVERT, then VERIFY, into the disk's own file; then the optional attach.
 *
 * - fetch: the source is opened (local file, or HTTPS with the export's session: HEAD, then nbdkit).
 * - flatten: the layers (descriptor and extents, a snapshot chain, an OVA member) are resolved into
 *   one guest-visible image, whose size must still be what was accepted.
 * - convert: one streaming pass, `qemu-img convert` reading the source as it is fetched, no temporary
 *   copy; bytes are the guest-visible bytes written so far.
 * - verify: `qemu-img compare` of the source and the result (guest-visible bytes).
 *
 * The disk is `importing` throughout and only becomes `available` (or `in-use` on `attachTo`) once
 * verified. Any failure removes the partial file and the disk record (the operation record keeps the
 * reason). A resumed import (its replica died) starts again from the beginning: qemu-img cannot
 * continue a half-written image, and the source is re-read under the same export and snapshot.
 */
export async function runImport(ctx: OperationContext, deps: FlowDeps): Promise<void> {
  const p = ctx.op.params as unknown as ImportParams;
  let disk = await ctx.disk();
  let release: () => void;
  try {
    release = await deps.imports.slots.acquire(deps.signal);
  } catch (err) {
    // A shutdown leaves it for the next replica; a cancel while it waited for its turn ends it here.
    if (!(deps.signal.reason instanceof OperationCancelled)) throw err;
    await endSource(deps, p);
    await ctx.finishRemoved(endingOf(err, deps.signal), disk.name);
    return;
  }
  const progress = new ImportProgress((snapshot) => ctx.publishProgress(snapshot));
  let opened: OpenedSource | undefined;
  let stage: ImportStage = 'fetch';
  try {
    await ctx.markExecuting();
    if (ctx.resumed) {
      await rm(disk.ref, { force: true });
      await ctx.record(
        'restart',
        'done',
        'interrupted by a restart of volume-daemon: importing again from the start',
      );
    }
    await progress.start('fetch', null);
    opened = await ctx.step(
      'fetch',
      () => deps.imports.access.open(p.source, deps.signal),
      () => describe(p),
    );
    await progress.end('fetch', 'done', describe(p));

    stage = 'flatten';
    await progress.start('flatten', null);
    const layers = opened.layers.join('; ');
    await ctx.step(
      'flatten',
      async () => {
        if (opened!.virtualSizeBytes !== p.virtualSizeBytes)
          throw new FerryError(
            'CONFLICT',
            `the source changed since the import was accepted: its size is ${opened!.virtualSizeBytes} bytes, not ${p.virtualSizeBytes}`,
          );
      },
      () => layers,
    );
    await progress.end('flatten', 'done', layers);

    stage = 'convert';
    const total = p.virtualSizeBytes;
    const options = { qemuImg: 'qemu-img', timeoutMs: deps.imports.timeoutMs, signal: deps.signal };
    await progress.start('convert', total);
    await ctx.step(
      'convert',
      () =>
        convertImage(
          opened!.image,
          disk.ref,
          {
            sourceFormat: opened!.format,
            format: p.format,
            onProgress: (pct) => progress.advance((pct / 100) * total),
          },
          options,
        ).catch((err: unknown) => {
          throw qemuFailure('qemu-img could not convert the source', err);
        }),
      () => `${gib(total)} into ${p.format}`,
    );
    await progress.end('convert', 'done');

    stage = 'verify';
    await progress.start('verify', total);
    const verdict = await ctx.step(
      'verify',
      async () => {
        const result = await compareImages(
          { path: opened!.image, format: opened!.format },
          { path: disk.ref, format: p.format },
          { ...options, onProgress: (pct) => progress.advance((pct / 100) * total) },
        ).catch((err: unknown) => {
          throw qemuFailure('qemu-img could not compare the result with the source', err);
        });
        if (!result.identical)
          throw new FerryError(
            'INTERNAL',
            result.firstDifferenceAt === null
              ? 'the result does not have the source’s size'
              : `the result differs from the source at byte ${result.firstDifferenceAt}`,
          );
        return `qemu-img compare: identical guest-visible bytes (${total} bytes)`;
      },
      (v) => v,
    );
    await progress.end('verify', 'done', verdict);
  } catch (err) {
    // Shut down past its grace: the export stays open and the next replica imports again.
    if (deps.signal.aborted && !(deps.signal.reason instanceof OperationCancelled)) {
      await opened?.close().catch(() => undefined);
      release();
      throw new OperationAbandoned(ctx.id);
    }
    await progress.end(stage, 'failed', errorOf(err).message).catch(() => undefined);
    await opened?.close().catch(() => undefined);
    release();
    await endSource(deps, p);
    await rm(disk.ref, { force: true }).catch(() => undefined);
    await ctx.finishRemoved(endingOf(err, deps.signal), disk.name);
    return;
  }
  await opened.close().catch(() => undefined);
  release();
  await endSource(deps, p);
  disk = await ctx.disk();
  await finishVerified(ctx, deps, disk, p);
}

/** The export's snapshot goes as soon as the bytes are in (and after a failure). */
async function endSource(deps: FlowDeps, p: ImportParams): Promise<void> {
  if (p.source.type === 'vsphere' && p.source.ownsExport) await deps.imports.closeExport(p.source.exportId);
}

/** The verified disk: `available`, or attached to `attachTo` and `in-use`. */
async function finishVerified(
  ctx: OperationContext,
  deps: FlowDeps,
  disk: DiskRecord,
  p: ImportParams,
): Promise<void> {
  if (!p.attachTo) {
    await ctx.finish(
      { status: 'completed' },
      { state: 'available', lastError: null },
      'imported and verified',
      (uow, d) => ctx.announceCreated(uow, d),
    );
    return;
  }
  const vmId = p.attachTo;
  const attaching = await ctx.move(
    { state: 'attaching', vmId, mountPoint: null },
    `imported; attaching to VM ${vmId}`,
  );
  try {
    const correlation = await attachAndVerify(ctx, deps, attaching, vmId);
    await ctx.finish(
      { status: 'completed' },
      { state: 'in-use', mountPoint: correlation.by_id_path, lastError: null },
      `imported, verified and attached to VM ${vmId}`,
      async (uow, d) => {
        await ctx.setCorrelation(uow, correlation);
        await ctx.announceCreated(uow, d);
        await ctx.announce(uow, 'attached', d, vmId);
      },
    );
  } catch (err) {
    // The bytes are good: the disk stays (available) and the operation says what is left to do.
    await rollBackAttach(ctx, deps, attaching, vmId, err);
  }
}

function describe(p: ImportParams): string {
  const s = p.source;
  if (s.type === 'file') return `file ${s.path}${s.disk !== undefined ? ` (disk ${s.disk})` : ''}`;
  if (s.type === 'url') return `${new URL(s.url).origin}${new URL(s.url).pathname}`;
  return `vSphere VM ${s.vmName} (${s.vmId}) disk ${s.disk} (#${s.diskIndex}): ${new URL(s.url).pathname}`;
}
