import { readdir, stat } from 'node:fs/promises';
import { Injectable } from '@nestjs/common';
import type { DiskDto, VmDto } from '@ferry/contracts';
import { DiskSubjects, VmSubjects } from '@ferry/contracts';
import { FerryClient, allPages } from '@ferry/platform';
import { ObserverConfig } from '../config/observer.config';
import { ImageProbe } from '../probes/image-probe';
import { scanQemuProcesses } from '../probes/process-table';
import type { ImageInfo, QemuProcess, QmpAnswer, VmProcessState } from '../probes/probes';
import { probeQmp } from '../probes/qmp-probe';
import { listImageFiles } from '../probes/storage-scan';
import { vmProcessState } from '../probes/vm-process';
import type { Observation } from './judge';
import { mapWithLimit } from '../probes/limit';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SETTLED_VM = new Set(['running', 'stopped', 'error']);
/** Records per page of the sweep's reads (a page of 500 VMs or disks is far below NATS's 1 MiB). */
const SWEEP_PAGE = 500;

/**
 * Gathers one sweep's observation: the records (over NATS, with the usual request deadline), then
 * what this host shows of them. Probes run `OBSERVER_PROBE_CONCURRENCY` at a time; an image file that
 * has not changed since the last sweep costs one stat (ImageProbe caches `qemu-img info`).
 */
@Injectable()
export class Gatherer {
  private readonly images = new ImageProbe();

  constructor(
    private readonly client: FerryClient,
    private readonly config: ObserverConfig,
  ) {}

  /** `listed` is called once the records are read, before the probes start. */
  async observe(errors: string[], listed: () => void = () => undefined): Promise<Observation> {
    const [vms, disks] = await Promise.all([
      this.records(
        'vm-operator',
        (cursor) => this.client.send(VmSubjects.LIST, { limit: SWEEP_PAGE, cursor }),
        errors,
      ),
      this.records(
        'volume-daemon',
        (cursor) => this.client.send(DiskSubjects.LIST, { limit: SWEEP_PAGE, cursor }),
        errors,
      ),
    ]);
    listed();
    const limit = this.config.OBSERVER_PROBE_CONCURRENCY;
    const runtimeDir = this.config.VM_RUNTIME_DIR;

    const looked = (vms ?? []).filter((vm: VmDto) => SETTLED_VM.has(vm.state));
    const states = await mapWithLimit(looked, limit, (vm) => vmProcessState(runtimeDir, vm.id));
    const processes = new Map<string, VmProcessState>(looked.map((vm, i) => [vm.id, states[i]!]));

    const live = looked.filter((vm) => vm.state === 'running' && processes.get(vm.id)!.alive);
    const answers = await mapWithLimit(live, limit, (vm) =>
      probeQmp(runtimeDir, vm.id, this.config.OBSERVER_PROBE_TIMEOUT_MS).catch((err: Error) => err),
    );
    const qmp = new Map<string, QmpAnswer | Error>(live.map((vm, i) => [vm.id, answers[i]!]));

    // An image a running QEMU has open is described by its query-block (a guest writing to it changes
    // its mtime at every sweep, which would defeat ImageProbe's cache); the file still has to exist.
    const fromQemu = new Map<string, ImageInfo>();
    for (const answer of qmp.values())
      if (!(answer instanceof Error))
        for (const b of answer.blockDevices) if (b.file && b.image) fromQemu.set(b.file, b.image);
    const paths = (disks ?? []).map((d: DiskDto) => d.path).filter((p): p is string => !!p);
    const infos = await mapWithLimit(paths, limit, async (p) => {
      const open = fromQemu.get(p);
      if (open) return (await exists(p)) ? open : null;
      return this.images.info(p).catch(() => undefined);
    });
    const images = new Map<string, ImageInfo | null>();
    paths.forEach((p, i) => infos[i] !== undefined && images.set(p, infos[i]!));
    this.images.retain(new Set(paths.filter((p) => !fromQemu.has(p))));

    // A QEMU is this host's Ferry's when its pid file is in our runtime directory; another Ferry
    // (a second vm-operator, a test suite) keeps its own.
    const ours = (p: QemuProcess) => !!p.pidFile && p.pidFile.startsWith(`${runtimeDir}/`);
    const [qemuProcesses, runtimeDirs, storageFiles] = await Promise.all([
      scanQemuProcesses().then((all) => all.filter(ours)),
      readdir(runtimeDir).then(
        (names) => names.filter((n) => UUID.test(n)),
        () => [],
      ),
      listImageFiles(this.config.VOLUME_STORAGE_DIR),
    ]);
    return { vms, disks, processes, qmp, images, qemuProcesses, runtimeDirs, storageFiles };
  }

  private async records<T>(
    service: string,
    list: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor?: string | null }>,
    errors: string[],
  ): Promise<T[] | undefined> {
    try {
      return await allPages(list);
    } catch (err) {
      errors.push(`${service} did not list its records: ${(err as Error).message}`);
      return undefined;
    }
  }
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
