import type { VmDto } from '@ferry/contracts';
import type { Peers } from '../saga/peers';
import { watchBoot } from './boot-watch';

/** A VM whose console and address follow a script, one entry per poll. */
function scripted(polls: { text: string; ip?: string | null; state?: VmDto['state'] }[]): Peers {
  let i = 0;
  const at = () => polls[Math.min(i, polls.length - 1)]!;
  return {
    console: async () => ({ text: at().text }),
    vm: async () => {
      const p = at();
      i++;
      return { id: 'v', name: 'v', state: p.state ?? 'running', local_ip: p.ip ?? null } as VmDto;
    },
  } as unknown as Peers;
}

const watch = (peers: Peers, over: Partial<Parameters<typeof watchBoot>[1]> = {}) =>
  watchBoot(peers, {
    vm: { id: 'v', name: 'v' },
    success: /FERRY-FSTAB-OK/,
    failure: /FERRY-(BOOT|FSTAB)-FAIL/,
    expectIp: false,
    startedAt: Date.now(),
    timeoutMs: 60_000,
    signal: new AbortController().signal,
    ...over,
  });

describe('watchBoot', () => {
  jest.setTimeout(20_000);

  it('passes on the success line, and with expectIp only once the VM has an address', async () => {
    expect(await watch(scripted([{ text: 'boot\nFERRY-FSTAB-OK\n' }]))).toMatchObject({
      passed: true,
      ip: null,
      reason: null,
    });
    const r = await watch(
      scripted([{ text: 'FERRY-FSTAB-OK' }, { text: 'FERRY-FSTAB-OK', ip: '10.9.0.101' }]),
      { expectIp: true },
    );
    expect(r).toMatchObject({ passed: true, ip: '10.9.0.101' });
    expect(r.boot_ms).not.toBeNull();
  });

  it('fails at once on the failure line, and when the VM stops without the success line', async () => {
    expect(await watch(scripted([{ text: 'FERRY-FSTAB-FAIL' }]))).toMatchObject({
      passed: false,
      reason: 'the console shows "FERRY-FSTAB-FAIL"',
    });
    const stopped = await watch(scripted([{ text: 'nothing', state: 'stopped' }]));
    expect(stopped.passed).toBe(false);
    expect(stopped.reason).toMatch(/stopped.*never showed/);
  });

  it('fails when time runs out, saying what it waited for', async () => {
    const r = await watch(scripted([{ text: 'still booting' }]), { startedAt: Date.now() - 61_000 });
    expect(r).toMatchObject({
      passed: false,
      reason: expect.stringMatching(/did not show \/FERRY-FSTAB-OK\/ within 60 s/),
    });
    const ip = await watch(scripted([{ text: 'FERRY-FSTAB-OK' }]), {
      expectIp: true,
      startedAt: Date.now() - 61_000,
    });
    expect(ip.reason).toMatch(/no address/);
  });

  it('keeps only the end of the console', async () => {
    const r = await watch(scripted([{ text: `${'x'.repeat(10_000)}FERRY-FSTAB-OK` }]));
    expect(r.console_excerpt.length).toBe(4096);
    expect(r.console_excerpt.endsWith('FERRY-FSTAB-OK')).toBe(true);
  });
});
