import type { FixOutcomeDto, VolumeOperationDto } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import type { Peers } from '../../saga/peers';
import type { FixResult } from '../migrations.repository';
import type { SourcePeers } from '../source-peers';
import type { StageOutcome, StageRun } from './stage';
import { expectCompleted, waitForOperations } from './wait';

/**
 * FIX: offline, on the copies, never on the source: volume-daemon's `fix` operation runs virt-v2v in
 * place where the plan says it applies, then the plan's edits, all or nothing (volume-daemon reverts
 * the disks to its snapshot when it fails, or when it is resumed after a crash). The operation is
 * recorded as soon as it is accepted; a resumed stage follows it (or one a crash left unrecorded:
 * volume-daemon's fix on these disks asked for by this migration), never starts a second.
 */
export async function runFix(run: StageRun, peers: Peers, source: SourcePeers): Promise<StageOutcome> {
  const plan = run.m.plan!;
  const edits = plan.fixes.reduce((n, f) => n + f.edits.length, 0);
  if (!plan.virt_v2v.applies && edits === 0)
    return {
      skipped: true,
      detail: `nothing to fix: virt-v2v does not run (${plan.virt_v2v.reason}) and no file needs an edit`,
    };
  const diskIds = [...run.m.volumes].sort((a, b) => a.index - b.index).map((v) => v.disk_id);
  let opId = run.m.fixOperationId ?? (await adopt(peers, diskIds[0]!, run.m.id));
  if (!opId) {
    const inspected = (await source.guestInspection(run.m.inspectionId!)).result!;
    const guest = inspected.guest!;
    const op = await peers.fixDisks({
      diskIds,
      guest: {
        root: guest.root,
        mountpoints: guest.mountpoints,
        filesystems: guest.filesystems,
        fstab: guest.fstab,
      },
      virtV2v: plan.virt_v2v.applies,
      fixes: plan.fixes,
      requestedBy: run.m.id,
    });
    opId = op.id;
  }
  if (opId !== run.m.fixOperationId) await run.update({ fixOperationId: opId });
  const [op] = await waitForOperations(peers, [opId], run.signal);
  const result = op!.result as { virtV2v?: FixResult['virtV2v']; edits?: FixOutcomeDto[] } | null;
  const fixResult: FixResult = {
    operationId: op!.id,
    virtV2v: result?.virtV2v ?? { ran: false, durationMs: null, detail: null },
    edits: result?.edits ?? [],
    applianceBoots: (result?.virtV2v?.ran ? 1 : 0) + (edits > 0 ? 1 : 0),
  };
  await run.update({ fixResult });
  expectCompleted(op!, 'the guest fix');
  const applied = fixResult.edits.filter((e) => e.outcome === 'applied').length;
  const skipped = fixResult.edits.filter((e) => e.outcome === 'skipped').length;
  return {
    detail: `${fixResult.virtV2v.ran ? `virt-v2v in place (${Math.round((fixResult.virtV2v.durationMs ?? 0) / 1000)} s); ` : ''}${applied} edit(s) applied, ${skipped} already in place`,
  };
}

/** The fix of this migration on its first disk that a crash left unrecorded. */
async function adopt(peers: Peers, diskId: string, migrationId: string): Promise<string | null> {
  const disk = await peers.disk(diskId);
  if (!disk.operation_id) return null;
  const op: VolumeOperationDto = await peers.operation(disk.operation_id);
  if (op.type === 'fix' && (op.params as { requestedBy?: string }).requestedBy === migrationId) return op.id;
  throw FerryError.conflict(`disk ${disk.name} is busy with ${op.type} operation ${op.id}`, {
    operationId: op.id,
  });
}
