import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpClient, QmpClosedError, QmpError } from './qmp-client';

const GREETING = '{"QMP": {"version": {}, "capabilities": []}}\r\n';

/** A QMP monitor of the test's own: greets (unless told not to) and answers with `answer`. */
function fakeMonitor(
  path: string,
  answer: (command: Record<string, unknown>, socket: Socket) => void,
  greet = true,
): Promise<Server> {
  const server = createServer((socket) => {
    if (greet) socket.write(GREETING);
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      let end: number;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        answer(JSON.parse(line) as Record<string, unknown>, socket);
      }
    });
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

const reply = (socket: Socket, id: unknown, body: Record<string, unknown>) =>
  socket.write(JSON.stringify({ ...body, id }) + '\r\n');

describe('QmpClient', () => {
  let dir: string;
  let server: Server | undefined;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ferry-qmp-'))));
  afterEach(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('negotiates, matches replies by id across events, and reports QMP errors', async () => {
    const path = join(dir, 'qmp.sock');
    server = await fakeMonitor(path, (cmd, socket) => {
      if (cmd['execute'] === 'query-status') {
        socket.write('{"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 0}}\r\n');
        reply(socket, cmd['id'], { return: { status: 'running' } });
      } else if (cmd['execute'] === 'device_del') {
        reply(socket, cmd['id'], { error: { class: 'DeviceNotFound', desc: 'no vol-1' } });
      } else reply(socket, cmd['id'], { return: {} });
    });
    const stages: string[] = [];
    const client = await QmpClient.connect(path, { onStage: (s) => stages.push(s) });
    expect(stages).toEqual(['greeting', 'capabilities']);
    const events: string[] = [];
    client.on('event', (e: { event: string }) => events.push(e.event));
    await expect(client.execute('query-status')).resolves.toEqual({ status: 'running' });
    expect(events).toEqual(['RESUME']);
    const err = await client.execute('device_del', { id: 'vol-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    expect(err).toMatchObject({ command: 'device_del', errorClass: 'DeviceNotFound', desc: 'no vol-1' });
    client.close();
  });

  it('rejects with the socket error when nothing listens', async () => {
    await expect(QmpClient.connect(join(dir, 'none.sock'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('gives up on a monitor that never greets, and stops when aborted', async () => {
    const path = join(dir, 'mute.sock');
    server = await fakeMonitor(path, () => undefined, false);
    await expect(QmpClient.connect(path, 100)).rejects.toThrow(/no QMP greeting .* within 100 ms/);
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(new Error('deadline')), 50);
    await expect(QmpClient.connect(path, { timeoutMs: 5000, signal: deadline.signal })).rejects.toThrow(
      'deadline',
    );
  });

  it('fails what is pending when QEMU goes away, and a monitor that sends something not JSON', async () => {
    const path = join(dir, 'qmp.sock');
    server = await fakeMonitor(path, (cmd, socket) => {
      if (cmd['execute'] === 'qmp_capabilities') reply(socket, cmd['id'], { return: {} });
      else if (cmd['execute'] === 'quit' || cmd['execute'] === 'stop') socket.destroy();
      else socket.write('garbage\r\n');
    });
    const quitting = await QmpClient.connect(path);
    await expect(quitting.execute('quit')).resolves.toEqual({});
    const stopping = await QmpClient.connect(path);
    await expect(stopping.execute('stop')).rejects.toBeInstanceOf(QmpClosedError);
    expect(stopping.isOpen).toBe(false);
    await expect(stopping.execute('cont')).rejects.toBeInstanceOf(QmpClosedError);
    const confused = await QmpClient.connect(path);
    await expect(confused.execute('query-block')).rejects.toThrow(
      'QMP sent something that is not JSON: garbage',
    );
  });
});
