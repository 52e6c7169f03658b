import type { DiskDto, VmDto } from '@ferry/contracts';
import type { Observation } from './judge';
import { judge } from './judge';
import { parsePolicies } from './policies';

const VM_A = 'a0000000-0000-4000-8000-00000000000a';
const DISK_1 = 'd0000000-0000-4000-8000-000000000001';

const vm = (over: Partial<VmDto>): VmDto =>
  ({ id: VM_A, name: 'a', template: 't', state: 'running', pid: 10, ...over }) as VmDto;
const disk = (over: Partial<DiskDto>): DiskDto =>
  ({
    id: DISK_1,
    name: 'd1',
    format: 'qcow2',
    size_bytes: 1024,
    state: 'available',
    vm_id: null,
    operation_id: null,
    path: '/disks/d1.qcow2',
    ...over,
  }) as DiskDto;

function observation(over: Partial<Observation>): Observation {
  return {
    vms: [],
    disks: [],
    processes: new Map(),
    qmp: new Map(),
    images: new Map(),
    qemuProcesses: [],
    runtimeDirs: [],
    storageFiles: [],
    ...over,
  };
}

const alive = { pid: 10, alive: true, reason: null };
const kinds = (o: Observation) => judge(o).findings.map((f) => `${f.kind} ${f.subject}`);

describe('judge', () => {
  it('finds nothing when records and reality agree', () => {
    const o = observation({
      vms: [vm({})],
      disks: [disk({ state: 'in-use', vm_id: VM_A })],
      processes: new Map([[VM_A, alive]]),
      qmp: new Map([[VM_A, { status: 'running', blockDevices: [{ deviceId: `vol-${DISK_1}`, file: 'x' }] }]]),
      images: new Map([['/disks/d1.qcow2', { format: 'qcow2', virtualSize: 1024 }]]),
      runtimeDirs: [VM_A],
      storageFiles: ['/disks/d1.qcow2'],
      qemuProcesses: [{ pid: 10, vmId: VM_A, pidFile: null }],
    });
    expect(kinds(o)).toEqual([]);
  });

  it('tells a missing process, a silent monitor and a paused guest apart', () => {
    const gone = observation({
      vms: [vm({})],
      processes: new Map([[VM_A, { pid: 10, alive: false, reason: 'zombie 10' }]]),
    });
    expect(judge(gone).findings[0]).toMatchObject({ kind: 'vm_process_missing', observed: 'zombie 10' });
    const silent = observation({
      vms: [vm({})],
      processes: new Map([[VM_A, alive]]),
      qmp: new Map([[VM_A, new Error('timed out')]]),
    });
    expect(kinds(silent)).toEqual([`qmp_unresponsive ${VM_A}`]);
    const paused = observation({
      vms: [vm({})],
      processes: new Map([[VM_A, alive]]),
      qmp: new Map([[VM_A, { status: 'paused', blockDevices: [] }]]),
    });
    expect(judge(paused).findings[0]).toMatchObject({
      kind: 'vm_state_mismatch',
      observed: 'qemu is paused',
    });
  });

  it('skips a VM that is starting and a disk with an operation in flight, and says so', () => {
    const o = observation({
      vms: [vm({ state: 'starting' })],
      disks: [disk({ operation_id: 'op', state: 'attaching', vm_id: VM_A })],
      images: new Map([['/disks/d1.qcow2', null]]),
    });
    const j = judge(o);
    expect(j.findings).toEqual([]);
    expect([...j.skipped].sort()).toEqual([VM_A, `${VM_A}/vol-${DISK_1}`, DISK_1].sort());
  });

  it('finds a missing or resized image, a missing attachment and an unknown one', () => {
    const o = observation({
      vms: [vm({})],
      disks: [disk({ state: 'in-use', vm_id: VM_A })],
      processes: new Map([[VM_A, alive]]),
      qmp: new Map([
        [
          VM_A,
          {
            status: 'running',
            blockDevices: [{ deviceId: 'vol-e0000000-0000-4000-8000-000000000009', file: 'y' }],
          },
        ],
      ]),
      images: new Map([['/disks/d1.qcow2', { format: 'raw', virtualSize: 1024 }]]),
      storageFiles: ['/disks/d1.qcow2'],
    });
    expect(kinds(o).sort()).toEqual(
      [
        `attachment_missing ${DISK_1}`,
        `attachment_unknown ${VM_A}/vol-e0000000-0000-4000-8000-000000000009`,
        `disk_size_mismatch ${DISK_1}`,
      ].sort(),
    );
    expect(kinds(observation({ disks: [disk({})], images: new Map([['/disks/d1.qcow2', null]]) }))).toEqual([
      `disk_missing ${DISK_1}`,
    ]);
  });

  it('finds orphans: a Ferry QEMU or runtime directory without a record, a file without a disk', () => {
    const stray = 'f0000000-0000-4000-8000-00000000000f';
    const o = observation({
      qemuProcesses: [
        { pid: 77, vmId: stray, pidFile: null },
        { pid: 78, vmId: null, pidFile: null },
      ],
      runtimeDirs: [stray],
      storageFiles: ['/disks/lost.qcow2'],
    });
    const j = judge(o);
    expect(j.findings.map((f) => `${f.kind} ${f.subject}`)).toEqual([
      `orphan_process ferry-${stray}`,
      'orphan_disk /disks/lost.qcow2',
    ]);
    expect(j.findings[0]!.observed).toBe(`qemu pid 77 and a runtime directory, no VM record ${stray}`);
  });

  it('judges only the kinds whose records it has', () => {
    const j = judge(observation({ vms: undefined, storageFiles: ['/disks/x'] }));
    expect([...j.covered].sort()).toEqual(['disk_missing', 'disk_size_mismatch', 'orphan_disk']);
  });
});

describe('parsePolicies', () => {
  it('gives every kind log unless told, and refuses what a kind cannot do', () => {
    const p = parsePolicies(' vm_process_missing=repair, orphan_disk=quarantine ');
    expect([p.vm_process_missing, p.orphan_disk, p.disk_missing]).toEqual(['repair', 'quarantine', 'log']);
    expect(() => parsePolicies('disk_missing=repair')).toThrow('disk_missing takes log, not "repair"');
    expect(() => parsePolicies('nope=log')).toThrow('unknown issue kind');
    expect(() => parsePolicies('orphan_disk')).toThrow('is not kind=policy');
  });
});
