import type { VolumeOperationDto } from '@ferry/contracts';
import type { Peers } from '../../saga/peers';
import type { StageOutcome, StageRun } from './stage';
import { expectCompleted, waitForOperations } from './wait';

/**
 * CONVERT: the last step into the target format and bus, after the fixes. The copies are qcow2
 * (FIX's snapshot needs it) and the VM's disks sit on virtio-scsi whatever their source controller;
 * a raw target is made by volume-daemon's `convert` (qemu-img convert + compare) of each disk,
 * detached from the appliance for it and attached back after. Each disk's state is read first, so a
 * resumed stage does only what is left.
 */
export async function runConvert(
  run: StageRun,
  peers: Peers,
  applianceId: () => Promise<string>,
): Promise<StageOutcome> {
  const format = run.m.target.format;
  if (format === 'qcow2')
    return { skipped: true, detail: 'the copies are qcow2 already; the disks go on virtio-scsi' };
  const total = run.m.volumes.reduce((n, v) => n + v.size_bytes, 0);
  let done = 0;
  for (const v of [...run.m.volumes].sort((a, b) => a.index - b.index)) {
    let disk = await peers.disk(v.disk_id);
    if (disk.operation_id) await settle(run, peers, disk.operation_id);
    disk = await peers.disk(v.disk_id);
    if (disk.format !== format) {
      if (disk.vm_id) await settle(run, peers, (await peers.detach(disk.id)).id, `detach of ${v.name}`);
      await settle(run, peers, (await peers.convertDisk(disk.id, format)).id, `convert of ${v.name}`);
    }
    disk = await peers.disk(v.disk_id);
    if (!disk.vm_id)
      await settle(run, peers, (await peers.attach(disk.id, await applianceId())).id, `attach of ${v.name}`);
    done += v.size_bytes;
    run.progress({ bytes_done: done, bytes_total: total });
  }
  return {
    detail: `${run.m.volumes.length} disk(s) converted to ${format}, verified, and back on the appliance`,
  };
}

async function settle(run: StageRun, peers: Peers, id: string, what?: string): Promise<VolumeOperationDto> {
  const [op] = await waitForOperations(peers, [id], run.signal);
  if (what) expectCompleted(op!, what);
  return op!;
}
