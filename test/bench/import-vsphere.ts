// The vSphere disk import bench: imports of a 2 GiB disk from vcsim through the gateway, against its
// floors (import-floors.ts) in the same run, each run emitted as a JSON line, then a summary and the
// goal.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import type { DiskDto, VolumeOperationDto } from '@ferry/contracts';
import { VcsimProcess } from '@ferry/testing';
import { Suite } from '../support/suite';
import { Http } from './disk-ops';
import {
  CHILD_MS,
  MiB,
  SIZE,
  allocated,
  makeVmdk,
  mibps,
  round,
  uploadVmdk,
  virtualSize,
} from './import-disk';
import { sequentialFloor, streamingFloor } from './import-floors';
import { median } from './load';
import { OperationEvents } from './operation-events';
import { Sampler, procStatus } from './process-sampler';

/** Runs of each side (Ferry, and both floors); short by default, each moves 4–6 GiB. */
const RUNS = Number(process.env['BENCH_IMPORT_RUNS'] ?? process.env['BENCH_RUNS'] ?? 2);

type Emit = (line: Record<string, unknown>) => void;

const freeBytes = (dir: string) => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

interface FerryRun {
  accept_ms: number;
  first_progress_ms: number | null;
  convert_s: number;
  verify_s: number;
  total_s: number;
  wall_s: number;
  convert_mibps: number;
  total_mibps: number;
  volume_daemon_peak_rss_mib: number;
  volume_daemon_rss_before_mib: number;
  qemu_img_convert_peak_rss_mib: number | null;
  qemu_img_compare_peak_rss_mib: number | null;
  nbdkit_peak_rss_mib: number | null;
  bytes_written: number;
  other_files_max_bytes: number;
  open_for_write_elsewhere_max_bytes: number;
  sampler_ms: number;
  fs_used_delta_bytes: number;
  layers: string | undefined;
}

const stageSeconds = (op: VolumeOperationDto, name: string): number => {
  const s = op.progress?.stages.find((x) => x.name === name);
  if (!s?.started_at || !s.finished_at)
    throw new Error(`stage ${name} has no start or end: ${JSON.stringify(s)}`);
  return (Date.parse(s.finished_at) - Date.parse(s.started_at)) / 1000;
};

/**
 * A vSphere disk import through the gateway (2 GiB raw, half data) against its floors, measured in
 * the same run on the same file in vcsim's datastore: curl to a file then `qemu-img convert`
 * (sequential), and `nbdkit curl` → `qemu-img convert` (streaming, what Ferry does). Runs alternate
 * between the three, in a rotating order.
 */
export async function benchImportVsphere(emit: Emit): Promise<void> {
  const dir = mkdtempSync('/tmp/fbv-');
  // The volume-daemon's TMPDIR (its export sessions and nbdkit sockets), scanned for large files.
  const vdTmp = mkdtempSync('/tmp/fbvt-');
  let vcsim: VcsimProcess | undefined;
  let suite: Suite | undefined;
  let http: Http | undefined;
  let events: OperationEvents | undefined;
  const children = new Set<ChildProcess>();
  try {
    // The source, made an ESXi-style monolithicFlat VMDK and PUT (streamed) through vcsim's /folder.
    const vmdk = await makeVmdk(dir);
    vcsim = await VcsimProcess.start({ vms: 1 });
    const { moref, diskKey, flatUrl, cookie } = await uploadVmdk(vcsim, vmdk);
    const floorSource = { flatUrl, cookie, caFile: vcsim.caFile };

    suite = await Suite.start(['gateway', 'vm-operator'], { RATE_LIMIT_PER_SECOND: '0' });
    await suite.startService('inspector', { INSPECTOR_VSPHERE_CA_FILE: vcsim.caFile });
    await suite.startService('volume-daemon', { TMPDIR: vdTmp });
    const vdPid = suite.processes.get('volume-daemon')!.child.pid!;
    http = new Http(suite.gatewayUrl, suite.adminKey);
    events = await OperationEvents.open(
      `${suite.gatewayUrl}/api/v1/events?type=ferry.volume-daemon.operation.`,
      suite.adminKey,
    );
    const credentials = { url: vcsim.url, username: vcsim.username, password: vcsim.password };

    const ferry = async (r: number): Promise<FerryRun> => {
      const s = suite!;
      const rssBefore = procStatus(vdPid, 'VmRSS');
      const freeBefore = freeBytes(s.diskDir);
      let result: string | undefined;
      const sampler = new Sampler(
        () => [vdPid],
        [s.diskDir, vdTmp],
        () => result,
      );
      try {
        const tPost = performance.now();
        const op = await http!.expect<VolumeOperationDto>(202, 'POST', '/api/v1/disks/import', {
          source: { type: 'vsphere', VcenterCredentials: credentials, vmId: moref, disk: String(diskKey) },
          name: `bench-import-${r}`,
          attach_to: null,
        });
        const t202 = performance.now();
        result = (await http!.expect<DiskDto>(200, 'GET', `/api/v1/disks/${op.disk_id}`)).path ?? undefined;
        const ended = await events!.waitFor(op.id, CHILD_MS);
        sampler.stop();
        if (ended.op.status !== 'completed')
          throw new Error(`import ${op.id} ${ended.op.status}: ${JSON.stringify(ended.op.error)}`);
        const done = await http!.expect<VolumeOperationDto>(200, 'GET', `/api/v1/volume-operations/${op.id}`);
        const dto = await http!.expect<DiskDto>(200, 'GET', `/api/v1/disks/${op.disk_id}`);
        result = dto.path ?? result;
        if (!result) throw new Error(`disk ${op.disk_id} has no path`);
        const convert = stageSeconds(done, 'convert');
        const total = (ended.at - t202) / 1000;
        const first = events!.firstProgress.get(op.id);
        const bytes = allocated(result);
        const line: FerryRun = {
          accept_ms: round(t202 - tPost, 0),
          first_progress_ms: first === undefined ? null : round(first - t202, 1),
          convert_s: round(convert),
          verify_s: round(stageSeconds(done, 'verify')),
          total_s: round(total),
          wall_s: round((ended.at - tPost) / 1000),
          convert_mibps: mibps(convert),
          total_mibps: mibps(total),
          volume_daemon_peak_rss_mib: round(procStatus(vdPid, 'VmHWM') / MiB, 1),
          volume_daemon_rss_before_mib: round(rssBefore / MiB, 1),
          qemu_img_convert_peak_rss_mib: sampler.mib('qemu-img convert'),
          qemu_img_compare_peak_rss_mib: sampler.mib('qemu-img compare'),
          nbdkit_peak_rss_mib: sampler.mib('nbdkit'),
          bytes_written: bytes,
          other_files_max_bytes: sampler.otherFilesMax,
          open_for_write_elsewhere_max_bytes: sampler.openElsewhereMax,
          sampler_ms: round(sampler.spentMs, 0),
          fs_used_delta_bytes: freeBefore - freeBytes(s.diskDir),
          layers: done.progress?.stages.find((x) => x.name === 'flatten')?.detail,
        };
        if (sampler.openElsewhere.size)
          process.stderr.write(`import wrote elsewhere: ${[...sampler.openElsewhere].join(', ')}\n`);
        if ((await virtualSize(result)) !== SIZE) throw new Error(`${result} is not ${SIZE} bytes`);
        await http!.expect(204, 'DELETE', `/api/v1/disks/${op.disk_id}`);
        return line;
      } finally {
        sampler.stop();
      }
    };

    const ferryRuns: FerryRun[] = [];
    const seqRuns: Awaited<ReturnType<typeof sequentialFloor>>[] = [];
    const streamRuns: Awaited<ReturnType<typeof streamingFloor>>[] = [];
    const sides = [
      async (r: number) => {
        const line = await ferry(r);
        ferryRuns.push(line);
        emit({ bench: 'import_vsphere_disk', via: 'ferry', run: r, ...line });
      },
      async (r: number) => {
        const line = await streamingFloor(dir, floorSource, children);
        streamRuns.push(line);
        emit({ bench: 'import_vsphere_disk', via: 'floor_streaming', run: r, ...line });
      },
      async (r: number) => {
        const line = await sequentialFloor(dir, floorSource);
        seqRuns.push(line);
        emit({ bench: 'import_vsphere_disk', via: 'floor_sequential', run: r, ...line });
      },
    ];
    for (let r = 0; r < RUNS; r++)
      for (let i = 0; i < sides.length; i++) await sides[(r + i) % sides.length]!(r);

    const m = (xs: number[]) => median(xs);
    // The times beside a median rate are those of the run it came from (median() of two is the faster).
    const at = <T>(runs: T[], rate: (x: T) => number): T =>
      [...runs].sort((a, b) => rate(a) - rate(b))[Math.floor(runs.length / 2)]!;
    const ferryConvertRun = at(ferryRuns, (x) => x.convert_mibps);
    const ferryTotalRun = at(ferryRuns, (x) => x.total_mibps);
    const seqRun = at(seqRuns, (x) => x.mibps);
    const streamRun = at(streamRuns, (x) => x.mibps);
    const ferryConvert = ferryConvertRun.convert_mibps;
    const ferryTotal = ferryTotalRun.total_mibps;
    const floorStreaming = streamRun.mibps;
    const ratio = ferryConvert / floorStreaming;
    emit({
      bench: 'import_vsphere_disk',
      summary: true,
      runs: RUNS,
      size_mib: SIZE / MiB,
      source: '2 GiB raw: 64 MiB /dev/urandom blocks at every other 64 MiB, zeros between (1 GiB data)',
      ferry_convert_mibps: ferryConvert,
      ferry_convert_s: ferryConvertRun.convert_s,
      ferry_total_mibps: ferryTotal,
      ferry_total_s: ferryTotalRun.total_s,
      ferry_verify_s: ferryTotalRun.verify_s,
      ferry_wall_s: ferryTotalRun.wall_s,
      floor_sequential_mibps: seqRun.mibps,
      floor_sequential_wall_s: seqRun.wall_s,
      floor_sequential_bytes_written: seqRun.bytes_written,
      floor_streaming_mibps: floorStreaming,
      floor_streaming_wall_s: streamRun.wall_s,
      ratio_vs_streaming: round(ratio),
      ratio_total_vs_streaming: round(ferryTotal / floorStreaming),
      ratio_vs_sequential: round(ferryConvert / seqRun.mibps),
      first_progress_ms: m(
        ferryRuns.flatMap((x) => (x.first_progress_ms === null ? [] : [x.first_progress_ms])),
      ),
      accept_ms: m(ferryRuns.map((x) => x.accept_ms)),
      volume_daemon_peak_rss_mib: Math.max(...ferryRuns.map((x) => x.volume_daemon_peak_rss_mib)),
      qemu_img_convert_peak_rss_mib: Math.max(...ferryRuns.map((x) => x.qemu_img_convert_peak_rss_mib ?? 0)),
      bytes_written: m(ferryRuns.map((x) => x.bytes_written)),
      other_files_max_bytes: Math.max(...ferryRuns.map((x) => x.other_files_max_bytes)),
    });
    emit({
      goal: 'import_vsphere_convert >= 0.9 x nbdkit_curl_qemu_img_convert',
      ratio: round(ratio),
      limit: 0.9,
      pass: ratio >= 0.9,
    });
  } finally {
    for (const c of children) c.kill('SIGKILL');
    events?.close();
    http?.close();
    await suite?.dispose();
    await vcsim?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(vdTmp, { recursive: true, force: true });
  }
}
