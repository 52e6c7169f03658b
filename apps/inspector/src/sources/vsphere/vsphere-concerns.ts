import type { ConcernSeverity, InspectionConcern, VsphereVmFacts } from '@ferry/contracts';

const RANK: Record<ConcernSeverity, number> = { blocker: 0, warning: 1, info: 2 };

/** Sorts worst first, keeping the order of equals. */
export function sortConcerns(concerns: InspectionConcern[]): InspectionConcern[] {
  return concerns
    .map((c, i) => [c, i] as const)
    .sort(([a, i], [b, j]) => RANK[a.severity] - RANK[b.severity] || i - j)
    .map(([c]) => c);
}

const INSTALLED_TOOLS = ['toolsOk', 'toolsOld', 'toolsNotRunning'];
const PARAVIRTUAL_NICS = ['vmxnet', 'vmxnet2', 'vmxnet3', 'vmxnet3-vrdma'];

/** What stands in the way of running this VM on KVM, from vSphere's facts alone; worst first. */
export function vsphereConcerns(facts: VsphereVmFacts): InspectionConcern[] {
  const out: InspectionConcern[] = [];
  const add = (code: string, severity: ConcernSeverity, message: string, subject?: string) =>
    out.push(subject === undefined ? { code, severity, message } : { code, severity, message, subject });

  for (const disk of facts.disks) {
    if (disk.rdm === 'physical') {
      add(
        'RDM_DISK',
        'blocker',
        'physical-mode raw device mapping: the LUN must be moved or presented to the KVM host',
        disk.label,
      );
    } else if (disk.rdm === 'virtual') {
      add(
        'RDM_DISK',
        'warning',
        'virtual-mode raw device mapping: its LUN is copied like a disk only if it is snapshotted',
        disk.label,
      );
    }
    if (disk.independent) {
      add(
        'INDEPENDENT_DISK',
        'warning',
        `${disk.diskMode} disk: independent disks are not in snapshots, so it is read live`,
        disk.label,
      );
    }
    if (disk.sharing === 'sharingMultiWriter') {
      add('SHARED_DISK', 'blocker', 'multi-writer disk shared with other VMs (a cluster disk)', disk.label);
    } else if (disk.busSharing && disk.busSharing !== 'noSharing') {
      add(
        'SHARED_DISK',
        'blocker',
        `its SCSI controller shares the bus (${disk.busSharing}) with other VMs`,
        disk.label,
      );
    }
    if (disk.encrypted)
      add(
        'ENCRYPTED',
        'blocker',
        'the disk is encrypted by vSphere and cannot be read outside it',
        disk.label,
      );
    if (disk.controller === 'ide')
      add('IDE_DISK', 'info', 'disk on an IDE controller: slow under KVM; virtio is better', disk.label);
  }
  if (facts.encrypted)
    add('ENCRYPTED', 'blocker', 'the VM is encrypted by vSphere (config.keyId): decrypt it first');
  for (const device of facts.passthroughDevices) {
    add('PCI_PASSTHROUGH', 'blocker', 'PCI passthrough device (DirectPath I/O or vGPU)', device);
  }
  for (const nic of facts.nics) {
    if (nic.type === 'sriov') add('PCI_PASSTHROUGH', 'blocker', 'SR-IOV network adapter', nic.label);
  }
  if (facts.snapshotCount > 0) {
    add(
      'EXISTING_SNAPSHOTS',
      'warning',
      `the VM has ${facts.snapshotCount} snapshot(s): consolidate them before migrating`,
    );
  }
  if (facts.vTpm)
    add(
      'VTPM',
      'warning',
      'virtual TPM: its secrets (BitLocker, LUKS keys) do not move; use swtpm and re-enrol',
    );
  if (facts.secureBoot)
    add('SECURE_BOOT', 'info', 'EFI secure boot: the KVM VM needs OVMF with secure boot and enrolled keys');
  if (facts.changeTrackingEnabled)
    add('CBT_ENABLED', 'info', 'changed block tracking is on (usable for a warm migration)');
  if (facts.toolsStatus !== null && INSTALLED_TOOLS.includes(facts.toolsStatus)) {
    add(
      'VMWARE_TOOLS',
      'info',
      'VMware Tools are installed: remove them (or open-vm-tools) after the migration',
    );
  }
  if (facts.powerState === 'poweredOn' && facts.toolsRunningStatus === 'guestToolsNotRunning') {
    add(
      'TOOLS_NOT_RUNNING',
      'info',
      'VMware Tools are not running: no quiesced snapshot and no clean guest shutdown',
    );
  }
  const paravirtual = [
    ...new Set([
      ...facts.disks.filter((d) => d.controller === 'pvscsi').map(() => 'pvscsi'),
      ...facts.nics.filter((n) => PARAVIRTUAL_NICS.includes(n.type)).map((n) => n.type),
    ]),
  ];
  if (paravirtual.length > 0) {
    add(
      'VMWARE_PARAVIRTUAL_DEVICES',
      'info',
      `${paravirtual.join(', ')}: the guest needs virtio drivers before it boots on KVM`,
    );
  }
  return sortConcerns(out);
}
