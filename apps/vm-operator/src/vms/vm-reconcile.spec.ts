import { Logger } from '@nestjs/common';
import type { CloudEvent, VmState } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import type { Transactional, UnitOfWork } from '@ferry/platform';
import { EventFactory } from '@ferry/platform';
import type { EntityManager } from 'typeorm';
import type { QemuDriver } from '../drivers/qemu/qemu-driver';
import type { NicsRepository } from '../network/nics.repository';
import type { VmRecord } from './entities/vm.entity';
import type { VmLifecycle } from './vm-lifecycle.service';
import { VmTransitions } from './vm-events';
import { VmReconciler } from './vm-reconcile';
import { VmRecovery } from './vm-recovery.service';
import type { VmRuntimeFields, VmsRepository } from './vms.repository';

/** What the stubbed QEMU of the VM is: no process, a process whose QMP does not answer, or a running one. */
type Qemu = 'gone' | 'silent' | 'running';

const ID = '2b6f1f9e-5a0c-4d8e-9a51-3f1c8f0d7a11';
const PID = 4242;

function setup(state: VmState, qemu: Qemu, options: { beforeChange?: () => void } = {}) {
  const rows = new Map<string, VmRecord>();
  rows.set(ID, {
    id: ID,
    name: 'vm-1',
    template: 'small',
    state,
    localIp: null,
    nics: [],
    pid: state === 'running' ? PID : null,
    accelerator: 'tcg',
    lastError: state === 'error' ? 'stop failed: boom' : null,
    createdAt: new Date(),
    updatedAt: new Date(),
  });
  const emitted: CloudEvent[] = [];
  const uow: UnitOfWork = {
    em: {} as EntityManager,
    emit: async (e) => void emitted.push(e),
    emitAll: async (es) => void emitted.push(...es),
  };
  const tx = { run: <T>(work: (u: UnitOfWork) => Promise<T>) => work(uow) } as unknown as Transactional;
  // The repository's compare-and-set on the state, in memory.
  const vms = {
    findById: async (id: string) => (rows.get(id) ? { ...rows.get(id)! } : null),
    list: async () => [...rows.values()].map((r) => ({ ...r })),
    transition: async (
      _em: EntityManager,
      id: string,
      from: readonly VmState[],
      to: VmState,
      fields: VmRuntimeFields = {},
    ) => {
      const row = rows.get(id);
      if (!row || !from.includes(row.state)) return null;
      const next = { ...row, ...fields, state: to, updatedAt: new Date() };
      rows.set(id, next);
      return { ...next };
    },
  } as unknown as VmsRepository;
  const calls: string[] = [];
  const driver = {
    runningPid: async () => {
      calls.push('runningPid');
      options.beforeChange?.();
      return qemu === 'gone' ? undefined : PID;
    },
    status: async () => {
      calls.push('status');
      if (qemu === 'silent') throw new Error('query-status got no QMP answer within 5000 ms');
      return { status: 'running', running: true };
    },
    stop: async (_id: string, graceMs: number) => {
      calls.push(`stop:${graceMs}`);
      return 'quit';
    },
  } as unknown as QemuDriver;
  const lifecycle = {
    watch: async (id: string) => void calls.push(`watch:${id}`),
    run: (vm: VmRecord, action: string) => void calls.push(`run:${action}`),
  } as unknown as VmLifecycle;
  const nics = { clearAddresses: async () => [] } as unknown as NicsRepository;
  const transitions = new VmTransitions(vms, tx, new EventFactory('vm-operator'), nics);
  const reconciler = new VmReconciler(vms, driver, lifecycle, transitions);
  const recovery = new VmRecovery(vms, lifecycle, reconciler);
  const row = () => rows.get(ID)!;
  const set = (s: VmState) => rows.set(ID, { ...row(), state: s });
  return { reconciler, recovery, emitted, calls, row, set };
}

const types = (events: CloudEvent[]) => events.map((e) => e.type);

beforeAll(() => Logger.overrideLogger(false));

describe('VmReconciler.reconcile (vm-operator.vm.reconcile)', () => {
  it('moves a running VM whose QEMU is gone to stopped, pid null, through the transition events', async () => {
    const { reconciler, emitted, calls, row } = setup('running', 'gone');
    const vm = await reconciler.reconcile(ID);
    expect(vm).toMatchObject({ id: ID, state: 'stopped', pid: null });
    expect(row()).toMatchObject({ state: 'stopped', pid: null });
    expect(types(emitted)).toEqual(['ferry.vm-operator.vm.state-changed', 'ferry.vm-operator.vm.stopped']);
    expect(emitted[0]!.data).toEqual({
      id: ID,
      from: 'running',
      to: 'stopped',
      reason: 'qemu not running (reconciled on request)',
    });
    expect(emitted[1]!.data).toMatchObject({ reason: 'qemu not running (reconciled on request)' });
    // Nothing to stop: no process is left.
    expect(calls).toEqual(['runningPid']);
  });

  it('stops a QEMU that lives but does not answer QMP before marking its running VM stopped', async () => {
    const { reconciler, emitted, calls } = setup('running', 'silent');
    expect(await reconciler.reconcile(ID)).toMatchObject({ state: 'stopped', pid: null });
    expect(calls).toEqual(['runningPid', 'status', 'stop:0']);
    expect(types(emitted)).toEqual(['ferry.vm-operator.vm.state-changed', 'ferry.vm-operator.vm.stopped']);
  });

  it('leaves a running VM whose QEMU answers as it is (and watched), with no events', async () => {
    const { reconciler, emitted, calls, row } = setup('running', 'running');
    const before = { ...row() };
    expect(await reconciler.reconcile(ID)).toEqual(before);
    expect(emitted).toEqual([]);
    expect(calls).toEqual(['runningPid', 'status', `watch:${ID}`]);
  });

  it.each(['stopped', 'error'] as const)(
    'adopts the running QEMU of a %s VM as running with its pid, and watches it',
    async (state) => {
      const { reconciler, emitted, calls, row } = setup(state, 'running');
      expect(await reconciler.reconcile(ID)).toMatchObject({
        state: 'running',
        pid: PID,
        lastError: null,
      });
      expect(row()).toMatchObject({ state: 'running', pid: PID });
      expect(types(emitted)).toEqual(['ferry.vm-operator.vm.state-changed', 'ferry.vm-operator.vm.started']);
      expect(emitted[0]!.data).toEqual({
        id: ID,
        from: state,
        to: 'running',
        reason: 'qemu found running (reconciled on request)',
      });
      expect(calls).toContain(`watch:${ID}`);
    },
  );

  it.each([
    ['stopped', 'gone'],
    ['stopped', 'silent'],
    ['error', 'gone'],
  ] as const)('changes nothing for a %s VM whose QEMU is %s', async (state, qemu) => {
    const { reconciler, emitted, calls, row } = setup(state, qemu);
    const before = { ...row() };
    expect(await reconciler.reconcile(ID)).toEqual(before);
    expect(emitted).toEqual([]);
    expect(calls.filter((c) => c.startsWith('stop') || c.startsWith('watch'))).toEqual([]);
  });

  it.each(['starting', 'stopping'] as const)(
    'leaves a %s VM to the action in flight without asking QEMU',
    async (state) => {
      const { reconciler, emitted, calls } = setup(state, 'gone');
      expect(await reconciler.reconcile(ID)).toMatchObject({ state });
      expect(emitted).toEqual([]);
      expect(calls).toEqual([]);
    },
  );

  it('answers NOT_FOUND for an unknown VM', async () => {
    const { reconciler } = setup('running', 'gone');
    const err = await reconciler.reconcile('0e6f4c1a-0000-4000-8000-000000000000').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('NOT_FOUND');
  });

  it('does not clobber a stop that moved the VM between the look and the change', async () => {
    const fixture: ReturnType<typeof setup> = setup('running', 'gone', {
      beforeChange: () => fixture.set('stopping'),
    });
    const { reconciler, emitted, row } = fixture;
    expect(await reconciler.reconcile(ID)).toMatchObject({ state: 'stopping' });
    expect(row().state).toBe('stopping');
    expect(emitted).toEqual([]);
  });

  it('does not clobber a start that moved a stopped VM on before it could be adopted', async () => {
    const fixture: ReturnType<typeof setup> = setup('stopped', 'running', {
      beforeChange: () => fixture.set('starting'),
    });
    const { reconciler, emitted, calls } = fixture;
    expect(await reconciler.reconcile(ID)).toMatchObject({ state: 'starting' });
    expect(emitted).toEqual([]);
    expect(calls).not.toContain(`watch:${ID}`);
  });
});

describe('VmRecovery (start-up), on the same logic', () => {
  it('marks a running VM whose QEMU is gone stopped, with the start-up reason', async () => {
    const { recovery, emitted, row } = setup('running', 'gone');
    await recovery.onApplicationBootstrap();
    expect(row()).toMatchObject({ state: 'stopped', pid: null });
    expect(emitted[0]!.data).toMatchObject({ reason: 'qemu not running when vm-operator started' });
  });

  it('adopts a VM caught starting whose QEMU runs', async () => {
    const { recovery, emitted, calls, row } = setup('starting', 'running');
    await recovery.onApplicationBootstrap();
    expect(row()).toMatchObject({ state: 'running', pid: PID });
    expect(emitted[0]!.data).toMatchObject({ reason: 'adopted after vm-operator restart' });
    expect(calls).toContain(`watch:${ID}`);
  });

  it('carries out again a stop that a crash interrupted', async () => {
    const { recovery, calls, row } = setup('stopping', 'running');
    await recovery.onApplicationBootstrap();
    expect(row().state).toBe('stopping');
    expect(calls).toContain('run:stop');
  });
});
