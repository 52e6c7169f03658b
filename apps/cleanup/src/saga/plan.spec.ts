import { planSteps, resetUnfinished } from './plan';
import { testVmName } from '../failover/failover.service';

const volumes = [
  { id: 'v1', name: 'web-disk0' },
  { id: 'v2', name: 'web-disk1' },
];

describe('saga plan', () => {
  it('lists the failover steps with one move per volume, all pending', () => {
    const steps = planSteps('failover', volumes);
    expect(steps.map((s) => s.key)).toEqual([
      'create-test-vm',
      'move-volume:web-disk0',
      'move-volume:web-disk1',
      'start-test-vm',
    ]);
    expect(steps.every((s) => s.status === 'pending' && s.attempts === 0 && s.phase === 'failover')).toBe(
      true,
    );
    expect(steps[1]!.volume_id).toBe('v1');
  });

  it("lists the seed's cleanup phases in order, with one return per volume", () => {
    expect(planSteps('cleanup', volumes).map((s) => s.key)).toEqual([
      'validate',
      'check-power-state',
      'power-off',
      'verify-powered-off',
      'return-volume:web-disk0',
      'return-volume:web-disk1',
      'verify-appliance',
      'delete-test-vm',
      'verify-test-vm-deleted',
    ]);
  });

  it('makes failed and cut-off steps of the phase pending again on resume, and keeps done ones done', () => {
    const steps = planSteps('cleanup', volumes).map((s, i) => ({
      ...s,
      status: (['done', 'skipped', 'failed', 'running'] as const)[Math.min(i, 3)],
      attempts: 1,
    }));
    const failover = planSteps('failover', volumes).map((s) => ({ ...s, status: 'failed' as const }));
    const reset = resetUnfinished([...failover, ...steps], 'cleanup');
    expect(reset.filter((s) => s.phase === 'cleanup').map((s) => s.status)).toEqual([
      'done',
      'skipped',
      'pending',
      ...Array(6).fill('pending'),
    ]);
    expect(reset.filter((s) => s.phase === 'failover').every((s) => s.status === 'failed')).toBe(true);
    expect(reset.every((s) => s.attempts === 1 || s.phase === 'failover')).toBe(true);
  });

  it('names the test VM after the source VM and the job, as a valid vm-operator name', () => {
    expect(testVmName('PGWin.Test_2', '1a2b3c4d-0000-4000-8000-000000000000')).toBe(
      'pgwin-test-2-test-1a2b3c4d',
    );
    expect(testVmName('x'.repeat(49), 'abcdef01-0000')).toHaveLength(63);
  });
});
