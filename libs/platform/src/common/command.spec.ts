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

describe('runCommand dieWithParent', () => {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('has the kernel kill the command when its parent dies by SIGKILL, and not without the option', async () => {
    const { spawn } = await import('node:child_process');
    const { join } = await import('node:path');
    const command = join(__dirname, 'command.ts');
    // A parent process that runs the real runCommand (transpiled here: it imports only Node modules).
    const parentScript = (die: boolean) => `
      const ts = require('typescript');
      const src = require('node:fs').readFileSync(${JSON.stringify(command)}, 'utf8');
      const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
      const m = { exports: {} };
      new Function('require', 'module', 'exports', js)(require, m, m.exports);
      m.exports.runCommand('sh', ['-c', 'echo $$; exec sleep 30'], 60000, undefined, {
        dieWithParent: ${die},
        onStdout: (s) => process.stdout.write(s),
      });`;
    const parentOf = (die: boolean) =>
      spawn(process.execPath, ['-e', parentScript(die)], {
        stdio: ['ignore', 'pipe', 'inherit'],
        cwd: process.cwd(),
      });
    for (const die of [true, false]) {
      const parent = parentOf(die);
      const pid = await new Promise<number>((resolve) =>
        parent.stdout.once('data', (b: Buffer) => resolve(Number(String(b).trim()))),
      );
      expect(alive(pid)).toBe(true);
      parent.kill('SIGKILL');
      await new Promise((r) => parent.once('exit', r));
      // The kernel delivers the death signal at the parent's exit; a moment later it is gone (or not).
      const deadline = Date.now() + 5000;
      while (die && alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect({ die, alive: alive(pid) }).toEqual({ die, alive: !die });
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 30_000);
});
