import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ImportDiskRequest, VolumeOperationDto, VsphereExportDto } from '@ferry/contracts';
import { FerryError, GIB, InspectorSubjects, VmSubjects, foreignSourceFields } from '@ferry/contracts';
import { FerryClient, Transactional, allPages, currentCorrelationId } from '@ferry/platform';
import { measureImage } from '@ferry/qemu';
import { VOLUME_BACKEND } from '../backends/backend.provider';
import type { ImportTarget, VolumeBackend } from '../backends/volume-backend';
import { VolumeDaemonConfig } from '../config/volume-daemon.config';
import { DisksRepository } from '../disks/disks.repository';
import { OperationRunner } from '../operations/operation-runner';
import { OperationsRepository, toOperationDto } from '../operations/operations.repository';
import type { ImportParams, StoredSource } from './import-params';
import { defaultVsphereName } from './import-params';
import { EXPORT_TIMEOUT_MS, SourceAccess } from './source-access';

const MIB = 1024 ** 2;

function bytes(n: number): string {
  return n >= GIB ? `${(n / GIB).toFixed(1)} GiB` : `${Math.ceil(n / MIB)} MiB`;
}

/**
 * UNPROCESSABLE, naming the sizes, when what the image needs plus the margin is not free once the
 * imports already running or waiting have what they still need (`reservedBytes`).
 */
export function checkFits(s: {
  requiredBytes: number;
  marginBytes: number;
  freeBytes: number;
  reservedBytes: number;
  directory: string;
}): void {
  const available = s.freeBytes - s.reservedBytes;
  if (s.requiredBytes + s.marginBytes <= available) return;
  const reserved = s.reservedBytes
    ? `, of which ${bytes(s.reservedBytes)} (${s.reservedBytes} bytes) the imports in flight still need`
    : '';
  throw new FerryError(
    'UNPROCESSABLE',
    `not enough space: the disk needs ${bytes(s.requiredBytes)} (${s.requiredBytes} bytes) plus a margin of ${bytes(s.marginBytes)} (VOLUME_IMPORT_SPACE_MARGIN_MIB), and ${s.directory} has ${bytes(s.freeBytes)} (${s.freeBytes} bytes) free${reserved}`,
    {
      requiredBytes: s.requiredBytes,
      marginBytes: s.marginBytes,
      freeBytes: s.freeBytes,
      reservedBytes: s.reservedBytes,
    },
  );
}

/**
 * Accepts imports: everything that can be refused is refused here, before a disk exists or a byte
 * moves — the source is opened once to learn its size and what the result needs (`qemu-img
 * measure`), which is checked against the free space with a margin. Then the disk (`importing`) and
 * the operation are recorded in one transaction and the runner takes it.
 */
@Injectable()
export class ImportsService {
  private readonly logger = new Logger(ImportsService.name);

  constructor(
    private readonly disks: DisksRepository,
    private readonly operations: OperationsRepository,
    private readonly runner: OperationRunner,
    private readonly tx: Transactional,
    private readonly client: FerryClient,
    private readonly access: SourceAccess,
    private readonly config: VolumeDaemonConfig,
    @Inject(VOLUME_BACKEND) private readonly backend: VolumeBackend,
  ) {}

  async accept(req: ImportDiskRequest): Promise<VolumeOperationDto> {
    const target = this.backend.importTarget;
    if (!target)
      throw new FerryError(
        'UNPROCESSABLE',
        `the ${this.backend.kind} backend cannot import disks (VOLUME_BACKEND=local can)`,
      );
    const foreign = foreignSourceFields(req.source);
    if (foreign.length)
      throw FerryError.validation(`source type ${req.source.type} takes no ${foreign.join(', ')}`, [
        {
          field: 'source',
          messages: foreign.map((f) => `${f} is not a field of a ${req.source.type} source`),
        },
      ]);
    const attachTo = await this.attachTarget(req);
    const { source, name } = await this.storedSource(req);
    try {
      const sizes = await this.measure(source, req.format ?? 'qcow2', target);
      return await this.record(req, source, name, attachTo, sizes, target);
    } catch (err) {
      if (source.type === 'vsphere' && source.ownsExport) await this.closeExport(source.exportId);
      throw err;
    }
  }

  /** The VM the verified disk goes to: the one named, the appliance for vSphere, or none. */
  private async attachTarget(req: ImportDiskRequest): Promise<string | null> {
    if (req.attach_to === null) return null;
    if (req.attach_to === undefined && req.source.type !== 'vsphere') return null;
    const wanted = req.attach_to ?? this.config.VOLUME_APPLIANCE_VM;
    const items = await allPages((cursor) =>
      this.client.send(VmSubjects.LIST, { cursor }, { timeoutMs: this.config.VOLUME_BACKEND_TIMEOUT_MS }),
    );
    const vm = items.find((v) => v.id === wanted) ?? items.find((v) => v.name === wanted);
    if (vm) return vm.id;
    if (req.attach_to !== undefined) throw FerryError.notFound(`VM "${wanted}" not found`, { vmId: wanted });
    throw new FerryError(
      'UNPROCESSABLE',
      `the appliance VM "${wanted}" (VOLUME_APPLIANCE_VM) does not exist; create it, name another VM in attach_to, or send attach_to: null`,
      { vm: wanted },
    );
  }

  private async storedSource(req: ImportDiskRequest): Promise<{ source: StoredSource; name: string }> {
    const s = req.source;
    const fallback = `disk-${randomUUID().slice(0, 8)}`;
    if (s.type === 'file') {
      await this.access.allowedFile(s.path!);
      return { source: { type: 'file', path: s.path!, disk: s.disk }, name: req.name ?? fallback };
    }
    if (s.type === 'url') {
      this.access.checkUrl(s.url!);
      return { source: { type: 'url', url: s.url!, disk: s.disk }, name: req.name ?? fallback };
    }
    const ownsExport = s.exportId === undefined;
    const exp: VsphereExportDto = ownsExport
      ? await this.client.send(
          InspectorSubjects.EXPORT_OPEN,
          { VcenterCredentials: s.VcenterCredentials!, vmId: s.vmId! },
          { timeoutMs: EXPORT_TIMEOUT_MS },
        )
      : await this.client.send(
          InspectorSubjects.EXPORT_GET,
          { id: s.exportId! },
          { timeoutMs: EXPORT_TIMEOUT_MS },
        );
    const disk = exp.disks.find((d) => d.key === String(s.disk));
    const refuse = async (err: FerryError): Promise<never> => {
      if (ownsExport) await this.closeExport(exp.id);
      throw err;
    };
    if (exp.state !== 'open')
      return refuse(new FerryError('CONFLICT', `export ${exp.id} is ${exp.state}`, { exportId: exp.id }));
    if (!disk)
      return refuse(
        FerryError.notFound(
          `VM ${exp.vmId} has no disk with key ${String(s.disk)} (its disks: ${exp.disks.map((d) => d.key).join(', ') || 'none'})`,
          { vmId: exp.vmId, disk: s.disk },
        ),
      );
    if (disk.blockers.length)
      return refuse(
        new FerryError(
          'UNPROCESSABLE',
          `disk ${disk.key} of VM ${exp.vmId} cannot be imported: ${disk.blockers.join('; ')}`,
        ),
      );
    return {
      source: {
        type: 'vsphere',
        exportId: exp.id,
        ownsExport,
        vmId: exp.vmId,
        vmName: exp.vmName,
        disk: disk.key,
        diskIndex: disk.index,
        url: disk.url,
      },
      name: req.name ?? defaultVsphereName(exp.vmName, disk.index),
    };
  }

  /** Opens the source once: its size, and whether the result fits (422 naming both sizes if not). */
  private async measure(
    source: StoredSource,
    format: 'qcow2' | 'raw',
    target: ImportTarget,
  ): Promise<{ virtualSizeBytes: number; requiredBytes: number }> {
    const opened = await this.access.open(source);
    try {
      const measured = await measureImage(opened.image, opened.format, format, {
        qemuImg: 'qemu-img',
        timeoutMs: 60_000,
      });
      const virtualSizeBytes = opened.virtualSizeBytes;
      if (virtualSizeBytes > this.config.VOLUME_MAX_DISK_GIB * GIB)
        throw new FerryError(
          'UNPROCESSABLE',
          `the disk is ${bytes(virtualSizeBytes)}, larger than this daemon allows (VOLUME_MAX_DISK_GIB ${this.config.VOLUME_MAX_DISK_GIB})`,
        );
      checkFits({
        requiredBytes: measured.requiredBytes,
        marginBytes: this.config.VOLUME_IMPORT_SPACE_MARGIN_MIB * MIB,
        freeBytes: await target.freeBytes(),
        reservedBytes: await this.reserved(target),
        directory: await target.directory(),
      });
      return { virtualSizeBytes, requiredBytes: measured.requiredBytes };
    } finally {
      await opened.close();
    }
  }

  /** What the unfinished imports still need: each one's measured size less what its file already holds. */
  private async reserved(target: ImportTarget): Promise<number> {
    const imports = (await this.operations.unfinished()).filter((op) => op.type === 'import');
    const still = await Promise.all(
      imports.map(async (op) => {
        const p = op.params as unknown as ImportParams;
        const held = await stat(target.pathOf(op.diskId, p.format)).then(
          (st) => st.blocks * 512,
          () => 0,
        );
        return Math.max(0, p.requiredBytes - held);
      }),
    );
    return still.reduce((a, b) => a + b, 0);
  }

  private async record(
    req: ImportDiskRequest,
    source: StoredSource,
    name: string,
    attachTo: string | null,
    sizes: { virtualSizeBytes: number; requiredBytes: number },
    target: ImportTarget,
  ): Promise<VolumeOperationDto> {
    const format = req.format ?? 'qcow2';
    const id = randomUUID();
    const path = target.pathOf(id, format);
    const params: ImportParams = { source, name, format, attachTo, ...sizes };
    const op = await this.tx.run(async (uow) => {
      const opId = randomUUID();
      await this.disks.insert(uow.em, {
        id,
        name,
        sizeBytes: sizes.virtualSizeBytes,
        format,
        backend: this.backend.kind,
        ref: path,
        path,
        operationId: opId,
        state: 'importing',
      });
      return this.operations.insert(uow.em, {
        id: opId,
        type: 'import',
        status: 'pending',
        diskId: id,
        vmId: attachTo,
        params: params as unknown as Record<string, unknown>,
        correlationId: currentCorrelationId() ?? null,
        claimedBy: this.runner.replicaId,
      });
    });
    this.logger.log({ msg: 'import accepted', diskId: id, operationId: op.id, name, source: source.type });
    this.runner.start(op);
    return toOperationDto(op);
  }

  private closeExport(exportId: string): Promise<void> {
    return this.access.closeExport(exportId);
  }
}
