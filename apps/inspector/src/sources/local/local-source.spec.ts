import type { RpcSubject, VmDto } from '@ferry/contracts';
import { DeviceSubjects, FerryError, VmSubjects } from '@ferry/contracts';
import type { FerryClient } from '@ferry/platform';
import type { DiskInspection, VmDiskInspection } from '../../deep/vm-disk-inspector';
import { SourceFatalError, VmInspectionError } from '../source';
import type { LocalSnapshotRef } from './local-source';
import { LocalSource } from './local-source';

const VM_ID = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';

interface Disk {
  deviceId: string;
  path: string;
  format: string;
  overlay?: string;
}

/** vm-operator in memory: one VM `web-1` with the given disks; records every request. */
function vmOperator(
  disks: Disk[],
  fail: { snapshot?: Record<string, FerryError>; consolidate?: FerryError } = {},
) {
  const calls: [string, Record<string, unknown>][] = [];
  let vmExists = true;
  const vm = { id: VM_ID, name: 'web-1', state: 'running' } as VmDto;
  const notFound = () => FerryError.notFound(`VM "${VM_ID}" not found`, { id: VM_ID });
  const disk = (deviceId: unknown) => {
    const d = disks.find((x) => x.deviceId === deviceId);
    if (!d) throw FerryError.notFound(`VM ${VM_ID} has no device "${String(deviceId)}"`);
    return d;
  };
  const handlers: Record<string, (req: Record<string, unknown>) => unknown> = {
    [VmSubjects.LIST]: () => ({ items: vmExists ? [vm] : [] }),
    [VmSubjects.GET]: (req) => {
      if (!vmExists || req['id'] !== VM_ID) throw notFound();
      return vm;
    },
    [DeviceSubjects.LIST]: () => {
      if (!vmExists) throw notFound();
      const items = disks.map((d) => ({ ...d, byIdPath: '', readOnly: false }));
      return { vmId: VM_ID, source: 'qmp', items };
    },
    [DeviceSubjects.SNAPSHOT]: (req) => {
      const d = disk(req['deviceId']);
      const failure = fail.snapshot?.[d.deviceId];
      if (failure) throw failure;
      if (d.overlay)
        throw FerryError.conflict(`disk "${d.deviceId}" already has a snapshot; consolidate it first`);
      d.overlay = `/run/vm/${d.deviceId}.overlay.qcow2`;
      return { vmId: VM_ID, deviceId: d.deviceId, imagePath: d.path, overlayPath: d.overlay, live: true };
    },
    [DeviceSubjects.CONSOLIDATE]: (req) => {
      if (!vmExists) throw notFound();
      if (fail.consolidate && req['deviceId'] === 'disk-0') throw fail.consolidate;
      const d = disk(req['deviceId']);
      if (!d.overlay) throw FerryError.conflict(`disk "${d.deviceId}" has no snapshot`);
      delete d.overlay;
      return { deviceId: d.deviceId };
    },
  };
  const client = {
    send: async (subject: RpcSubject, req: unknown) => {
      calls.push([subject, req as Record<string, unknown>]);
      const handler = handlers[subject];
      if (!handler) throw new Error(`unexpected ${subject}`);
      return handler(req as Record<string, unknown>);
    },
  } as unknown as Pick<FerryClient, 'send'>;
  return { client, calls, disks, deleteVm: () => (vmExists = false) };
}

const INSPECTION: VmDiskInspection = { disks: [], guest: null, guests: [], concerns: [] };

function setup(
  disks: Disk[],
  fail?: Parameters<typeof vmOperator>[1],
  inspection?: DiskInspection['inspect'],
) {
  const op = vmOperator(disks, fail);
  const inspector: jest.Mocked<DiskInspection> = {
    check: jest.fn().mockResolvedValue(undefined),
    inspect: jest.fn(inspection ?? (async () => INSPECTION)),
  };
  const logger = { log: jest.fn(), warn: jest.fn(), debug: jest.fn() };
  const config = {
    deepInspection: 'virt-inspector',
    virtInspectorTimeoutMs: 1000,
    qemuImg: 'qemu-img',
    requestTimeoutMs: 1000,
  } as const;
  const source = new LocalSource(op.client, config, logger, inspector);
  const of = (subject: string) => op.calls.filter(([s]) => s === subject).map(([, req]) => req['deviceId']);
  return { ...op, inspector, source, of };
}

const twoDisks = (): Disk[] => [
  { deviceId: 'disk-0', path: '/var/lib/ferry/disks/a.qcow2', format: 'qcow2' },
  { deviceId: 'disk-1', path: '/var/lib/ferry/disks/b.raw', format: 'raw' },
];
const signal = () => new AbortController().signal;

describe('LocalSource', () => {
  it('opens when vm-operator answers and the tools are there', async () => {
    const { source, inspector } = setup([]);
    await source.open(signal());
    expect(inspector.check).toHaveBeenCalled();
    expect(source.snapshots).toBe(true);
  });

  it('fails to open, as unreachable, when vm-operator does not answer', async () => {
    const { source, client } = setup([]);
    jest
      .spyOn(client, 'send')
      .mockRejectedValue(new FerryError('UNAVAILABLE', 'no service is serving vm-operator.vm.list'));
    const err = await source.open(signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceFatalError);
    expect(err).toMatchObject({ kind: 'unreachable' });
  });

  it('fails to open when libguestfs is missing', async () => {
    const { source, inspector } = setup([]);
    inspector.check.mockRejectedValue(new Error('guestfish: not found; install libguestfs-tools'));
    await expect(source.open(signal())).rejects.toMatchObject({ kind: 'other', message: /libguestfs-tools/ });
  });

  it.each([VM_ID, 'web-1'])('freezes every disk of the VM named by id or name (%s)', async (vmId) => {
    const { source, of } = setup(twoDisks());
    const ref = await source.createSnapshot(vmId, 'n', 'd', signal());
    expect(ref).toEqual({
      vmId: VM_ID,
      devices: [
        {
          deviceId: 'disk-0',
          imagePath: '/var/lib/ferry/disks/a.qcow2',
          format: 'qcow2',
          overlayPath: '/run/vm/disk-0.overlay.qcow2',
        },
        {
          deviceId: 'disk-1',
          imagePath: '/var/lib/ferry/disks/b.raw',
          format: 'raw',
          overlayPath: '/run/vm/disk-1.overlay.qcow2',
        },
      ],
    });
    expect(of(DeviceSubjects.SNAPSHOT)).toEqual(['disk-0', 'disk-1']);
  });

  it('gives back the snapshots it took when a later disk fails, then fails the VM', async () => {
    const disks: Disk[] = [...twoDisks(), { deviceId: 'disk-2', path: '/c.qcow2', format: 'qcow2' }];
    const { source, of } = setup(disks, {
      snapshot: { 'disk-1': new FerryError('UNPROCESSABLE', 'QEMU refused') },
    });
    const err = await source.createSnapshot(VM_ID, 'n', 'd', signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VmInspectionError);
    expect((err as Error).message).toMatch(/QEMU refused/);
    expect(of(DeviceSubjects.SNAPSHOT)).toEqual(['disk-0', 'disk-1']);
    expect(of(DeviceSubjects.CONSOLIDATE)).toEqual(['disk-0']);
    expect(disks.every((d) => !d.overlay)).toBe(true);
  });

  it('also consolidates a disk whose snapshot request timed out (it may have been taken)', async () => {
    const { source, of } = setup(twoDisks(), {
      snapshot: { 'disk-1': new FerryError('TIMEOUT', 'vm-operator.device.snapshot did not answer') },
    });
    await expect(source.createSnapshot(VM_ID, 'n', 'd', signal())).rejects.toBeInstanceOf(VmInspectionError);
    expect(of(DeviceSubjects.CONSOLIDATE)).toEqual(['disk-0', 'disk-1']);
  });

  it('leaves alone a snapshot it did not take', async () => {
    const disks = twoDisks();
    disks[1]!.overlay = '/someone/else.qcow2';
    const { source, of } = setup(disks);
    await expect(source.createSnapshot(VM_ID, 'n', 'd', signal())).rejects.toThrow(/already has a snapshot/);
    expect(of(DeviceSubjects.CONSOLIDATE)).toEqual(['disk-0']);
    expect(disks[1]?.overlay).toBe('/someone/else.qcow2');
  });

  it('fails the VM when it does not exist or has no disks', async () => {
    await expect(setup(twoDisks()).source.createSnapshot('db-9', 'n', 'd', signal())).rejects.toThrow(
      new VmInspectionError('VM "db-9" not found'),
    );
    await expect(
      setup(twoDisks()).source.createSnapshot('00000000-0000-4000-8000-000000000000', 'n', 'd', signal()),
    ).rejects.toBeInstanceOf(VmInspectionError);
    await expect(setup([]).source.createSnapshot('web-1', 'n', 'd', signal())).rejects.toThrow(
      /has no disks/,
    );
  });

  it('stops the run when vm-operator goes away', async () => {
    const { source, client } = setup(twoDisks());
    jest
      .spyOn(client, 'send')
      .mockRejectedValue(new FerryError('UNAVAILABLE', 'no service is serving vm-operator.vm.get'));
    await expect(source.createSnapshot(VM_ID, 'n', 'd', signal())).rejects.toBeInstanceOf(SourceFatalError);
  });

  it('inspects the frozen images and builds the results', async () => {
    const guest = { root: '/dev/sda1' } as VmDiskInspection['guest'];
    const concerns = [{ code: 'FSTAB_BY_PATH', severity: 'blocker' as const, message: 'm' }];
    const { source, inspector } = setup(twoDisks(), {}, async () => ({ ...INSPECTION, guest, concerns }));
    const ref = await source.createSnapshot('web-1', 'n', 'd', signal());
    const results = await source.inspect('web-1', ref, signal());
    expect(inspector.inspect).toHaveBeenCalledWith(
      [
        { deviceId: 'disk-0', path: '/var/lib/ferry/disks/a.qcow2', format: 'qcow2' },
        { deviceId: 'disk-1', path: '/var/lib/ferry/disks/b.raw', format: 'raw' },
      ],
      expect.any(AbortSignal),
    );
    expect(results).toEqual({
      source: 'local',
      vmId: 'web-1',
      inspectedAt: expect.any(String),
      durationMs: 0,
      snapshot: null,
      disks: [],
      guest,
      concerns,
    });
  });

  it('fails the VM when an image cannot be read, and passes an abort through', async () => {
    const ref: LocalSnapshotRef = {
      vmId: VM_ID,
      devices: [{ deviceId: 'd', imagePath: '/x', format: 'qcow2', overlayPath: '/o' }],
    };
    const unreadable = setup([], {}, async () => Promise.reject(new Error("qemu-img: Could not open '/x'")));
    await expect(unreadable.source.inspect(VM_ID, ref, signal())).rejects.toThrow(VmInspectionError);
    await expect(unreadable.source.inspect(VM_ID, null, signal())).rejects.toThrow(/no frozen disks/);

    const controller = new AbortController();
    const reason = new Error('canceled');
    const aborted = setup([], {}, async () => {
      controller.abort(reason);
      throw new Error('killed');
    });
    await expect(aborted.source.inspect(VM_ID, ref, controller.signal)).rejects.toBe(reason);
  });

  it('removes snapshots idempotently: a second removal, or a deleted VM, succeeds', async () => {
    const { source, of, disks, deleteVm } = setup(twoDisks());
    const ref = await source.createSnapshot(VM_ID, 'n', 'd', signal());
    await source.removeSnapshot(VM_ID, ref, 'n', 'd');
    expect(disks.every((d) => !d.overlay)).toBe(true);
    await source.removeSnapshot(VM_ID, ref, 'n', 'd');
    expect(of(DeviceSubjects.CONSOLIDATE)).toEqual(['disk-0', 'disk-1', 'disk-0', 'disk-1']);
    deleteVm();
    await source.removeSnapshot(VM_ID, ref, 'n', 'd');
    await source.removeSnapshot(VM_ID, null, 'n', 'd');
  });

  it('without a ref, consolidates whatever snapshots the VM has', async () => {
    const disks = twoDisks();
    disks[1]!.overlay = '/run/vm/disk-1.overlay.qcow2';
    const { source, of } = setup(disks);
    await source.removeSnapshot('web-1', null, 'n', 'd');
    expect(of(DeviceSubjects.CONSOLIDATE)).toEqual(['disk-0', 'disk-1']);
    expect(disks[1]?.overlay).toBeUndefined();
  });

  it('consolidates the other disks when one fails, then reports the failure', async () => {
    const failure = new FerryError('TIMEOUT', 'the commit job did not finish');
    const { source, of, disks } = setup(twoDisks(), { consolidate: failure });
    const ref = await source.createSnapshot(VM_ID, 'n', 'd', signal());
    await expect(source.removeSnapshot(VM_ID, ref, 'n', 'd')).rejects.toBe(failure);
    expect(of(DeviceSubjects.CONSOLIDATE)).toEqual(['disk-0', 'disk-1']);
    expect(disks[1]?.overlay).toBeUndefined();
  });
});
