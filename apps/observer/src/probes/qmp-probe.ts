import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { QmpAnswer, QmpBlockDevice } from './probes';

/** Unix socket paths longer than this do not fit in sockaddr_un. */
const MAX_SOCKET_PATH = 107;
/** A monitor that talks more than this without answering is not one we understand. */
const MAX_BUFFER = 4 * 1024 * 1024;

interface QmpMessage {
  QMP?: unknown;
  id?: string;
  return?: unknown;
  error?: { class?: string; desc?: string };
}

interface BlockInfo {
  device?: string;
  qdev?: string;
  inserted?: { file?: string; image?: { format?: string; 'virtual-size'?: number } };
}

/**
 * Asks a VM's QEMU for its run state and its block devices on the auxiliary QMP monitor
 * (`<runtimeDir>/<vmId>/qmp-aux.sock`; vm-operator holds the main one, and a monitor serves one
 * client). One connection: greeting, then `qmp_capabilities`, `query-status` and `query-block` in a
 * single write. Rejects when there is no socket, nobody listens, QMP reports an error, or the whole
 * exchange takes longer than `timeoutMs` (a stopped or hung QEMU still accepts the connection, since
 * the kernel does that, but never greets).
 */
export function probeQmp(runtimeDir: string, vmId: string, timeoutMs: number): Promise<QmpAnswer> {
  const path = join(runtimeDir, vmId, 'qmp-aux.sock');
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH)
    return Promise.reject(new Error(`QMP socket path ${path} is too long (> ${MAX_SOCKET_PATH} bytes)`));
  return new Promise<QmpAnswer>((resolve, reject) => {
    const replies = new Map<string, unknown>();
    let stage = 'connection';
    let buffer = '';
    let settled = false;
    const socket = createConnection(path);
    const finish = (error: Error | null, answer?: QmpAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(answer as QmpAnswer);
    };
    const timer = setTimeout(
      () => finish(new Error(`QMP of VM ${vmId} timed out after ${timeoutMs} ms waiting for the ${stage}`)),
      timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on('connect', () => (stage = 'greeting (QEMU stopped, hung, or its monitor is busy?)'));
    socket.on('error', (err: NodeJS.ErrnoException) => finish(socketError(path, err, stage === 'answers')));
    socket.on('close', () =>
      finish(new Error(`QMP of VM ${vmId} closed the connection during the ${stage}`)),
    );
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_BUFFER) return finish(new Error(`QMP of VM ${vmId} sent a line over 4 MiB`));
      let end: number;
      while (!settled && (end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end).trim();
        buffer = buffer.slice(end + 1);
        if (!line) continue;
        let message: QmpMessage;
        try {
          message = JSON.parse(line) as QmpMessage;
        } catch {
          return finish(
            new Error(`QMP of VM ${vmId} sent something that is not JSON: ${line.slice(0, 100)}`),
          );
        }
        if (message.QMP !== undefined && stage !== 'answers') {
          stage = 'answers';
          socket.write(
            ['qmp_capabilities', 'query-status', 'query-block']
              .map((execute) => JSON.stringify({ execute, id: execute }) + '\n')
              .join(''),
          );
        } else if (message.error && message.id) {
          const { class: kind = 'Error', desc = 'no description' } = message.error;
          finish(new Error(`QMP ${message.id} on VM ${vmId} failed: ${kind}: ${desc}`));
        } else if (message.id) {
          replies.set(message.id, message.return);
          if (replies.has('query-status') && replies.has('query-block')) {
            try {
              finish(null, toAnswer(replies.get('query-status'), replies.get('query-block')));
            } catch (err) {
              finish(err as Error);
            }
          }
        } // events (no id) are of no interest here
      }
    });
  });
}

/**
 * `greeted`: QEMU spoke on this connection. A reset before that is the listener going away with our
 * connection still in its backlog (seen when QEMU has just been killed): nobody listens, as with a
 * refusal.
 */
function socketError(path: string, err: NodeJS.ErrnoException, greeted: boolean): Error {
  if (err.code === 'ENOENT') return new Error(`QMP socket ${path} does not exist`);
  if (err.code === 'ECONNREFUSED' || (err.code === 'ECONNRESET' && !greeted))
    return new Error(`QMP socket ${path} refuses connections (no QEMU listens on it)`);
  return new Error(`QMP socket ${path}: ${err.message}`);
}

function toAnswer(status: unknown, blocks: unknown): QmpAnswer {
  const state = (status as { status?: unknown } | null)?.status;
  if (typeof state !== 'string' || !Array.isArray(blocks))
    throw new Error('QMP answered query-status or query-block in an unexpected shape');
  const blockDevices: QmpBlockDevice[] = (blocks as BlockInfo[])
    .filter((block) => block.inserted)
    .map((block) => {
      const image = block.inserted?.image;
      return {
        deviceId: deviceIdOf(block),
        file: block.inserted?.file ?? null,
        ...(image?.format && image['virtual-size'] !== undefined
          ? { image: { format: image.format, virtualSize: image['virtual-size'] } }
          : {}),
      };
    });
  return { status: state, blockDevices };
}

/**
 * The qdev id: `qdev` is either the id itself (`vol-…`) or a QOM path, `/machine/peripheral/<id>/…`
 * for a device with an id. Anonymous devices keep their path; a backend without a device, its name.
 */
function deviceIdOf(block: BlockInfo): string {
  const qdev = block.qdev ?? '';
  return /^\/machine\/peripheral\/([^/]+)/.exec(qdev)?.[1] ?? (qdev || block.device || '');
}
