import type { MigrationVolumeDto, VolumeOperationDto, VsphereExportDto } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import type { Peers } from '../../saga/peers';
import { preFetchBlockers } from '../plan/blockers';
import type { SourcePeers } from '../source-peers';
import type { StageOutcome, StageRun } from './stage';
import { expectCompleted, waitForOperations } from './wait';

/** How long the export lives between renewals (the imports renew it while they read). */
const EXPORT_LEASE_MS = 30 * 60_000;

export function volumeName(vmName: string, index: number): string {
  return `${vmName}-disk${index}`;
}

/** An import's own fetch stage (the source opened) is over. */
function pastFetch(op: VolumeOperationDto): boolean {
  return op.progress?.stages.some((s) => s.name === 'fetch' && s.state === 'done') ?? false;
}

/**
 * FETCH: the source's disks are opened for reading under one snapshot (the inspector's export), and
 * one import per disk starts streaming them onto the appliance as `<name>-disk<N>` (part 1's import).
 * Nothing is fetched when vSphere's facts already block the migration (the plan says why).
 * Each step reads what exists first: an export already open is reused, an import already accepted
 * (or whose disk a crash left behind before its id was recorded) is followed, never started twice.
 */
export async function runFetch(run: StageRun, peers: Peers, source: SourcePeers): Promise<StageOutcome> {
  if (preFetchBlockers(run.m).length > 0)
    return {
      skipped: true,
      detail: "not fetched: vSphere's facts already block the migration (see the plan)",
    };
  const exp = await openExport(run, source);
  for (const disk of exp.disks) {
    if (run.m.volumes.some((v) => v.index === disk.index && v.import_operation_id)) continue;
    const name = volumeName(run.m.target.name, disk.index);
    const op = (await adopt(peers, name, exp.id)) ?? (await startImport(peers, run, exp, disk.key, name));
    const volume: MigrationVolumeDto = {
      disk_id: op.disk_id,
      name,
      index: disk.index,
      source_key: disk.key,
      size_bytes: disk.capacityBytes,
      import_operation_id: op.id,
    };
    await run.update({ volumes: dedupe([...run.m.volumes, volume]) });
  }
  const ids = run.m.volumes.map((v) => v.import_operation_id!);
  const ops = await waitForOperations(peers, ids, run.signal, { until: pastFetch });
  for (const op of ops)
    if (op.status !== 'executing' && op.status !== 'pending') expectCompleted(op, 'import');
  const disks = run.m.volumes.map((v) => `${v.name} (key ${v.source_key}, ${v.size_bytes} bytes)`).join(', ');
  const snap = exp.snapshot ? `snapshot ${exp.snapshot.name}` : `no snapshot (the VM is ${exp.powerState})`;
  return { detail: `export ${exp.id} with ${snap}; ${exp.disks.length} disk(s) streaming: ${disks}` };
}

/** The recorded export while it is open; otherwise a new one (before any import has its bytes). */
async function openExport(run: StageRun, source: SourcePeers): Promise<VsphereExportDto> {
  if (run.m.exportId) {
    const exp = await source.getExport(run.m.exportId).catch(() => undefined);
    if (exp?.state === 'open') return exp;
    if (run.m.volumes.length > 0)
      throw new FerryError(
        'CONFLICT',
        `export ${run.m.exportId} was closed while the disks were still being fetched (its lease ran out?)`,
      );
  }
  const exp = await source.openExport(run.credentials(), run.m.moref, EXPORT_LEASE_MS);
  await run.update({ exportId: exp.id });
  return exp;
}

/** An import of this export whose disk a crash left behind before the migration recorded it. */
async function adopt(peers: Peers, name: string, exportId: string): Promise<VolumeOperationDto | undefined> {
  const disk = await peers.diskByName(name);
  if (!disk) return undefined;
  const op = disk.operation_id ? await peers.operation(disk.operation_id) : undefined;
  const params = op?.params as { source?: { exportId?: string } } | undefined;
  if (op?.type === 'import' && params?.source?.exportId === exportId) return op;
  throw FerryError.conflict(
    `a disk named "${name}" exists already (${disk.id}, ${disk.state}) and is not this migration's: rename or delete it`,
    { diskId: disk.id },
  );
}

function startImport(
  peers: Peers,
  run: StageRun,
  exp: VsphereExportDto,
  key: string,
  name: string,
): Promise<VolumeOperationDto> {
  // Always qcow2: FIX takes an internal snapshot of it; CONVERT makes the target format after.
  return peers.importDisk({
    source: { type: 'vsphere', exportId: exp.id, vmId: run.m.moref, disk: key },
    name,
    format: 'qcow2',
  });
}

function dedupe(volumes: MigrationVolumeDto[]): MigrationVolumeDto[] {
  const byIndex = new Map(volumes.map((v) => [v.index, v]));
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

/**
 * FLATTEN (and the bytes of the one streaming pass that fetch, flatten and convert are, in part 1's
 * import): every import ends verified, with its bytes counted as they move; then the export's
 * snapshot is removed, so that no snapshot of the source outlives the copy.
 */
export async function runFlatten(run: StageRun, peers: Peers, source: SourcePeers): Promise<StageOutcome> {
  if (run.m.volumes.length === 0) return { skipped: true, detail: 'nothing was fetched' };
  const ids = run.m.volumes.map((v) => v.import_operation_id!);
  const total = run.m.volumes.reduce((n, v) => n + v.size_bytes, 0);
  const ops = await waitForOperations(peers, ids, run.signal, {
    seen: (seen) =>
      run.progress({ bytes_done: seen.reduce((n, op) => n + bytesOf(op), 0), bytes_total: total }),
  });
  for (const op of ops) expectCompleted(op, 'import');
  run.progress({ bytes_done: total, bytes_total: total });
  if (run.m.exportId) await source.closeExport(run.m.exportId);
  const layers = ops.map(
    (op) => op.progress?.stages.find((s) => s.name === 'flatten')?.detail ?? 'one image',
  );
  return {
    detail: `${ops.length} disk(s) verified identical to the source (${layers.join('; ')}); snapshot removed`,
  };
}

/** The guest-visible bytes an import has written (its convert stage), all of them once done. */
function bytesOf(op: VolumeOperationDto): number {
  const convert = op.progress?.stages.find((s) => s.name === 'convert');
  if (op.status === 'completed') return convert?.bytes_total ?? convert?.bytes_done ?? 0;
  return convert?.bytes_done ?? 0;
}
