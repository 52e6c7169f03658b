import type { DiskDto, IssueKind, VmDto } from '@ferry/contracts';
import { volumeDeviceId } from '@ferry/contracts';
import type { ImageInfo, QemuProcess, QmpAnswer, VmProcessState } from '../probes/probes';
import type { Finding } from './finding';

/** What one sweep gathered. VMs or disks are undefined when their service did not answer. */
export interface Observation {
  vms?: VmDto[];
  disks?: DiskDto[];
  /** Per VM id (only for VMs that were looked at). */
  processes: Map<string, VmProcessState>;
  /** Per VM id, for running VMs whose QEMU is alive: the answer, or the error of the probe. */
  qmp: Map<string, QmpAnswer | Error>;
  /** Per disk path (local disks only): null when the file does not exist. */
  images: Map<string, ImageInfo | null>;
  /** Every QEMU process on the host. */
  qemuProcesses: QemuProcess[];
  /** VM ids that have a runtime directory. */
  runtimeDirs: string[];
  /** Image files in the storage directory. */
  storageFiles: string[];
}

export interface Judgement {
  findings: Finding[];
  /** Subjects not judged because an operation is in flight on them: their issues stay as they are. */
  skipped: Set<string>;
  /** Kinds this sweep could judge; an issue of another kind is neither confirmed nor resolved. */
  covered: Set<IssueKind>;
}

const TRANSITIONAL_VM = new Set(['starting', 'stopping']);
const TRANSITIONAL_DISK = new Set(['creating', 'importing', 'attaching', 'detaching', 'deleting']);
const VM_KINDS: IssueKind[] = [
  'vm_state_mismatch',
  'vm_process_missing',
  'qmp_unresponsive',
  'orphan_process',
];
const DISK_KINDS: IssueKind[] = ['disk_missing', 'disk_size_mismatch', 'orphan_disk'];
const ATTACHMENT_KINDS: IssueKind[] = ['attachment_missing', 'attachment_unknown'];

/** Compares the records with what was observed. Pure: all input is gathered beforehand. */
export function judge(o: Observation): Judgement {
  const findings: Finding[] = [];
  const skipped = new Set<string>();
  const covered = new Set<IssueKind>([
    ...(o.vms ? VM_KINDS : []),
    ...(o.disks ? DISK_KINDS : []),
    ...(o.vms && o.disks ? ATTACHMENT_KINDS : []),
  ]);
  const vms = o.vms ?? [];
  const disks = o.disks ?? [];

  for (const vm of vms) {
    if (TRANSITIONAL_VM.has(vm.state)) {
      skipped.add(vm.id);
      continue;
    }
    findings.push(...judgeVm(vm, o));
  }

  const disksById = new Map(disks.map((d) => [d.id, d]));
  for (const disk of disks) {
    if (disk.operation_id || TRANSITIONAL_DISK.has(disk.state)) {
      skipped.add(disk.id);
      if (disk.vm_id) skipped.add(`${disk.vm_id}/${volumeDeviceId(disk.id)}`);
      continue;
    }
    findings.push(...judgeDisk(disk, o));
  }

  if (o.vms && o.disks) findings.push(...judgeAttachments(vms, disksById, o, skipped));
  if (o.vms) findings.push(...judgeOrphanProcesses(vms, o));
  if (o.disks) findings.push(...judgeOrphanFiles(disks, o));
  return { findings, skipped, covered };
}

function judgeVm(vm: VmDto, o: Observation): Finding[] {
  const proc = o.processes.get(vm.id);
  if (!proc) return [];
  const base = { subjectType: 'vm' as const, subject: vm.id, ref: { vmId: vm.id } };
  if (vm.state === 'running') {
    if (!proc.alive)
      return [
        {
          ...base,
          kind: 'vm_process_missing',
          expected: 'qemu running',
          observed: proc.reason ?? 'no process',
        },
      ];
    const answer = o.qmp.get(vm.id);
    if (answer instanceof Error)
      return [{ ...base, kind: 'qmp_unresponsive', expected: 'QMP answers', observed: answer.message }];
    if (answer && answer.status !== 'running')
      return [
        { ...base, kind: 'vm_state_mismatch', expected: 'running', observed: `qemu is ${answer.status}` },
      ];
    return [];
  }
  if (proc.alive)
    return [
      { ...base, kind: 'vm_state_mismatch', expected: vm.state, observed: `qemu running (pid ${proc.pid})` },
    ];
  return [];
}

function judgeDisk(disk: DiskDto, o: Observation): Finding[] {
  if (!disk.path || !o.images.has(disk.path)) return [];
  const info = o.images.get(disk.path);
  const base = { subjectType: 'disk' as const, subject: disk.id, ref: { diskId: disk.id, path: disk.path } };
  if (!info) return [{ ...base, kind: 'disk_missing', expected: disk.path, observed: 'no such file' }];
  if (info.format !== disk.format || info.virtualSize !== disk.size_bytes)
    return [
      {
        ...base,
        kind: 'disk_size_mismatch',
        expected: `${disk.format}, ${disk.size_bytes} bytes`,
        observed: `${info.format}, ${info.virtualSize} bytes`,
      },
    ];
  return [];
}

function judgeAttachments(
  vms: VmDto[],
  disksById: Map<string, DiskDto>,
  o: Observation,
  skipped: Set<string>,
): Finding[] {
  const findings: Finding[] = [];
  for (const vm of vms) {
    const answer = o.qmp.get(vm.id);
    if (skipped.has(vm.id) || !answer || answer instanceof Error) continue;
    const plugged = new Set(answer.blockDevices.map((b) => b.deviceId));
    for (const disk of disksById.values()) {
      if (disk.vm_id !== vm.id || disk.state !== 'in-use' || skipped.has(disk.id)) continue;
      if (!plugged.has(volumeDeviceId(disk.id)))
        findings.push({
          kind: 'attachment_missing',
          subjectType: 'disk',
          subject: disk.id,
          expected: `attached to VM ${vm.id} as ${volumeDeviceId(disk.id)}`,
          observed: 'not in query-block',
          ref: { diskId: disk.id, vmId: vm.id },
        });
    }
    for (const device of answer.blockDevices) {
      if (!device.deviceId.startsWith('vol-')) continue;
      const subject = `${vm.id}/${device.deviceId}`;
      const disk = disksById.get(device.deviceId.slice('vol-'.length));
      if (skipped.has(subject) || (disk && disk.vm_id === vm.id && disk.state === 'in-use')) continue;
      findings.push({
        kind: 'attachment_unknown',
        subjectType: 'attachment',
        subject,
        expected: 'no device without a disk record',
        observed: disk
          ? `plugged, but disk "${disk.name}" is ${disk.state}${disk.vm_id ? ` on VM ${disk.vm_id}` : ''}`
          : `plugged (${device.file ?? 'no medium'}), no such disk`,
        ref: { vmId: vm.id, diskId: disk?.id },
      });
    }
  }
  return findings;
}

function judgeOrphanProcesses(vms: VmDto[], o: Observation): Finding[] {
  const known = new Set(vms.map((vm) => vm.id));
  const orphans = new Map<string, string[]>();
  for (const p of o.qemuProcesses)
    if (p.vmId && !known.has(p.vmId))
      orphans.set(p.vmId, [...(orphans.get(p.vmId) ?? []), `qemu pid ${p.pid}`]);
  for (const id of o.runtimeDirs)
    if (!known.has(id)) orphans.set(id, [...(orphans.get(id) ?? []), 'a runtime directory']);
  return [...orphans].map(([id, what]) => ({
    kind: 'orphan_process' as const,
    subjectType: 'process' as const,
    subject: `ferry-${id}`,
    expected: 'no VM of Ferry without a record',
    observed: `${what.join(' and ')}, no VM record ${id}`,
    ref: { vmId: id },
  }));
}

function judgeOrphanFiles(disks: DiskDto[], o: Observation): Finding[] {
  const owned = new Set(disks.map((d) => d.path).filter(Boolean));
  return o.storageFiles
    .filter((f) => !owned.has(f))
    .map((path) => ({
      kind: 'orphan_disk' as const,
      subjectType: 'file' as const,
      subject: path,
      expected: 'every image file belongs to a disk record',
      observed: 'no disk record owns it',
      ref: { path },
    }));
}
