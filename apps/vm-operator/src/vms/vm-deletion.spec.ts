import { Logger } from '@nestjs/common';
import type { VmState } from '@ferry/contracts';
import { DiskSubjects, FerryError, volumeDeviceId } from '@ferry/contracts';
import type { FerryClient, Transactional, UnitOfWork } from '@ferry/platform';
import { EventFactory } from '@ferry/platform';
import type { EntityManager } from 'typeorm';
import type { DevicesRepository } from '../devices/devices.repository';
import type { QemuDriver } from '../drivers/qemu/qemu-driver';
import type { VmRecord } from './entities/vm.entity';
import { VmDeletion } from './vm-deletion';
import type { VmLifecycle } from './vm-lifecycle.service';
import type { VmTransitions } from './vm-events';
import type { VmsRepository } from './vms.repository';

const VM_ID = '3f2a9c1e-0b7d-4e6f-8a1b-2c3d4e5f6a7b';
const DISKS = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];

/** One VM, its recorded devices, and a volume-daemon whose answers each test chooses. */
function world(state: VmState, deviceIds: string[], volumeDaemon: Partial<Record<string, () => unknown>>) {
  const calls: string[] = [];
  const emitted: { type: string }[] = [];
  let vm: VmRecord | null = {
    id: VM_ID,
    name: 'web-1',
    template: 'small',
    state,
    localIp: null,
    nics: [],
    pid: state === 'running' ? 4242 : null,
    accelerator: null,
    lastError: null,
    createdAt: new Date(),
    updatedAt: new Date(),
  };
  let devices = deviceIds.map((deviceId) => ({ deviceId, path: `/d/${deviceId}`, format: 'qcow2' }));
  const uow = {
    em: {} as EntityManager,
    emit: async (e: { type: string }) => void emitted.push(e),
  } as unknown as UnitOfWork;
  const tx = { run: <T>(work: (u: UnitOfWork) => Promise<T>) => work(uow) } as unknown as Transactional;
  const vms = {
    findById: async () => (vm ? { ...vm } : null),
    delete: async () => {
      calls.push('delete-record');
      vm = null;
    },
  } as unknown as VmsRepository;
  const devicesRepo = { list: async () => devices } as unknown as DevicesRepository;
  const transitions = {
    move: async (_id: string, from: VmState[], to: VmState) => {
      if (!vm || !from.includes(vm.state)) return null;
      calls.push(`${vm.state}→${to}`);
      vm = { ...vm, state: to };
      return { ...vm };
    },
  } as unknown as VmTransitions;
  const lifecycle = {
    stopNow: async () => {
      calls.push('stop-qemu');
      vm = { ...vm!, state: 'stopped', pid: null };
    },
    destroy: async () => void calls.push('destroy'),
  } as unknown as VmLifecycle;
  const qemu = { runningPid: async () => vm?.pid ?? undefined } as unknown as QemuDriver;
  const client = {
    send: async (subject: string) => {
      calls.push(subject);
      const answer = volumeDaemon[subject];
      if (!answer) throw new FerryError('UNAVAILABLE', `no responders for ${subject}`);
      const result = answer();
      if (subject === DiskSubjects.DETACH_VM_DISKS) devices = [];
      return result;
    },
  } as unknown as FerryClient;
  const deletion = new VmDeletion(
    vms,
    devicesRepo,
    transitions,
    lifecycle,
    qemu,
    client,
    tx,
    new EventFactory('vm-operator'),
  );
  return { deletion, calls, emitted, vm: () => vm, record: async () => (await vms.findById(VM_ID))! };
}

const listed = (ids: string[]) => () => ({ items: ids.map((id) => ({ id })) });
const failure = async (p: Promise<unknown>) =>
  (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as FerryError;

beforeAll(() => Logger.overrideLogger(false));

describe('VmDeletion (seed 004: a delete stops the VM and detaches its disks)', () => {
  it('stops a running VM, has volume-daemon detach its disks, then deletes it', async () => {
    const w = world('running', DISKS.map(volumeDeviceId), {
      [DiskSubjects.LIST]: listed(DISKS),
      [DiskSubjects.DETACH_VM_DISKS]: () => ({ vmId: VM_ID, detached: DISKS.map((id) => ({ id })) }),
    });
    await w.deletion.delete(await w.record());
    expect(w.calls).toEqual([
      DiskSubjects.LIST,
      'running→stopping',
      'stop-qemu',
      DiskSubjects.DETACH_VM_DISKS,
      'destroy',
      'delete-record',
    ]);
    expect(w.vm()).toBeNull();
    expect(w.emitted.map((e) => e.type)).toEqual(['ferry.vm-operator.vm.deleted']);
  });

  it('never asks volume-daemon about a VM without disks (a delete does not depend on it then)', async () => {
    const w = world('running', [], {});
    await w.deletion.delete(await w.record());
    expect(w.calls).toEqual(['destroy', 'delete-record']);
  });

  it('refuses a device volume-daemon does not know before changing anything', async () => {
    const w = world('running', [volumeDeviceId(DISKS[0]!), 'scratch'], {
      [DiskSubjects.LIST]: listed([DISKS[0]!]),
    });
    const err = await failure(w.deletion.delete(await w.record()));
    expect(err.code).toBe('CONFLICT');
    expect(err.message).toMatch(/"scratch".*volume-daemon does not know/);
    expect(w.calls).toEqual([DiskSubjects.LIST]);
    expect(w.vm()?.state).toBe('running');
  });

  it('answers UNAVAILABLE, changing nothing, while volume-daemon is down', async () => {
    const w = world('running', [volumeDeviceId(DISKS[0]!)], {});
    expect((await failure(w.deletion.delete(await w.record()))).code).toBe('UNAVAILABLE');
    expect(w.vm()?.state).toBe('running');
  });

  it('leaves the VM stopped, not deleted, naming what volume-daemon could not detach', async () => {
    const w = world('stopped', DISKS.map(volumeDeviceId), {
      [DiskSubjects.LIST]: listed(DISKS),
      [DiskSubjects.DETACH_VM_DISKS]: () => {
        throw new FerryError('CONFLICT', `detached 1 of 2 disk(s) of VM ${VM_ID}; disk "d2": busy`, {
          failed: [{ id: DISKS[1] }],
        });
      },
    });
    const err = await failure(w.deletion.delete(await w.record()));
    expect(err.code).toBe('CONFLICT');
    expect(err.message).toBe(
      `VM "web-1" is stopped but not deleted: detached 1 of 2 disk(s) of VM ${VM_ID}; disk "d2": busy`,
    );
    expect(err.details).toMatchObject({ id: VM_ID, state: 'stopped', failed: [{ id: DISKS[1] }] });
    expect(w.calls).not.toContain('delete-record');
    expect(w.vm()?.state).toBe('stopped');
  });

  it('refuses while the VM is starting or stopping', async () => {
    const w = world('starting', [], {});
    expect((await failure(w.deletion.delete(await w.record()))).code).toBe('CONFLICT');
    expect(w.calls).toEqual([]);
  });
});
