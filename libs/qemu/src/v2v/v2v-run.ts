import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { libguestfsEnv } from '../guestfish/libguestfs-env';
import type { V2vRootChoice, V2vSourceBus } from './v2v-args';
import { v2vArgs } from './v2v-args';
import { V2vOutputScanner } from './v2v-output';
import { runV2vProcess } from './v2v-process';
import type { V2vConversion, V2vDisk, V2vProgress } from './v2v-types';
import { V2vError } from './v2v-types';

export interface V2vRunOptions {
  /** Limit of the whole run, appliance boot included, in ms (a Debian guest takes 4–7 min under TCG here). */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Each stage as virt-v2v announces it. */
  onProgress?: (p: V2vProgress) => void;
  /** The QEMU that libguestfsEnv probes KVM with (default `qemu-system-x86_64`). */
  qemuBinary?: string;
  /** The whole output (`-v -x`: several MB) is appended to this file (mode 0600). */
  logFile?: string;
  /** `--root`; default `single`: a guest with several operating systems is refused, not guessed. */
  root?: V2vRootChoice;
  /** The controller the disks were on at the source (several disks only); default `scsi`. */
  sourceBus?: V2vSourceBus;
  /** The guest's name in the generated libvirt XML (several disks only). */
  name?: string;
}

/**
 * One run of a virt-v2v program on local disk images, with libguestfs's environment (direct
 * backend, TCG where KVM does not really work). Resolves with the scanner's findings; rejects with a
 * V2vError that carries virt-v2v's own reason.
 */
export async function runV2v(
  program: string,
  disks: V2vDisk[],
  options: V2vRunOptions,
): Promise<V2vConversion> {
  const scratch = await mkdtemp(join(tmpdir(), 'ferry-v2v-'));
  try {
    const invocation = v2vArgs(disks, join(scratch, 'domain.xml'), {
      root: options.root,
      sourceBus: options.sourceBus,
      name: options.name,
    });
    if (invocation.domainXml)
      await writeFile(join(scratch, 'domain.xml'), invocation.domainXml, { mode: 0o600 });
    const env = {
      ...(await libguestfsEnv(options.qemuBinary ?? 'qemu-system-x86_64')),
      // virt-v2v's own small files (its NBD sockets, the v2v directory) stay in our scratch directory.
      TMPDIR: scratch,
    };
    const scanner = new V2vOutputScanner(options.onProgress);
    const end = await runV2vProcess({
      command: program,
      args: invocation.args,
      env,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      logFile: options.logFile,
      onLine: (stream, line) => scanner.push(stream, line),
    });
    const stage = scanner.currentStage();
    switch (end.how) {
      case 'spawn':
        throw new V2vError('spawn', `cannot run ${program}: ${end.spawnError ?? 'unknown error'}`);
      case 'timeout':
        throw new V2vError('timeout', `no result within ${options.timeoutMs} ms`, scanner.lastLines(), stage);
      case 'aborted':
        throw new V2vError('aborted', 'aborted', scanner.lastLines(), stage);
      case 'exited':
        break;
      default: {
        const never: never = end.how;
        throw new Error(`unknown end ${String(never)}`);
      }
    }
    if (end.code !== 0) {
      const lines = scanner.lastLines();
      // Its own words when it printed an error; else the end of its log (a crash, a signal).
      const reason =
        scanner.errorMessage() ?? (lines.slice(-3).join('\n') || `${program} exited with status ${end.code}`);
      throw new V2vError('failed', reason, lines, stage, end.code);
    }
    const endSeconds = end.elapsedMs / 1000;
    return {
      elapsedMs: end.elapsedMs,
      stages: scanner.stageTimes(endSeconds),
      facts: scanner.conversionFacts(),
      warnings: scanner.warnings,
      info: scanner.info,
      ...(options.logFile ? { logFile: options.logFile } : {}),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
