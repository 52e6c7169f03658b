import { CommandError, runCommand } from './command';

describe('runCommand', () => {
  it('resolves stdout, in the C locale, with the extra environment', async () => {
    expect(
      await runCommand('sh', ['-c', 'echo "$LC_ALL $EXTRA"'], 5000, undefined, { env: { EXTRA: 'x' } }),
    ).toBe('C x\n');
  });

  it('feeds stdin', async () => {
    expect(await runCommand('cat', [], 5000, 'hello')).toBe('hello');
  });

  it('tells failures, timeouts, missing commands and aborts apart', async () => {
    await expect(runCommand('sh', ['-c', 'echo bad >&2; exit 3'], 5000)).rejects.toMatchObject({
      kind: 'failed',
      lines: ['bad'],
    });
    await expect(runCommand('sleep', ['5'], 100)).rejects.toMatchObject({ kind: 'timeout' });
    await expect(runCommand('/nonexistent/tool', [], 1000)).rejects.toMatchObject({ kind: 'spawn' });

    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    const err = await runCommand('sleep', ['5'], 5000, undefined, { signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ kind: 'aborted' });
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(
      runCommand('true', [], 1000, undefined, { signal: controller.signal }),
    ).rejects.toMatchObject({
      kind: 'aborted',
    });
  });

  it('keeps the exit status and stdout of a failure, and shows stdout as it comes', async () => {
    const seen: string[] = [];
    const err = await runCommand('sh', ['-c', 'echo first; echo second; exit 1'], 5000, undefined, {
      onStdout: (chunk) => seen.push(chunk),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ kind: 'failed', exitCode: 1, stdout: 'first\nsecond\n' });
    expect(seen.join('')).toBe('first\nsecond\n');
  });
});
