import type { DiskDto, VolumeOperationDto } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import type { Peers } from './peers';

export interface Placement {
  /** Where the volume must end up, in use. */
  target: { id: string; name: string };
  /** The one other VM it may be taken from (the appliance when failing over, the test VM when cleaning up). */
  source: { id: string; name: string } | null;
  /** Cleanup: leave the test VM through volume-daemon's test-failover cleanup (seed 002's daemon call). */
  viaCleanupCall: boolean;
}

/** At most this many volume operations for one volume in one step; each must make progress. */
const MAX_ROUNDS = 6;

/**
 * Puts a volume on `target`, starting from wherever volume-daemon says it is now, so that running it
 * again after a crash does only what is left: a volume already in place costs one read, an operation
 * in flight is waited for rather than repeated. Every change is a volume-daemon operation, awaited to
 * its end. Returns what was done.
 */
export async function placeVolume(
  peers: Peers,
  volumeId: string,
  p: Placement,
  deadline: number,
): Promise<string> {
  const done: string[] = [];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const disk = await peers.disk(volumeId);
    if (disk.operation_id) {
      const op = await peers.operationDone(disk.operation_id, deadline);
      done.push(`waited for ${op.type} ${op.id} (${op.status})`);
      continue;
    }
    if (disk.vm_id === p.target.id && disk.state === 'in-use') {
      done.push(`on ${p.target.name} as ${disk.mount_point ?? 'unverified device'}`);
      return done.join('; ');
    }
    const op = await nextOperation(peers, disk, p);
    const finished = await peers.operationDone(op.id, deadline);
    done.push(`${finished.type} ${finished.id} ${finished.status}`);
    if (finished.status !== 'completed') {
      // A failed cleanup call may still have left the volume safe (its emergency reattach): look again.
      const now = await peers.disk(volumeId);
      if (now.vm_id === p.target.id && now.state === 'in-use') continue;
      throw new FerryError(
        (finished.error?.code as FerryError['code']) ?? 'INTERNAL',
        `${finished.type} of volume "${disk.name}" failed: ${finished.error?.message ?? finished.status}`,
        { volumeId, operationId: finished.id },
      );
    }
  }
  throw new FerryError('INTERNAL', `volume ${volumeId} did not reach ${p.target.name}: ${done.join('; ')}`);
}

function nextOperation(peers: Peers, disk: DiskDto, p: Placement): Promise<VolumeOperationDto> {
  if (disk.state === 'creating' || disk.state === 'importing' || disk.state === 'deleting')
    throw FerryError.conflict(`volume "${disk.name}" is ${disk.state}`, { volumeId: disk.id });
  if (!disk.vm_id) return peers.attach(disk.id, p.target.id);
  const source = p.source;
  if (!source || disk.vm_id !== source.id)
    throw FerryError.conflict(
      `volume "${disk.name}" is attached to VM ${disk.vm_id}, which is neither ${p.target.name} nor ${
        source?.name ?? 'the test VM'
      }; it is left alone`,
      { volumeId: disk.id, vmId: disk.vm_id },
    );
  if (p.viaCleanupCall && disk.state === 'in-use')
    return peers.returnToAppliance(disk.id, source.id, p.target.id);
  return peers.detach(disk.id);
}
