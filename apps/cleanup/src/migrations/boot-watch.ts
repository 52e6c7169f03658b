import { setTimeout as sleep } from 'node:timers/promises';
import type { BootCheckDto } from '@ferry/contracts';
import type { Peers } from '../saga/peers';

/** The end of the console kept in a report. */
const EXCERPT_CHARS = 4096;
const POLL_MS = 1000;

export interface BootWatch {
  vm: { id: string; name: string };
  success: RegExp;
  failure: RegExp;
  /** Also wait for an address on the first NIC (the DHCP lease, through vm-operator's `local_ip`). */
  expectIp: boolean;
  /** When the VM was started (the boot's time counts from here), epoch ms. */
  startedAt: number;
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * Watches a VM boot on its serial console until the success pattern shows (and, when asked, the VM
 * has an address), the failure pattern shows, the VM stops, or time runs out. Reads only: a resumed
 * watch reads the same console again (it outlives vm-operator, and the boot's log stays).
 */
export async function watchBoot(peers: Peers, w: BootWatch): Promise<BootCheckDto> {
  const deadline = w.startedAt + w.timeoutMs;
  let bootMs: number | null = null;
  let text = '';
  const result = (passed: boolean, reason: string | null, ip: string | null): BootCheckDto => ({
    vm_id: w.vm.id,
    vm_name: w.vm.name,
    passed,
    boot_ms: bootMs,
    ip,
    console_excerpt: text.slice(-EXCERPT_CHARS),
    reason,
  });
  for (;;) {
    w.signal.throwIfAborted();
    text = (await peers.console(w.vm.id)).text;
    const vm = await peers.vm(w.vm.id);
    const failed = w.failure.exec(text);
    if (failed) return result(false, `the console shows "${failed[0]}"`, vm.local_ip);
    if (bootMs === null && w.success.test(text)) bootMs = Math.max(0, Date.now() - w.startedAt);
    if (bootMs !== null && (!w.expectIp || vm.local_ip)) return result(true, null, vm.local_ip);
    if (vm.state !== 'running' && vm.state !== 'starting')
      return result(
        false,
        bootMs === null
          ? `the VM is ${vm.state} and its console never showed /${w.success.source}/`
          : `the VM is ${vm.state} and never got an address`,
        vm.local_ip,
      );
    if (Date.now() > deadline)
      return result(
        false,
        bootMs === null
          ? `the console did not show /${w.success.source}/ within ${Math.round(w.timeoutMs / 1000)} s`
          : `no address on the VM's NIC within ${Math.round(w.timeoutMs / 1000)} s`,
        vm.local_ip,
      );
    await sleep(POLL_MS, undefined, { signal: w.signal });
  }
}
