import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRoot(dir: string): string {
  if (existsSync(join(dir, 'tools', 'ensure-libvirtd.sh'))) return dir;
  const parent = dirname(dir);
  if (parent === dir) throw new Error('cannot find the repository root');
  return findRoot(parent);
}

function run(file: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) =>
      resolve({ ok: !err, output: `${stdout}${stderr}`.trim() }),
    );
  });
}

/**
 * Makes sure libvirtd answers on qemu:///system: if `virsh -r -c qemu:///system version` fails, runs
 * tools/ensure-libvirtd.sh (as root, or through sudo), which prepares what libvirtd needs here and
 * starts `libvirtd -d`. Rejects with the script's output when libvirtd still does not answer.
 */
export async function ensureLibvirtd(timeoutMs = 60_000): Promise<void> {
  if ((await run('virsh', ['-r', '-c', 'qemu:///system', 'version'], 10_000)).ok) return;
  const script = join(findRoot(__dirname), 'tools', 'ensure-libvirtd.sh');
  const result = await run('bash', [script], timeoutMs);
  if (!result.ok) throw new Error(`libvirtd is not running and ${script} failed:\n${result.output}`);
}
