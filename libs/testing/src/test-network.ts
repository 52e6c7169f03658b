import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isProcessRunning, runCommand } from '@ferry/platform';

/** A bridge and subnet of vm-operator's `bridge` network mode that belong to one test. */
export interface TestNetwork {
  /** `fb` and 6 hex digits (VM_NETWORK_BRIDGE). */
  bridge: string;
  /** `10.<200-254>.<x>.1/24` (VM_NETWORK_CIDR). */
  cidr: string;
}

/** IPv4 routes of this host as [network, mask], from /proc/net/route (little-endian hex). */
function routes(): [number, number][] {
  const toInt = (hex: string) => Buffer.from(hex, 'hex').readUInt32LE(0);
  try {
    return readFileSync('/proc/net/route', 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => f.length >= 8)
      .map((f) => [toInt(f[1]!), toInt(f[7]!)]);
  } catch {
    return [];
  }
}

/**
 * A random bridge name and /24 for one test's vm-operator: no interface of that name exists and no
 * route of this host covers or falls in the subnet (two bridges with one subnet would fight over it).
 */
export function testNetwork(): TestNetwork {
  const taken = routes().filter(([, mask]) => mask !== 0);
  for (;;) {
    const bridge = `fb${randomBytes(3).toString('hex')}`;
    const [b, c] = [randomInt(200, 255), randomInt(0, 256)];
    const net = ((10 << 24) | (b << 16) | (c << 8)) >>> 0;
    const clash = taken.some(
      ([dest, mask]) => (net & mask) >>> 0 === dest || (dest & 0xffffff00) >>> 0 === net,
    );
    if (!clash && !existsSync(`/sys/class/net/${bridge}`)) return { bridge, cidr: `10.${b}.${c}.1/24` };
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessRunning(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/**
 * Takes down what vm-operator made for a test's bridge network: its dnsmasq (by the pid file under
 * `<runtimeDir>/network/<bridge>/`, when that process is a dnsmasq of this bridge), the taps on the
 * bridge, and the bridge. Kill the test's QEMU processes first.
 */
export async function removeTestNetwork(runtimeDir: string, bridge: string): Promise<void> {
  const pidFile = join(runtimeDir, 'network', bridge, 'dnsmasq.pid');
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (pid > 0 && isProcessRunning(pid)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(`--pid-file=${pidFile}`)) {
      process.kill(pid, 'SIGTERM');
      if (!(await waitForExit(pid, 5000))) process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 5000);
    }
  }
  const ports = existsSync(`/sys/class/net/${bridge}/brif`)
    ? readdirSync(`/sys/class/net/${bridge}/brif`)
    : [];
  for (const port of ports)
    await runCommand('ip', ['link', 'del', 'dev', port], 10_000).catch(() => undefined);
  if (existsSync(`/sys/class/net/${bridge}`)) await runCommand('ip', ['link', 'del', 'dev', bridge], 10_000);
}
