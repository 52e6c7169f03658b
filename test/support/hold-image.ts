import { execFileSync, spawn } from 'node:child_process';
import { eventually } from '@ferry/testing';

/**
 * A stray process holding a qcow2 image open (qemu-io), so that QEMU's image lock makes the next
 * attach of it really fail. Resolves once qemu-img sees the lock; the returned function kills it.
 */
export async function holdImage(path: string): Promise<() => Promise<void>> {
  const stray = spawn('qemu-io', ['-f', 'qcow2', path], { stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = new Promise((resolve) => stray.once('exit', resolve));
  const release = async () => {
    stray.kill('SIGKILL');
    await exited;
  };
  try {
    await eventually(() => {
      try {
        execFileSync('qemu-img', ['info', path], { stdio: 'pipe' });
        return undefined;
      } catch {
        return true; // locked
      }
    });
  } catch (err) {
    await release();
    throw err;
  }
  return release;
}
