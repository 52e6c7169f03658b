import type { FixGuestFacts, FixOutcomeDto, GuestFixDto } from '@ferry/contracts';
import { FerryError, errorOf } from '@ferry/contracts';
import type { DiskRecord } from '../../disks/disks.repository';
import { ImportProgress } from '../../imports/import-progress';
import type { OperationContext } from '../operation-context';
import { OperationAbandoned, OperationCancelled, endingOf } from '../operation-context';
import type { FlowDeps } from './flow-deps';

/** A fix's stages, for its progress (virt-v2v's own stages show in the running stage's detail). */
const FIX_STAGES = ['guest-edits', 'virt-v2v'] as const;

/** What `volume-daemon.disk.fix` stored as the operation's params. */
export interface FixParams {
  diskIds: string[];
  guest: FixGuestFacts;
  virtV2v: boolean;
  fixes: GuestFixDto[];
  requestedBy: string | null;
}

/** The internal snapshot a fix takes of every qcow2 disk first, and reverts to when it is resumed. */
export function fixSnapshotName(operationId: string): string {
  return `ferry-fix-${operationId}`;
}

const DONE = (ctx: OperationContext, name: string) =>
  ctx.op.steps.some((s) => s.name === name && s.status === 'done');

/**
 * A guest fixed offline on its disks, all together (seed 001 FIX): the plan's edits first, each a
 * compare-and-set against the file as the plan saw it, then virt-v2v's in-place conversion when asked
 * (it rebuilds grub.cfg and the initramfs from the files as Ferry fixed them, and mounts a /boot that
 * fstab named by a by-path link only once Ferry has rewritten it).
 *
 * All or nothing: an internal qcow2 snapshot of every disk is taken first (`snapshot`). A fix that a
 * crash interrupted is resumed from that snapshot (`revert`), so no guest is ever left half
 * converted; a fix that failed is reverted too. Once everything is in, the snapshot goes (`commit`).
 * The disks must be on no running VM (QEMU would hold their images): the fix checks it first.
 */
export async function runFix(ctx: OperationContext, deps: FlowDeps): Promise<void> {
  const p = ctx.op.params as unknown as FixParams;
  const snapshot = fixSnapshotName(ctx.id);
  const progress = new ImportProgress((s) => ctx.publishProgress(s), Date.now, FIX_STAGES);
  let disks: DiskRecord[] = [];
  // Only a fix that has its snapshot can revert to it (one that failed its power check has none).
  let snapshotted = DONE(ctx, 'snapshot');
  let edits: FixOutcomeDto[] = [];
  let v2v: { ran: boolean; durationMs: number | null; detail: string | null } = {
    ran: false,
    durationMs: null,
    detail: null,
  };
  try {
    disks = await Promise.all(p.diskIds.map((id) => ctx.diskById(id)));
    const images = disks.map((d) => ({ path: d.ref, format: d.format }));
    await ctx.step('check-power', () => checkOff(deps, disks));
    const qcow2 = disks.filter((d) => d.format === 'qcow2').map((d) => d.ref);
    // Whether everything but the commit is done (a crash came just before it).
    const complete = DONE(ctx, 'guest-edits') && (!p.virtV2v || DONE(ctx, 'virt-v2v'));
    let fresh = true;
    if (!DONE(ctx, 'snapshot')) {
      await ctx.step(
        'snapshot',
        () => deps.fixes.snapshot(qcow2, snapshot, 'create', deps.signal),
        () => `internal snapshot ${snapshot} of ${qcow2.length} qcow2 disk(s)`,
      );
      snapshotted = true;
    } else if (!complete) {
      // Interrupted half-way: back to the disks as they were before the fix, then everything again.
      await ctx.step(
        'revert',
        () => deps.fixes.snapshot(qcow2, snapshot, 'apply', deps.signal),
        () => 'a restart interrupted the fix: the disks are back to the snapshot; fixing again',
      );
    } else fresh = false;
    if (fresh) {
      await progress.start('guest-edits', null);
      edits = await deps.fixes.applyEdits(images, p.guest, p.fixes, deps.signal);
      await ctx.setResult({ virtV2v: v2v, edits });
      const failed = edits.filter((e) => e.outcome === 'failed');
      const summary = summarize(edits);
      if (failed.length > 0) {
        await ctx.record('guest-edits', 'failed', summary);
        await progress.end('guest-edits', 'failed', summary);
        throw new FerryError(
          'UNPROCESSABLE',
          `${failed.length} edit(s) could not be made: ${failed.map((e) => `${e.path}: ${e.detail}`).join('; ')}`,
        );
      }
      await ctx.record('guest-edits', 'done', summary);
      await progress.end('guest-edits', 'done', summary);
    }
    if (fresh && p.virtV2v) {
      await progress.start('virt-v2v', null);
      const started = Date.now();
      const detail = await ctx.step(
        'virt-v2v',
        () =>
          deps.fixes.virtV2v(images, {
            signal: deps.signal,
            onStage: (stage) => void progress.note(`virt-v2v: ${stage}`).catch(() => undefined),
          }),
        (d) => d,
      );
      v2v = { ran: true, durationMs: Date.now() - started, detail };
      await ctx.setResult({ virtV2v: v2v, edits });
      await progress.end('virt-v2v', 'done', detail);
    }
    await ctx.step(
      'commit',
      () => deps.fixes.snapshot(qcow2, snapshot, 'delete', deps.signal),
      () => `snapshot ${snapshot} removed: the fix is in`,
    );
  } catch (err) {
    if (deps.signal.aborted && !(deps.signal.reason instanceof OperationCancelled))
      throw new OperationAbandoned(ctx.id); // shut down: the next replica reverts and fixes again
    const ending = endingOf(err, deps.signal);
    // Nothing half-done stays: the disks go back to how they were before the fix.
    const reverted = snapshotted ? await revert(deps, disks, snapshot) : '';
    await ctx.finish(
      { status: ending.status, error: { ...ending.error, message: `${ending.error.message}${reverted}` } },
      {},
      `fix ${ending.status}`,
      (uow) => ctx.releaseOthers(uow, p.diskIds, `fix ${ending.status}`),
    );
    return;
  }
  await ctx.finish({ status: 'completed' }, {}, 'guest fixed', (uow) =>
    ctx.releaseOthers(uow, p.diskIds, 'guest fixed'),
  );
}

/** The disks' VMs must be off: QEMU holds the images of a running one. */
async function checkOff(deps: FlowDeps, disks: DiskRecord[]): Promise<string> {
  const vms = [...new Set(disks.map((d) => d.vmId).filter((v): v is string => !!v))];
  for (const vmId of vms) {
    const power = await deps.backend.powerState(vmId);
    if (power.running)
      throw FerryError.conflict(
        `VM ${vmId} is ${power.state} with the guest's disks: stop it first (its QEMU holds the images)`,
        { vmId, state: power.state },
      );
  }
  return vms.length ? `VM(s) ${vms.join(', ')} off` : 'the disks are on no VM';
}

async function revert(deps: FlowDeps, disks: DiskRecord[], snapshot: string): Promise<string> {
  const qcow2 = disks.filter((d) => d.format === 'qcow2').map((d) => d.ref);
  if (qcow2.length === 0) return '';
  try {
    await deps.fixes.snapshot(qcow2, snapshot, 'apply', AbortSignal.timeout(120_000));
    await deps.fixes.snapshot(qcow2, snapshot, 'delete', AbortSignal.timeout(120_000));
    return ' (the disks are back as they were before the fix)';
  } catch (err) {
    return ` (and the disks could not be reverted to snapshot ${snapshot}: ${errorOf(err).message})`;
  }
}

function summarize(edits: FixOutcomeDto[]): string {
  const count = (o: FixOutcomeDto['outcome']) => edits.filter((e) => e.outcome === o).length;
  return `${count('applied')} applied, ${count('skipped')} already in place, ${count('failed')} failed`;
}
