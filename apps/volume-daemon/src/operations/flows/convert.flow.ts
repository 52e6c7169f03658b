import { rm, stat } from 'node:fs/promises';
import type { DiskFormat } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import { compareImages, convertImage } from '@ferry/qemu';
import { ImportProgress } from '../../imports/import-progress';
import type { OperationContext } from '../operation-context';
import { OperationAbandoned, OperationCancelled, endingOf } from '../operation-context';
import type { FlowDeps } from './flow-deps';
import { qemuFailure } from './import.flow';

/** What `volume-daemon.disk.convert` stored as the operation's params. */
export interface ConvertParams {
  format: DiskFormat;
}

const CONVERT_STAGES = ['convert', 'verify'] as const;

/**
 * An available disk's image rewritten into another format (a migration's CONVERT): `qemu-img convert`
 * into the disk's file of that format beside the old one, `qemu-img compare`, then the disk takes the
 * new file and the old one is removed. Until the swap the old image is the disk; a resumed convert
 * starts again (or, when the swap happened, only removes the old file).
 */
export async function runConvert(ctx: OperationContext, deps: FlowDeps): Promise<void> {
  const p = ctx.op.params as unknown as ConvertParams;
  const target = deps.backend.importTarget;
  let disk = await ctx.disk();
  const from = { ref: disk.ref, format: disk.format };
  if (!target) {
    await ctx.finish(
      { status: 'failed', error: { code: 'UNPROCESSABLE', message: 'this backend does not convert images' } },
      {},
      'convert refused',
    );
    return;
  }
  const to = target.pathOf(disk.id, p.format);
  const progress = new ImportProgress((s) => ctx.publishProgress(s), Date.now, CONVERT_STAGES);
  const options = { qemuImg: 'qemu-img', timeoutMs: deps.imports.timeoutMs, signal: deps.signal };
  try {
    if (disk.format !== p.format) {
      if (ctx.resumed) await rm(to, { force: true });
      await progress.start('convert', disk.sizeBytes);
      await ctx.step(
        'convert',
        () =>
          convertImage(
            disk.ref,
            to,
            {
              sourceFormat: disk.format,
              format: p.format,
              onProgress: (pct) => progress.advance((pct / 100) * disk.sizeBytes),
            },
            options,
          ).catch((err: unknown) => {
            throw qemuFailure('qemu-img could not convert the disk', err);
          }),
        () => `${disk.format} → ${p.format}`,
      );
      await progress.end('convert', 'done');
      await progress.start('verify', disk.sizeBytes);
      await ctx.step(
        'verify',
        async () => {
          const result = await compareImages(
            { path: disk.ref, format: disk.format },
            { path: to, format: p.format },
            { ...options, onProgress: (pct) => progress.advance((pct / 100) * disk.sizeBytes) },
          );
          if (!result.identical)
            throw new FerryError('INTERNAL', 'the converted image differs from the disk');
          return 'qemu-img compare: identical';
        },
        (v) => v,
      );
      await progress.end('verify', 'done');
      await ctx.replaceImage({ ref: to, path: to, format: p.format });
      disk = await ctx.disk();
    }
    // The old file, once the disk has the new one (again after a resume that came after the swap).
    if (from.ref !== disk.ref) await rm(from.ref, { force: true });
    else if (from.format === p.format) {
      const stale = target.pathOf(disk.id, p.format === 'qcow2' ? 'raw' : 'qcow2');
      if (
        await stat(stale).then(
          () => true,
          () => false,
        )
      )
        await rm(stale, { force: true });
    }
  } catch (err) {
    if (deps.signal.aborted && !(deps.signal.reason instanceof OperationCancelled))
      throw new OperationAbandoned(ctx.id);
    await rm(to, { force: true }).catch(() => undefined);
    await ctx.finish(endingOf(err, deps.signal), {}, 'convert failed');
    return;
  }
  await ctx.finish({ status: 'completed' }, {}, `converted to ${p.format}`);
}
