import { createConnection } from 'node:net';
import { join } from 'node:path';

/**
 * Asks a VM's QEMU directly, on its auxiliary QMP monitor (vm-operator holds the main one), so a
 * test checks reality rather than any service's idea of it.
 */
export function qmpQuery<T = unknown>(
  runtimeDir: string,
  vmId: string,
  command: string,
  args?: Record<string, unknown>,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const socket = createConnection(join(runtimeDir, vmId, 'qmp-aux.sock'));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`QMP ${command} on VM ${vmId} timed out`));
    }, timeoutMs);
    let buffer = '';
    let greeted = false;
    socket.setEncoding('utf8');
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buffer.slice(0, end)) as Record<string, unknown>;
        buffer = buffer.slice(end + 1);
        if (msg['QMP'] && !greeted) {
          greeted = true;
          socket.write(JSON.stringify({ execute: 'qmp_capabilities', id: 'caps' }) + '\n');
          socket.write(JSON.stringify({ execute: command, arguments: args, id: 'q' }) + '\n');
        } else if (msg['id'] === 'q') {
          clearTimeout(timer);
          socket.end();
          if (msg['error']) reject(new Error(`QMP ${command}: ${JSON.stringify(msg['error'])}`));
          else resolve(msg['return'] as T);
        }
      }
    });
  });
}

/** The qdev ids of the block devices QEMU has plugged in. */
export async function qmpBlockDevices(runtimeDir: string, vmId: string): Promise<string[]> {
  const blocks = await qmpQuery<{ qdev?: string; inserted?: unknown }[]>(runtimeDir, vmId, 'query-block');
  return blocks
    .filter((b) => b.inserted && b.qdev)
    .map((b) => b.qdev!.split('/').filter(Boolean)[0] ?? '')
    .filter(Boolean);
}
