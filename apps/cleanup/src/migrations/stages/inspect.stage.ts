import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '@ferry/contracts';
import type { SourcePeers } from '../source-peers';
import type { StageOutcome, StageRun } from './stage';

const POLL_MS = 1000;

/**
 * INSPECT: the inspector's deep inspection of the copies (libguestfs, one appliance boot for all the
 * VM's disks, read-only), which also reads the files the fixes are planned from. The job's id is
 * recorded before it is asked for, and asking again with it returns the same job: a resumed stage
 * follows the inspection it started (or the inspector's own resume of it), never starts a second.
 */
export async function runInspect(run: StageRun, source: SourcePeers): Promise<StageOutcome> {
  if (run.m.volumes.length === 0) return { skipped: true, detail: 'nothing was fetched to inspect' };
  const id = run.m.inspectionId ?? (await run.update({ inspectionId: randomUUID() })).inspectionId!;
  const diskIds = [...run.m.volumes].sort((a, b) => a.index - b.index).map((v) => v.disk_id);
  let job = await source.inspectGuest(id, diskIds);
  while (job.state === 'pending' || job.state === 'running') {
    await sleep(POLL_MS, undefined, { signal: run.signal });
    job = await source.guestInspection(id);
  }
  if (job.state === 'failed' || !job.result)
    throw new FerryError('UNPROCESSABLE', `the inspection of the copies failed: ${job.error ?? 'no result'}`);
  const r = job.result;
  const g = r.guest;
  const os = g
    ? `${g.productName ?? `${g.distro ?? g.osType} ${g.majorVersion ?? ''}`.trim()}, root ${g.root}, ${g.firmware}`
    : 'no operating system found';
  const blockers = r.concerns.filter((c) => c.severity === 'blocker').length;
  return {
    detail: `${os}; ${r.concerns.length} concern(s) (${blockers} blocker(s)); ${r.files.length} file(s) read; ${r.applianceBoots} appliance boot(s) in ${Math.round(r.durationMs / 1000)} s`,
  };
}
