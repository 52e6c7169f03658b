import type { MigrationPlanDto } from '@ferry/contracts';
import { MIGRATION_STAGES } from '@ferry/contracts';
import type { MigrationRecord } from './migrations.repository';
import { vmNameOf } from './migrations.service';
import { buildReport, renderPlanMarkdown, renderReportMarkdown } from './report';

const plan: MigrationPlanDto = {
  migration_id: 'm1',
  created_at: '2026-12-06T00:00:00.000Z',
  source: {
    vm_name: 'web01',
    moref: 'vm-42',
    guest_id: 'debian12_64Guest',
    guest_full_name: null,
    firmware: 'bios',
    secure_boot: false,
    vtpm: false,
    num_cpu: 2,
    memory_mb: 2048,
    power_state: 'poweredOn',
    hardware_version: 'vmx-19',
    cbt: false,
    snapshot_count: 0,
  },
  guest: {
    os_type: 'linux',
    distro: 'debian',
    version: '12.5',
    product_name: 'Debian GNU/Linux 12',
    arch: 'x86_64',
    hostname: 'web01',
    root: '/dev/sda2',
    firmware: 'bios',
    appliance_boots: 1,
  },
  placement: {
    host: 'kvm-1',
    host_id: 'h1',
    required_traits: [],
    resources: { VCPU: 2, MEMORY_MB: 2048 },
    candidates: [{ host_name: 'kvm-1', score: 1 }],
    rejected: [{ host_name: 'kvm-2', reasons: ['INSUFFICIENT: MEMORY_MB'] }],
  },
  template: {
    name: 'web01-m1',
    derived: true,
    cpu_count: 2,
    ram_amount: 2048,
    machine_type: 'q35',
    firmware: 'bios',
    required_traits: [],
  },
  disks: [
    {
      index: 1,
      name: 'web01-disk1',
      disk_id: 'd1',
      source_key: '2000',
      source_file: '[ds] web01/web01.vmdk',
      size_bytes: 1024,
      bus: 'virtio-scsi',
      target: 0,
      format: 'qcow2',
    },
  ],
  nics: [
    {
      label: 'Network adapter 1',
      source_type: 'vmxnet3',
      source_mac: '00:50:56:aa:bb:cc',
      mac: '00:50:56:aa:bb:cc',
      model: 'virtio',
    },
  ],
  virt_v2v: { applies: true, reason: 'debian 12 with GRUB' },
  fixes: [
    {
      name: 'by-path',
      title: 'mount by UUID',
      notes: ['resolved by SCSI target 0'],
      edits: [
        {
          kind: 'write',
          path: '/etc/fstab',
          before_sha256: null,
          content: 'x',
          diff: '--- a/etc/fstab\n+++ b/etc/fstab\n-/dev/disk/by-path/x /data\n+UUID=1 /data\n',
        },
      ],
    },
  ],
  blockers: [],
  warnings: [{ code: 'SOURCE_RUNS_DURING_COPY', severity: 'warning', message: 'the source runs' }],
};

function migration(): MigrationRecord {
  const at = new Date('2026-12-06T00:00:00Z');
  return {
    id: 'm1',
    status: 'completed',
    mode: 'migrate',
    cutover: 'auto',
    vcenterUrl: 'https://vc/sdk',
    vmId: 'vm-42',
    moref: 'vm-42',
    vmName: 'web01',
    sourceKey: 'vc/vm-42',
    credentials: null,
    credentialsKeyId: null,
    target: { template: null, host: null, name: 'web01', format: 'qcow2', keepStaticIp: false },
    fixes: null,
    validate: { bootTimeoutS: 300, expectIp: null, bootSuccess: '', bootFailure: '' },
    stages: MIGRATION_STAGES.map((name, i) => ({
      name,
      state: 'done',
      started_at: new Date(at.getTime() + i * 1000).toISOString(),
      finished_at: new Date(at.getTime() + i * 1000 + 500).toISOString(),
      attempts: 1,
      progress: null,
      detail: `${name} | ok`,
      error: null,
    })),
    volumes: [],
    facts: null,
    exportId: null,
    inspectionId: null,
    plan,
    fixOperationId: 'op',
    fixResult: {
      operationId: 'op',
      virtV2v: { ran: true, durationMs: 2000, detail: 'converted' },
      edits: [{ fix: 'by-path', kind: 'write', path: '/etc/fstab', outcome: 'applied', detail: '' }],
      applianceBoots: 2,
    },
    templateName: 'web01-m1',
    failoverJobId: 'j',
    productionVmId: 'vm-prod',
    cutoverRequestedAt: null,
    validation: {
      vm_id: 't',
      vm_name: 'web01-test',
      passed: true,
      boot_ms: 4000,
      ip: '10.0.0.5',
      console_excerpt: 'FERRY-BOOT-OK\n```oops',
      reason: null,
    },
    cutoverResult: {
      vm_id: 'vm-prod',
      vm_name: 'web01',
      passed: true,
      boot_ms: 4100,
      ip: '10.0.0.6',
      console_excerpt: 'ok',
      reason: null,
      source_powered_off_at: at.toISOString(),
      downtime_ms: 9000,
    },
    sourcePowerBefore: 'poweredOn',
    sourcePoweredOffAt: at,
    error: null,
    keep: false,
    cancelRequested: false,
    requestedBy: null,
    correlationId: null,
    claimedBy: null,
    createdAt: at,
    updatedAt: at,
    finishedAt: at,
  };
}

describe('the report', () => {
  it('adds up the appliance boots and times each stage', () => {
    const r = buildReport(migration());
    expect(r.appliance_boots).toBe(3);
    expect(r.stages.map((s) => s.duration_ms)).toEqual(MIGRATION_STAGES.map(() => 500));
    expect(r.fix!.virt_v2v).toEqual({ ran: true, duration_ms: 2000, detail: 'converted' });
    expect(r.cutover!.downtime_ms).toBe(9000);
  });

  it('renders as Markdown: stages, placement, every diff, both boots with their consoles', () => {
    const md = renderReportMarkdown(buildReport(migration()));
    expect(md).toContain('| fetch | done | 0.5 s | 1 | fetch \\| ok |');
    expect(md).toContain('not kvm-2: INSUFFICIENT: MEMORY_MB');
    expect(md).toContain('```diff\n--- a/etc/fstab');
    expect(md).toContain('## Validation (test failover)');
    expect(md).toContain("'''oops"); // a fence in the console cannot end the code block early
    expect(md).toContain('downtime 9.0 s');
    expect(renderPlanMarkdown(plan)).toContain('- **SOURCE_RUNS_DURING_COPY**: the source runs');
  });

  it('names a vSphere VM as a vm-operator VM', () => {
    expect(vmNameOf('DC0_H0_VM0')).toBe('dc0-h0-vm0');
    expect(vmNameOf('Web 01.prod')).toBe('web-01-prod');
    expect(vmNameOf('***')).toBe('vm');
  });
});
