import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ManagedProcess, eventually } from '@ferry/testing';

const SUPERVISE = resolve(__dirname, '../../tools/supervise.sh');

/**
 * `npm run up` runs each service under tools/supervise.sh: a service that dies is started again
 * after a back-off, its log says why, and SIGTERM stops both without a restart.
 */
describe('tools/supervise.sh', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-supervise-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A "service" that dies with `code` on its first run and stays up on the second. */
  function start(code: number): { proc: ManagedProcess; log: string } {
    const log = join(dir, 'svc.log');
    const script = `
      const fs = require('node:fs');
      const f = ${JSON.stringify(join(dir, 'runs'))};
      const n = fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8')) + 1 : 1;
      fs.writeFileSync(f, String(n));
      fs.writeFileSync(${JSON.stringify(join(dir, 'pid'))} + n, String(process.pid));
      if (n === 1) { console.error('dying on purpose'); process.exit(${code}); }
      process.on('SIGTERM', () => { console.error('stopping cleanly'); process.exit(0); });
      setInterval(() => {}, 1000);
    `;
    const child = spawn('bash', [SUPERVISE, 'svc', log, process.execPath, '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { proc: new ManagedProcess('supervise', child), log };
  }

  it('starts a dead service again, says why it died, and stops it on SIGTERM', async () => {
    const { proc, log } = start(3);
    const pid2 = await eventually(
      () => (existsSync(join(dir, 'pid2')) ? Number(readFileSync(join(dir, 'pid2'), 'utf8')) : undefined),
      15_000,
      'the second run',
    );
    const text = readFileSync(log, 'utf8');
    expect(text).toContain('dying on purpose');
    expect(text).toMatch(/"msg":"svc exited with code 3 after \d+s; starting it again in 1s"/);

    expect(await proc.stop('SIGTERM')).toBe(0);
    expect(existsSync(`/proc/${pid2}`)).toBe(false);
    expect(readFileSync(log, 'utf8')).toContain('stopping cleanly');
    expect(readFileSync(join(dir, 'runs'), 'utf8')).toBe('2');
  });

  it('does not restart a service whose configuration is wrong (exit 78)', async () => {
    const { proc, log } = start(78);
    expect(await proc.exited()).toBe(78);
    expect(readFileSync(log, 'utf8')).toMatch(/exited with code 78 \(a configuration error.*not restarting/);
    expect(readFileSync(join(dir, 'runs'), 'utf8')).toBe('1');
  });
});
