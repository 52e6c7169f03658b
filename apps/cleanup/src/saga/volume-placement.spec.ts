import type { DiskDto, VolumeOperationDto } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import type { Peers } from './peers';
import type { Placement } from './volume-placement';
import { placeVolume } from './volume-placement';

const APPLIANCE = { id: 'a0000000-0000-4000-8000-000000000001', name: 'appliance' };
const TEST_VM = { id: 'b0000000-0000-4000-8000-000000000002', name: 'web-test-1a2b3c4d' };
const RETURN: Placement = { target: APPLIANCE, source: TEST_VM, viaCleanupCall: true };
const MOVE: Placement = { target: TEST_VM, source: APPLIANCE, viaCleanupCall: false };

function disk(over: Partial<DiskDto>): DiskDto {
  return {
    id: 'd1',
    name: 'web-disk0',
    size: 1,
    size_bytes: 1 << 30,
    format: 'qcow2',
    state: 'available',
    vm_id: null,
    mount_point: null,
    generation: 1,
    operation_id: null,
    last_error: null,
    created_at: '',
    updated_at: '',
    ...over,
  };
}

/**
 * volume-daemon as a script: each disk read returns the next state, and each operation records what
 * was asked. Only the driver is stubbed; the decisions under test are placeVolume's own.
 */
function daemon(states: DiskDto[], outcome: VolumeOperationDto['status'] = 'completed') {
  const calls: string[] = [];
  let read = 0;
  const op = (type: VolumeOperationDto['type']) =>
    Promise.resolve({ id: `op-${calls.length}`, type, status: 'pending' } as VolumeOperationDto);
  const peers = {
    disk: () => Promise.resolve(states[Math.min(read++, states.length - 1)]!),
    attach: (_id: string, vmId: string) => (calls.push(`attach ${vmId}`), op('attach')),
    detach: () => (calls.push('detach'), op('detach')),
    returnToAppliance: (_id: string, from: string, to: string) => (
      calls.push(`cleanup ${from} → ${to}`),
      op('cleanup-test-failover')
    ),
    operationDone: (id: string) => {
      calls.push(`wait ${id}`);
      return Promise.resolve({
        id,
        type: 'attach',
        status: outcome,
        error: outcome === 'failed' ? { code: 'UNPROCESSABLE', message: 'Failed to get "write" lock' } : null,
      } as VolumeOperationDto);
    },
  };
  return { peers: peers as unknown as Peers, calls };
}

const inUse = (vm: { id: string }) =>
  disk({ state: 'in-use', vm_id: vm.id, mount_point: '/dev/disk/by-id/x' });
const deadline = () => Date.now() + 5000;

describe('placeVolume', () => {
  it('does nothing but read when the volume is already where it belongs (a resumed step)', async () => {
    const { peers, calls } = daemon([inUse(APPLIANCE)]);
    await expect(placeVolume(peers, 'd1', RETURN, deadline())).resolves.toContain('on appliance');
    expect(calls).toEqual([]);
  });

  it('waits for the operation in flight instead of starting another', async () => {
    const { peers, calls } = daemon([
      disk({ state: 'attaching', vm_id: APPLIANCE.id, operation_id: 'op-x' }),
      inUse(APPLIANCE),
    ]);
    await placeVolume(peers, 'd1', RETURN, deadline());
    expect(calls).toEqual(['wait op-x']);
  });

  it("returns a volume from the test VM through volume-daemon's test-failover cleanup", async () => {
    const { peers, calls } = daemon([inUse(TEST_VM), inUse(APPLIANCE)]);
    await placeVolume(peers, 'd1', RETURN, deadline());
    expect(calls).toEqual([`cleanup ${TEST_VM.id} → ${APPLIANCE.id}`, 'wait op-1']);
  });

  it('attaches a volume left on no VM (after a failed emergency reattach) to the appliance', async () => {
    const { peers, calls } = daemon([disk({ state: 'error', last_error: 'locked' }), inUse(APPLIANCE)]);
    await placeVolume(peers, 'd1', RETURN, deadline());
    expect(calls).toEqual([`attach ${APPLIANCE.id}`, 'wait op-1']);
  });

  it('moves a volume to the test VM in two operations: detach from the appliance, attach to the test VM', async () => {
    const { peers, calls } = daemon([inUse(APPLIANCE), disk({ state: 'available' }), inUse(TEST_VM)]);
    await placeVolume(peers, 'd1', MOVE, deadline());
    expect(calls).toEqual(['detach', 'wait op-1', `attach ${TEST_VM.id}`, 'wait op-3']);
  });

  it('leaves alone a volume on a third VM', async () => {
    const { peers, calls } = daemon([inUse({ id: 'c0000000-0000-4000-8000-000000000003' })]);
    await expect(placeVolume(peers, 'd1', RETURN, deadline())).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(calls).toEqual([]);
  });

  it("fails with the operation's own reason when the volume did not arrive", async () => {
    const { peers } = daemon([disk({ state: 'available' }), disk({ state: 'error' })], 'failed');
    const err = (await placeVolume(peers, 'd1', RETURN, deadline()).catch((e: unknown) => e)) as FerryError;
    expect(err).toBeInstanceOf(FerryError);
    expect([err.code, err.message]).toEqual([
      'UNPROCESSABLE',
      'attach of volume "web-disk0" failed: Failed to get "write" lock',
    ]);
  });

  it('counts a failed cleanup call as done when its emergency reattach put the volume home', async () => {
    const { peers, calls } = daemon([inUse(TEST_VM), inUse(APPLIANCE), inUse(APPLIANCE)], 'failed');
    await expect(placeVolume(peers, 'd1', RETURN, deadline())).resolves.toContain('on appliance');
    expect(calls).toHaveLength(2);
  });
});
