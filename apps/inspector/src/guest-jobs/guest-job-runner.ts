import { Injectable, Logger } from '@nestjs/common';
import type { DiskDto, GuestInspectionResultDto } from '@ferry/contracts';
import { DiskSubjects, FerryError, errorOf } from '@ferry/contracts';
import { FerryClient, ResumableRunner, retrying, runWithContext } from '@ferry/platform';
import { DataSource } from 'typeorm';
import { InspectorConfig } from '../config/inspector.config';
import type { DiskInspection } from '../deep/vm-disk-inspector';
import { DEFAULT_VM_DISK_INSPECTOR_OPTIONS, VmDiskInspector } from '../deep/vm-disk-inspector';
import type { GuestJobRecord } from './guest-jobs.repository';
import { GuestJobsRepository } from './guest-jobs.repository';

/** Namespace of the guest-inspection runners' replica locks ("gin"). */
const REPLICA_LOCK_NAMESPACE = 0x67696e;
/** Disks the appliance sees: sda, sdb, … in the order given. */
const DEVICE_LETTERS = 'abcdefghijklmnopqrstuvwxyz';

export function applianceDevice(index: number): string {
  const first = index >= 26 ? DEVICE_LETTERS[Math.floor(index / 26) - 1]! : '';
  return `/dev/sd${first}${DEVICE_LETTERS[index % 26]}`;
}

/**
 * Runs deep inspections of Ferry volumes in the background (one libguestfs appliance for all of a
 * guest's disks, read-only), and takes over those a crashed replica left: an inspection only reads,
 * so running one again repeats no side effect. volume-daemon says where each volume's image is.
 */
@Injectable()
export class GuestJobRunner extends ResumableRunner<GuestJobRecord> {
  private readonly inspector: DiskInspection;
  private readonly shutdown = new AbortController();

  constructor(
    ds: DataSource,
    private readonly jobs: GuestJobsRepository,
    private readonly client: FerryClient,
    private readonly config: InspectorConfig,
  ) {
    super(
      ds,
      {
        lockNamespace: REPLICA_LOCK_NAMESPACE,
        recoveryIntervalMs: Math.max(config.INSPECTOR_POLL_INTERVAL_MS * 5, 1000),
        graceMs: config.SHUTDOWN_GRACE_MS,
      },
      new Logger(GuestJobRunner.name),
    );
    this.inspector = new VmDiskInspector({
      ...DEFAULT_VM_DISK_INSPECTOR_OPTIONS,
      // A migration cannot plan its fixes without the guest: always libguestfs, whatever
      // INSPECTOR_DEEP_INSPECTION says of inspection runs.
      deepInspection: 'virt-inspector',
      deepTimeoutMs: config.INSPECTOR_VIRT_INSPECTOR_TIMEOUT_MS,
      qemuImg: config.QEMU_IMG_BINARY,
    });
  }

  protected unfinished(): Promise<GuestJobRecord[]> {
    return this.jobs.unfinished();
  }

  protected claim(job: GuestJobRecord): Promise<boolean> {
    return this.jobs.claim(job.id, job.claimedBy, this.replicaId);
  }

  // Past the grace the appliance is killed; another replica (or the next start) inspects again.
  protected override abandon(): void {
    this.shutdown.abort(new Error('the inspector is shutting down'));
  }

  protected async run(job: GuestJobRecord): Promise<void> {
    await runWithContext({ correlationId: job.correlationId ?? job.id }, () => this.execute(job)).catch(
      (err: unknown) =>
        this.logger.error({ msg: 'guest inspection crashed', jobId: job.id, error: (err as Error).message }),
    );
  }

  private async execute(job: GuestJobRecord): Promise<void> {
    if (!(await this.jobs.start(job.id, this.replicaId))) return;
    const started = Date.now();
    const signal = AbortSignal.any([
      this.shutdown.signal,
      AbortSignal.timeout(this.config.INSPECTOR_VIRT_INSPECTOR_TIMEOUT_MS + 120_000),
    ]);
    let outcome: { state: 'done'; result: GuestInspectionResultDto } | { state: 'failed'; error: string };
    try {
      const disks = await Promise.all(job.diskIds.map((id) => this.diskOf(id)));
      const images = disks.map((d) => ({ deviceId: d.id, path: d.path!, format: d.format }));
      const found = await this.inspector.inspect(images, signal, { fixInputs: job.fixInputs });
      const devices = Object.fromEntries(disks.map((d, i) => [d.id, applianceDevice(i)]));
      const booted = found.disks.some((d) => d.virtualSizeBytes > 0);
      outcome = {
        state: 'done',
        result: {
          disks: found.disks,
          guest: found.guest,
          guests: found.guests,
          concerns: found.concerns,
          files: found.files ?? [],
          devices,
          applianceBoots: booted ? 1 : 0,
          durationMs: Date.now() - started,
        },
      };
    } catch (err) {
      if (this.shutdown.signal.aborted) return; // left for another replica or the next start
      outcome = { state: 'failed', error: errorOf(err).message };
    }
    if (!(await this.jobs.finish(job.id, this.replicaId, outcome)))
      this.logger.warn({ msg: 'guest inspection taken over meanwhile; result dropped', jobId: job.id });
    else this.logger.log({ msg: 'guest inspection finished', jobId: job.id, state: outcome.state });
  }

  /** The volume's image, from volume-daemon: it must exist, be a file, and not be written by an operation. */
  private async diskOf(id: string): Promise<DiskDto> {
    const disk = await retrying(30_000, () => this.client.send(DiskSubjects.GET, { id }));
    if (!disk.path) throw new FerryError('UNPROCESSABLE', `disk ${disk.name} (${id}) has no image file here`);
    if (disk.operation_id)
      throw FerryError.conflict(`disk ${disk.name} is busy with operation ${disk.operation_id}`, {
        operationId: disk.operation_id,
      });
    return disk;
  }
}
