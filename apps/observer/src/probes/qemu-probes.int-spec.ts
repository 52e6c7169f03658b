import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { isProcessRunning } from '@ferry/platform';
import { ImageProbe } from './image-probe';
import { parseQemuArgv, scanQemuProcesses } from './process-table';
import { probeQmp } from './qmp-probe';
import { vmProcessState } from './vm-process';

/**
 * Real qemu-system-x86_64 under TCG with no guest, started the way vm-operator starts it
 * (daemonized, `-name ferry-<id>,process=ferry-<id>`, a pid file, an auxiliary QMP monitor).
 */
describe('probes against real QEMU', () => {
  // Short: the QMP socket path must fit in sockaddr_un (107 bytes).
  const runtimeDir = mkdtempSync('/tmp/ferry-obs-');
  const started: { pid: number; dir: string }[] = [];

  /** Starts a bare QEMU for `vmId`; `disk` is cold-plugged as scsi-hd `vol-<diskId>`. */
  function startQemu(vmId: string, options: { name?: string; disk?: { id: string; path: string } } = {}) {
    const dir = join(runtimeDir, vmId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pidFile = join(dir, 'qemu.pid');
    const args = [
      '-name',
      options.name ?? `ferry-${vmId},process=ferry-${vmId}`,
      '-nodefaults',
      '-no-user-config',
      '-machine',
      'q35,accel=tcg',
      '-display',
      'none',
      '-m',
      '64M',
      '-qmp',
      `unix:${join(dir, 'qmp-aux.sock')},server=on,wait=off`,
      '-pidfile',
      pidFile,
      '-daemonize',
      '-device',
      'virtio-scsi-pci,id=scsi0',
    ];
    if (options.disk) {
      const file = { driver: 'file', filename: options.disk.path };
      args.push('-blockdev', JSON.stringify({ driver: 'qcow2', 'node-name': 'drive0', file }));
      args.push('-device', `scsi-hd,bus=scsi0.0,drive=drive0,id=vol-${options.disk.id}`);
    }
    // -daemonize: this returns once QEMU is initialised and has written its pid file.
    execFileSync('qemu-system-x86_64', args, { timeout: 60_000, stdio: 'pipe' });
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    started.push({ pid, dir });
    return { pid, pidFile, dir };
  }

  async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const vmId = randomUUID();
  const diskId = randomUUID();
  const diskPath = join(runtimeDir, `${diskId}.qcow2`);
  let vm: ReturnType<typeof startQemu>;

  beforeAll(() => {
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', diskPath, '16M']);
    vm = startQemu(vmId, { disk: { id: diskId, path: diskPath } });
  }, 90_000);

  afterAll(() => {
    for (const { pid, dir } of started) {
      // Only a QEMU of this test: its pid could have been reused if it is long gone.
      try {
        if (isProcessRunning(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir))
          process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    rmSync(runtimeDir, { recursive: true, force: true });
  });

  describe('scanQemuProcesses', () => {
    it('finds the QEMU with its VM id and pid file, and nothing that is not a QEMU', async () => {
      const found = await scanQemuProcesses();
      expect(found).toContainEqual({ pid: vm.pid, vmId, pidFile: vm.pidFile });
      expect(found.map((p) => p.pid)).not.toContain(process.pid);
    });

    it('lists a QEMU whose -name is not ferry-<uuid> without a VM id', async () => {
      const other = startQemu('plain', { name: 'ferry-plain,process=ferry-plain' });
      const found = await scanQemuProcesses();
      expect(found).toContainEqual({ pid: other.pid, vmId: null, pidFile: other.pidFile });
    }, 90_000);

    it('reads -name the way QEMU does', () => {
      const id = randomUUID();
      const parse = (...args: string[]) => parseQemuArgv(1, ['/usr/bin/qemu-system-x86_64', ...args]);
      expect(parse('-name', `guest=ferry-${id},debug-threads=on`).vmId).toBe(id);
      expect(parse('--name', `ferry-${id}`, '--pidfile', '/p').vmId).toBe(id);
      expect(parse('--name', `ferry-${id}`, '--pidfile', '/p').pidFile).toBe('/p');
      expect(parse('-name', `ferry-${id},,x`).vmId).toBeNull(); // `,,` is a comma inside the name
      expect(parse('-name', `ferry-${id.toUpperCase()}`).vmId).toBeNull();
      expect(parse('-name', `process=ferry-${id}`).vmId).toBeNull(); // no guest name at all
      expect(parse('-name')).toEqual({ pid: 1, vmId: null, pidFile: null }); // no value
    });
  });

  describe('vmProcessState', () => {
    it('sees a running VM as alive', async () => {
      expect(await vmProcessState(runtimeDir, vmId)).toEqual({ pid: vm.pid, alive: true, reason: null });
    });

    it('reports a VM without a (valid) pid file', async () => {
      const none = { pid: null, alive: false, reason: 'no pid file' };
      expect(await vmProcessState(runtimeDir, randomUUID())).toEqual(none);
      const garbled = randomUUID();
      mkdirSync(join(runtimeDir, garbled));
      writeFileSync(join(runtimeDir, garbled, 'qemu.pid'), '0x10\n');
      expect(await vmProcessState(runtimeDir, garbled)).toEqual(none);
    });

    it('does not take a running process that is not this VM’s QEMU for it', async () => {
      // A stale pid file whose pid now belongs to another VM's QEMU, or to anything else.
      for (const pid of [vm.pid, process.pid]) {
        const stale = randomUUID();
        mkdirSync(join(runtimeDir, stale));
        writeFileSync(join(runtimeDir, stale, 'qemu.pid'), `${pid}\n`);
        expect(await vmProcessState(runtimeDir, stale)).toEqual({
          pid,
          alive: false,
          reason: `pid ${pid} is not this VM's QEMU`,
        });
      }
    });

    it('reports a pid that no process has', async () => {
      let free = 32_000;
      while (existsSync(`/proc/${free}`)) free--;
      const gone = randomUUID();
      mkdirSync(join(runtimeDir, gone));
      writeFileSync(join(runtimeDir, gone, 'qemu.pid'), `${free}\n`);
      expect(await vmProcessState(runtimeDir, gone)).toEqual({
        pid: free,
        alive: false,
        reason: `no process ${free}`,
      });
    });
  });

  describe('probeQmp', () => {
    it('answers the run state and the plugged disk with its image', async () => {
      const answer = await probeQmp(runtimeDir, vmId, 10_000);
      expect(answer).toEqual({
        status: 'running',
        blockDevices: [
          {
            deviceId: `vol-${diskId}`,
            file: diskPath,
            image: { format: 'qcow2', virtualSize: 16 * 1024 * 1024 },
          },
        ],
      });
      // The monitor takes the next client once a probe is done with it.
      expect((await probeQmp(runtimeDir, vmId, 10_000)).status).toBe('running');
    });

    it('rejects at once when there is no socket', async () => {
      const before = Date.now();
      await expect(probeQmp(runtimeDir, randomUUID(), 5000)).rejects.toThrow(/does not exist/);
      expect(Date.now() - before).toBeLessThan(5000);
    });

    it('refuses a socket path that does not fit in sockaddr_un', async () => {
      await expect(probeQmp(`/tmp/${'x'.repeat(80)}`, randomUUID(), 5000)).rejects.toThrow(/too long/);
    });
  });

  it('a QEMU stopped (SIGSTOP) and then killed (SIGKILL): QMP times out, then refuses; the process is gone', async () => {
    const victimId = randomUUID();
    const victim = startQemu(victimId);
    expect(await vmProcessState(runtimeDir, victimId)).toMatchObject({ pid: victim.pid, alive: true });

    // The kernel still accepts the connection of a stopped process; it never greets.
    process.kill(victim.pid, 'SIGSTOP');
    const timeoutMs = 1000;
    const before = Date.now();
    await expect(probeQmp(runtimeDir, victimId, timeoutMs)).rejects.toThrow(/timed out after 1000 ms/);
    // Within its timeout, give or take this busy machine's scheduling.
    expect(Date.now() - before).toBeLessThan(timeoutMs + 5000);
    // Stopped is not dead.
    expect(await vmProcessState(runtimeDir, victimId)).toMatchObject({ alive: true });

    // Resumed, it serves again: the abandoned connection did not wedge its monitor.
    process.kill(victim.pid, 'SIGCONT');
    expect(await probeQmp(runtimeDir, victimId, 10_000)).toMatchObject({ status: 'running' });

    process.kill(victim.pid, 'SIGKILL');
    await until(() => !isProcessRunning(victim.pid));
    // Nobody may reap a daemonized QEMU here: it is a zombie for a while, or gone.
    const state = await vmProcessState(runtimeDir, victimId);
    expect(state).toMatchObject({ pid: victim.pid, alive: false });
    expect([`zombie ${victim.pid}`, `no process ${victim.pid}`]).toContain(state.reason);
    expect((await scanQemuProcesses()).map((p) => p.pid)).not.toContain(victim.pid);
    // The socket file outlives a killed QEMU.
    await expect(probeQmp(runtimeDir, victimId, 5000)).rejects.toThrow(/refuses connections/);
  }, 120_000);

  it('ImageProbe reads the image a running QEMU holds open (qemu-img -U)', async () => {
    expect(await new ImageProbe().info(diskPath)).toEqual({ format: 'qcow2', virtualSize: 16 * 1024 * 1024 });
  });
});
