import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { commandReason, isProcessRunning } from '@ferry/platform';
import type { BridgeSubnet } from './ipv4';

/** Runs a command with a deadline (runCommand of @ferry/platform; a stub in unit tests). */
export type CommandRunner = (file: string, args: string[], timeoutMs: number) => Promise<string>;

/** How long a lease lasts; a guest's DHCP client renews it at half that. */
export const LEASE_TIME = '1h';

export interface DnsmasqPaths {
  /** `<runtimeDir>/network/<bridge>/`. */
  dir: string;
  pidFile: string;
  leaseFile: string;
  logFile: string;
}

export function dnsmasqPaths(runtimeDir: string, bridge: string): DnsmasqPaths {
  const dir = join(runtimeDir, 'network', bridge);
  return {
    dir,
    pidFile: join(dir, 'dnsmasq.pid'),
    leaseFile: join(dir, 'leases'),
    logFile: join(dir, 'dnsmasq.log'),
  };
}

/**
 * dnsmasq as a DHCP server for one bridge only, as libvirt runs it for its networks: no DNS
 * (`--port=0`), no configuration file of the host's, bound to the bridge alone, authoritative (a
 * guest that asks for a lease this server forgot gets an answer at once, not after a timeout).
 * It daemonizes (the default), so the guests' DHCP outlives vm-operator like the guests themselves.
 */
export function dnsmasqArgs(bridge: string, subnet: BridgeSubnet, paths: DnsmasqPaths): string[] {
  return [
    '--conf-file=/dev/null',
    '--port=0',
    `--interface=${bridge}`,
    '--bind-interfaces',
    '--except-interface=lo',
    `--dhcp-range=${subnet.rangeStart},${subnet.rangeEnd},${subnet.netmask},${LEASE_TIME}`,
    '--dhcp-authoritative',
    '--dhcp-no-override',
    `--dhcp-leasefile=${paths.leaseFile}`,
    `--pid-file=${paths.pidFile}`,
    `--log-facility=${paths.logFile}`,
  ];
}

/** The arguments of a live process (without argv[0]), or undefined when it is gone. */
function argsOf(pid: number): string[] | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv[argv.length - 1] === '') argv.pop();
    return argv.slice(1);
  } catch {
    return undefined;
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

/** The dnsmasq of one bridge: adopted when one of ours runs, started otherwise. */
export class DnsmasqServer {
  private readonly logger = new Logger(DnsmasqServer.name);

  constructor(
    private readonly binary: string,
    private readonly paths: DnsmasqPaths,
    private readonly args: string[],
    private readonly run: CommandRunner,
    private readonly timeoutMs: number,
  ) {}

  async readPid(): Promise<number | undefined> {
    const pid = Number((await readFile(this.paths.pidFile, 'utf8').catch(() => '')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  /**
   * The pid of a running dnsmasq of this bridge. One whose pid file is ours but whose arguments
   * differ (VM_NETWORK_CIDR changed) is stopped and started again with the arguments of now; a pid
   * file whose pid is some other process (reused) is ignored and overwritten by the new dnsmasq.
   */
  async ensure(): Promise<{ pid: number; adopted: boolean }> {
    const pid = await this.readPid();
    const args = pid && isProcessRunning(pid) ? argsOf(pid) : undefined;
    if (pid && args) {
      if (args.join('\0') === this.args.join('\0')) return { pid, adopted: true };
      if (args.includes(`--pid-file=${this.paths.pidFile}`)) {
        this.logger.warn({ msg: 'dnsmasq runs with other settings; restarting it', pid, args });
        process.kill(pid, 'SIGTERM');
        if (!(await waitForExit(pid, 5000))) process.kill(pid, 'SIGKILL');
        await waitForExit(pid, 5000);
      }
    }
    return { pid: await this.start(), adopted: false };
  }

  private async start(): Promise<number> {
    await mkdir(this.paths.dir, { recursive: true, mode: 0o700 });
    try {
      // The launcher exits once the daemon is set up (or reports why it could not bind, with status 2..5).
      await this.run(this.binary, this.args, this.timeoutMs);
    } catch (err) {
      throw new Error(`dnsmasq did not start: ${commandReason(err)}`);
    }
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const pid = await this.readPid();
      if (pid && isProcessRunning(pid)) return pid;
      if (Date.now() > deadline)
        throw new Error(`dnsmasq started but wrote no pid file ${this.paths.pidFile}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
