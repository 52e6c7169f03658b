import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { VmDto } from '@ferry/contracts';
import { eventually } from '@ferry/testing';
import type { Suite } from '../support/suite';
import { SseClient } from '../support/sse';
import { median } from './load';

const run = promisify(execFile);
const RUNS = Number(process.env['BENCH_VM_RUNS'] ?? 5);
const FLEET = Number(process.env['BENCH_VM_FLEET'] ?? 20);

function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? NaN);
}

/**
 * Starts a VM through the gateway, timed from the request to the moment an event subscriber learns
 * that it runs (the subscription is opened before the clock starts).
 */
async function startAndWait(suite: Suite, id: string): Promise<{ vm: VmDto; ms: number }> {
  const sse = await SseClient.open(
    `${suite.gatewayUrl}/api/v1/events?subject=${id}&type=ferry.vm-operator.vm.`,
    {
      authorization: `Bearer ${suite.adminKey}`,
    },
  );
  try {
    const t0 = performance.now();
    await suite.request('POST', `/api/v1/vms/${id}/actions/start`);
    const started = await sse.waitFor((m) => m.data.type === 'ferry.vm-operator.vm.started', 30_000);
    return { vm: (started.data.data as { vm: VmDto }).vm, ms: performance.now() - t0 };
  } finally {
    sse.close();
  }
}

/** Resolves once the QMP socket greets and answers query-status with running. */
function qmpRunning(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buffer = '';
    let step = 0;
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
        const msg = JSON.parse(buffer.slice(0, end)) as Record<string, unknown>;
        buffer = buffer.slice(end + 1);
        if (step === 0 && msg['QMP']) socket.write('{"execute":"qmp_capabilities"}\n');
        else if (step === 1 && 'return' in msg) socket.write('{"execute":"query-status"}\n');
        else if (step === 2 && 'return' in msg) {
          socket.end();
          return resolve();
        } else continue;
        step++;
      }
    });
  });
}

// The options repeat qemuArgs() on purpose: the floor must not depend on the code it measures.
/**
 * The floor: qemu-system-x86_64 with the same options, from exec to a QMP socket that says running.
 * Returns that time, QEMU's pid (the caller kills it) and the QMP socket, free for another client.
 */
export async function bareQemu(
  dir: string,
  accel: string,
): Promise<{ ms: number; pid: number; qmp: string }> {
  const sock = join(dir, 'qmp.sock');
  const pidFile = join(dir, 'qemu.pid');
  const t0 = performance.now();
  await run('qemu-system-x86_64', [
    '-nodefaults',
    '-no-user-config',
    '-machine',
    `q35,accel=${accel}`,
    '-cpu',
    accel === 'kvm' ? 'host' : 'max',
    '-smp',
    '1',
    '-m',
    '64M',
    '-display',
    'none',
    '-chardev',
    `file,id=serial0,path=${join(dir, 'serial.log').replace(/,/g, ',,')}`,
    '-serial',
    'chardev:serial0',
    '-monitor',
    'none',
    '-qmp',
    `unix:${sock},server=on,wait=off`,
    '-pidfile',
    pidFile,
    '-daemonize',
    '-device',
    'virtio-scsi-pci,id=scsi0',
  ]);
  await qmpRunning(sock);
  const ms = performance.now() - t0;
  return { ms, pid: Number(readFileSync(pidFile, 'utf8')), qmp: sock };
}

export async function benchVmStart(
  suite: Suite,
  emit: (line: Record<string, unknown>) => void,
): Promise<void> {
  const template = 'bench-vm';
  await suite.request('POST', '/api/v1/templates', {
    body: { name: template, cpu_count: 1, ram_amount: 64 },
  });
  const dir = mkdtempSync('/tmp/fb-');
  const gateway: number[] = [];
  const bare: number[] = [];
  let accel = 'tcg';
  let idleRss = NaN;
  try {
    for (let i = 0; i < RUNS; i++) {
      const vm = (await suite.request<VmDto>('POST', '/api/v1/vms', { body: { template } })).body;
      const { vm: running, ms } = await startAndWait(suite, vm.id);
      gateway.push(ms);
      accel = running.accelerator ?? accel;
      if (i === 0) {
        await new Promise((r) => setTimeout(r, 2000));
        idleRss = rssKiB(running.pid!);
      }
      await suite.request('POST', `/api/v1/vms/${vm.id}/actions/stop`);
      const qemu = await bareQemu(dir, accel);
      process.kill(qemu.pid, 'SIGKILL');
      bare.push(qemu.ms);
    }
    const gw = median(gateway);
    const floor = median(bare);
    emit({
      bench: 'vm_start_to_running',
      via: 'gateway',
      runs: RUNS,
      accelerator: accel,
      p50_ms: Math.round(gw),
    });
    emit({
      bench: 'vm_start_to_running',
      via: 'bare_qemu_to_qmp_ready',
      runs: RUNS,
      accelerator: accel,
      p50_ms: Math.round(floor),
    });
    emit({
      goal: 'vm_start_gateway <= 1.3 x bare_qemu',
      ratio: Number((gw / floor).toFixed(2)),
      limit: 1.3,
      pass: gw / floor <= 1.3,
    });
    emit({ bench: 'idle_vm_rss', accelerator: accel, ram_mib: 64, rss_mib: Math.round(idleRss / 1024) });

    const fleet: string[] = [];
    for (let i = 0; i < FLEET; i++) {
      const vm = (await suite.request<VmDto>('POST', '/api/v1/vms', { body: { template } })).body;
      await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`);
      fleet.push(vm.id);
    }
    await eventually(
      async () => {
        const r = await suite.request<VmDto[]>('GET', '/api/v1/vms?state=running');
        return r.body.length >= FLEET ? true : undefined;
      },
      120_000,
      `${FLEET} VMs running`,
    );
    const operatorPid = suite.process('vm-operator').child.pid!;
    emit({ bench: 'vm_operator_rss', vms_running: FLEET, rss_mib: Math.round(rssKiB(operatorPid) / 1024) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
