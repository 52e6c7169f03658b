import { Logger } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import type { OperationRunner } from '../operations/operation-runner';
import type { OperationRecord } from '../operations/operations.repository';
import type { DiskRecord, DisksRepository } from './disks.repository';
import type { DisksService } from './disks.service';
import { VmDisksService } from './vm-disks.service';

const VM = '3f2a9c1e-0b7d-4e6f-8a1b-2c3d4e5f6a7b';

/** Disks on VM; `outcome` says how each one's detach ends: completed, failed (the operation), or refused. */
function setup(outcome: Record<string, 'completed' | 'failed' | 'refused'>) {
  const began: { id: string; fromVm?: string }[] = [];
  const disks = Object.keys(outcome).map((name) => ({ id: `id-${name}`, name, vmId: VM }) as DiskRecord);
  const repo = { list: async () => disks } as unknown as DisksRepository;
  const service = {
    beginDetach: async (req: { id: string }, fromVm?: string) => {
      began.push({ id: req.id, fromVm });
      const name = req.id.slice(3);
      if (outcome[name] === 'refused')
        throw FerryError.conflict(`disk "${name}" has a attach operation in flight (op-9)`);
      return { id: `op-${name}`, status: 'pending' } as OperationRecord;
    },
    get: async (id: string) => ({ id, state: 'available', vm_id: null }),
  } as unknown as DisksService;
  const runner = {
    runNow: async (op: OperationRecord) => {
      const name = op.id.slice(3);
      return outcome[name] === 'completed'
        ? { ...op, status: 'completed', error: null }
        : { ...op, status: 'failed', error: { code: 'TIMEOUT', message: 'device was not released' } };
    },
  } as unknown as OperationRunner;
  return { vmDisks: new VmDisksService(service, repo, runner), began };
}

beforeAll(() => Logger.overrideLogger(false));

describe('VmDisksService.detachAll (the disks of a VM being deleted)', () => {
  it('detaches each disk of the VM through its own detach operation, only while it is still on that VM', async () => {
    const { vmDisks, began } = setup({ a: 'completed', b: 'completed' });
    const reply = await vmDisks.detachAll({ vmId: VM });
    expect(reply).toEqual({
      vmId: VM,
      detached: [
        { id: 'id-a', state: 'available', vm_id: null },
        { id: 'id-b', state: 'available', vm_id: null },
      ],
    });
    expect(began).toEqual([
      { id: 'id-a', fromVm: VM },
      { id: 'id-b', fromVm: VM },
    ]);
  });

  it('tries every disk, then names each one left with its reason and lists those detached', async () => {
    const { vmDisks } = setup({ a: 'refused', b: 'completed', c: 'failed' });
    const err = (await vmDisks.detachAll({ vmId: VM }).catch((e: unknown) => e)) as FerryError;
    expect(err).toBeInstanceOf(FerryError);
    expect(err.code).toBe('CONFLICT');
    expect(err.message).toBe(
      `detached 1 of 3 disk(s) of VM ${VM}; disk "a" (id-a): disk "a" has a attach operation in flight (op-9); disk "c" (id-c): device was not released`,
    );
    expect(err.details).toEqual({
      vmId: VM,
      detached: ['id-b'],
      failed: [
        {
          id: 'id-a',
          name: 'a',
          operation_id: null,
          code: 'CONFLICT',
          message: 'disk "a" has a attach operation in flight (op-9)',
        },
        { id: 'id-c', name: 'c', operation_id: 'op-c', code: 'TIMEOUT', message: 'device was not released' },
      ],
    });
  });

  it('answers at once for a VM with no disks', async () => {
    const { vmDisks, began } = setup({});
    expect(await vmDisks.detachAll({ vmId: 'vm-12345678-test' })).toEqual({
      vmId: 'vm-12345678-test',
      detached: [],
    });
    expect(began).toEqual([]);
  });
});
