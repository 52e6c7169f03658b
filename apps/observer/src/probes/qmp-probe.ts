import { join } from 'node:path';
import { QmpClient, QmpClosedError, QmpError } from '@ferry/qemu';
import type { QmpAnswer, QmpBlockDevice } from './probes';

/** Unix socket paths longer than this do not fit in sockaddr_un. */
const MAX_SOCKET_PATH = 107;

interface BlockInfo {
  device?: string;
  qdev?: string;
  inserted?: { file?: string; image?: { format?: string; 'virtual-size'?: number } };
}

/**
 * Asks a VM's QEMU for its run state and its block devices on the auxiliary QMP monitor
 * (`<runtimeDir>/<vmId>/qmp-aux.sock`; vm-operator holds the main one, and a monitor serves one
 * client). One connection: greeting, `qmp_capabilities`, then `query-status` and `query-block`
 * together. Rejects when there is no socket, nobody listens, QMP reports an error, or the whole
 * exchange takes longer than `timeoutMs` (a stopped or hung QEMU still accepts the connection, since
 * the kernel does that, but never greets).
 */
export async function probeQmp(runtimeDir: string, vmId: string, timeoutMs: number): Promise<QmpAnswer> {
  const path = join(runtimeDir, vmId, 'qmp-aux.sock');
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH)
    throw new Error(`QMP socket path ${path} is too long (> ${MAX_SOCKET_PATH} bytes)`);
  let stage = 'connection';
  const deadline = new AbortController();
  const timer = setTimeout(
    () =>
      deadline.abort(new Error(`QMP of VM ${vmId} timed out after ${timeoutMs} ms waiting for the ${stage}`)),
    timeoutMs,
  );
  let client: QmpClient | undefined;
  let replies: [unknown, unknown];
  try {
    // The client's own limits are longer: this probe's deadline covers the whole exchange.
    client = await QmpClient.connect(path, {
      timeoutMs: 2 * timeoutMs,
      signal: deadline.signal,
      onStage: (next) =>
        (stage = next === 'greeting' ? 'greeting (QEMU stopped, hung, or its monitor is busy?)' : 'answers'),
    });
    const qmp = client;
    const answers = Promise.all([
      qmp.execute('query-status', undefined, 2 * timeoutMs),
      qmp.execute('query-block', undefined, 2 * timeoutMs),
    ]);
    const aborted = new Promise<never>((_, reject) =>
      deadline.signal.addEventListener('abort', () => reject(deadline.signal.reason), { once: true }),
    );
    replies = await Promise.race([answers, aborted]);
  } catch (err) {
    if (deadline.signal.aborted) throw deadline.signal.reason;
    throw probeError(err, path, vmId, stage);
  } finally {
    clearTimeout(timer);
    client?.close();
  }
  return toAnswer(...replies);
}

/**
 * The reason in the probe's words. A reset before the greeting is the listener going away with our
 * connection still in its backlog (seen when QEMU has just been killed): nobody listens, as with a
 * refusal.
 */
function probeError(err: unknown, path: string, vmId: string, stage: string): Error {
  if (err instanceof QmpError)
    return new Error(`QMP ${err.command} on VM ${vmId} failed: ${err.errorClass}: ${err.desc}`);
  if (err instanceof QmpClosedError)
    return new Error(`QMP of VM ${vmId} closed the connection during the ${stage}`);
  const { code, message } = err as NodeJS.ErrnoException;
  if (code === 'ENOENT') return new Error(`QMP socket ${path} does not exist`);
  if (code === 'ECONNREFUSED' || (code === 'ECONNRESET' && stage !== 'answers'))
    return new Error(`QMP socket ${path} refuses connections (no QEMU listens on it)`);
  if (code) return new Error(`QMP socket ${path}: ${message}`);
  return new Error(`QMP of VM ${vmId}: ${message}`);
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
