import type { DiskDto, VolumeAttentionDto } from '@ferry/contracts';
import type { JobRecord } from '../jobs/jobs.repository';
import type { Peers } from './peers';

/**
 * Where each volume that is not safely back on the appliance is, and what a person must do: the
 * seed's "log detailed error information for manual intervention", as data.
 */
export async function attentionReport(
  peers: Peers,
  job: JobRecord,
): Promise<{ summary: string; volumes: VolumeAttentionDto[] }> {
  const volumes: VolumeAttentionDto[] = [];
  for (const v of job.volumes) {
    const disk = await peers.disk(v.id).catch(() => undefined);
    if (disk && disk.vm_id === job.applianceVmId && disk.state === 'in-use') continue;
    volumes.push({
      volume_id: v.id,
      volume_name: v.name,
      state: disk?.state ?? 'unknown',
      vm_id: disk?.vm_id ?? null,
      where: where(job, disk),
      action: action(job, disk, v.id),
    });
  }
  const summary =
    volumes.length === 0
      ? `. Every volume is back on ${job.applianceVmName}.`
      : `. ${volumes.length} volume(s) need attention: ${volumes
          .map((v) => `"${v.volume_name}" is ${v.where}`)
          .join('; ')}. Then POST /api/v1/failover/jobs/${job.id}/resume.`;
  return { summary, volumes };
}

function where(job: JobRecord, disk: DiskDto | undefined): string {
  if (!disk) return 'unknown (volume-daemon did not answer)';
  const state = disk.state === 'in-use' ? '' : ` (${disk.state})`;
  if (!disk.vm_id) return `attached to no VM${state}`;
  if (disk.vm_id === job.testVmId) return `still on test VM ${job.testVmName}${state}`;
  if (disk.vm_id === job.applianceVmId) return `on ${job.applianceVmName}${state}`;
  return `attached to VM ${disk.vm_id}${state}`;
}

function action(job: JobRecord, disk: DiskDto | undefined, id: string): string {
  const resume = `POST /api/v1/failover/jobs/${job.id}/resume`;
  if (!disk) return `check volume-daemon, then ${resume}`;
  if (!disk.vm_id)
    return (
      `the image could not be attached to ${job.applianceVmName}${disk.last_error ? ` (${disk.last_error})` : ''}; ` +
      `make sure no other process holds it open, then ${resume}, or attach it by hand: ` +
      `POST /api/v1/disks/${id}/attach {"vmId":"${job.applianceVmId}"}`
    );
  if (disk.vm_id === job.testVmId)
    return `the test VM keeps it and is not deleted; fix the cause above, then ${resume}`;
  return `fix the cause above, then ${resume}`;
}
