import { setTimeout as sleep } from 'node:timers/promises';
import type { FailoverJobDto } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import type { FailoverService } from '../failover/failover.service';
import type { Peers } from '../saga/peers';
import { isNotFound } from '../saga/peers';
import type { MigrationRecord } from './migrations.repository';
import type { SourcePeers } from './source-peers';
import { failoverRequester } from './stages/validate.stage';
import { finished, waitForOperations } from './stages/wait';

/**
 * What is put back when a migration ends short of completion:
 * - `cancel` (DELETE): everything: the source as it was (no snapshot, powered on again if Ferry
 *   powered it off), no test VM, and Ferry's copies (volumes, production VM, derived template) gone
 *   unless `keep`;
 * - `failure`: the source as it was and no test VM, but the copies stay for a look (a DELETE removes
 *   them);
 * - `copies` (the end of `mode: plan`, or a blocked plan): the copies made only to be inspected go.
 */
export type CompensationScope = 'cancel' | 'failure' | 'copies';

export interface CompensationDeps {
  peers: Peers;
  source: SourcePeers;
  failover: FailoverService;
  credentials: () => { url: string; username: string; password: string } | null;
}

/** How long compensation waits for one thing (an operation to stop, a cleanup to finish). */
const WAIT_MS = 10 * 60_000;

/** Puts back what `scope` says; returns what it did, one line each. Each step reads reality first. */
export async function compensate(
  m: MigrationRecord,
  scope: CompensationScope,
  d: CompensationDeps,
): Promise<string[]> {
  const done: string[] = [];
  const signal = AbortSignal.timeout(WAIT_MS);
  const removeCopies = scope === 'copies' || (scope === 'cancel' && !m.keep);

  // 1. Nothing keeps running on the copies: imports, the fix and conversions are cancelled.
  const opIds = [...m.volumes.map((v) => v.import_operation_id), m.fixOperationId].filter(
    (id): id is string => !!id,
  );
  for (const id of opIds) {
    const op = await d.peers.operation(id).catch(() => undefined);
    if (op && !finished(op)) {
      await d.peers.cancelOperation(id, `migration ${m.id} ${scope === 'cancel' ? 'canceled' : 'ended'}`);
      await waitForOperations(d.peers, [id], signal);
      done.push(`${op.type} ${id} cancelled`);
    }
  }
  // 2. No snapshot of the source is left.
  if (m.exportId) {
    await d.source.closeExport(m.exportId);
    done.push(`export ${m.exportId} closed (its snapshot removed)`);
  }
  // 3. No test VM: the test failover is cleaned up (the volumes go back to the appliance).
  if (m.failoverJobId) done.push(...(await cleanFailover(d.failover, m, signal)));
  // 4. The production VM of an unfinished cutover: deleted with the copies; else stopped, so that it
  //    never runs beside the source powered on again.
  if (m.productionVmId) {
    const vm = await d.peers.vmOrNull(m.productionVmId);
    if (vm && removeCopies) {
      await d.peers.deleteVm(vm.id).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
      done.push(`production VM ${vm.name} deleted`);
    } else if (vm && (vm.state === 'running' || vm.state === 'starting')) {
      await d.peers.stopVm(vm.id);
      done.push(`production VM ${vm.name} stopped`);
    }
  }
  // 5. The source runs again if Ferry powered it off.
  if (m.sourcePoweredOffAt && m.sourcePowerBefore === 'poweredOn') {
    const credentials = d.credentials();
    if (!credentials)
      throw new FerryError('UNAVAILABLE', 'the vCenter credentials are gone: power the source on by hand');
    const res = await d.source.power(credentials, m.moref, 'poweredOn');
    done.push(res.changed ? `source ${m.vmName} powered on again` : `source ${m.vmName} is on`);
  }
  // 6. Ferry's copies go (unless kept).
  if (removeCopies) {
    for (const v of m.volumes)
      if (await deleteVolume(d, v.disk_id, signal)) done.push(`volume ${v.name} deleted`);
    if (m.plan?.template.derived && (await d.peers.template(m.plan.template.name))) {
      await d.peers.deleteTemplate(m.plan.template.name).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
      done.push(`template ${m.plan.template.name} deleted`);
    }
  }
  return done;
}

async function cleanFailover(
  failover: FailoverService,
  m: MigrationRecord,
  signal: AbortSignal,
): Promise<string[]> {
  const until = async (done: (j: FailoverJobDto) => boolean): Promise<FailoverJobDto> => {
    for (;;) {
      const job = await failover.get(m.failoverJobId!);
      if (done(job)) return job;
      await sleep(500, undefined, { signal });
    }
  };
  // A failover still starting ends test_active, or failed (it rolled itself back).
  let job = await until((j) => j.status !== 'pending' && j.status !== 'running');
  if (job.status === 'test_active' || job.status === 'cleanup_failed') {
    await failover
      .cleanup({ vm_name: job.vm_name, requested_by: failoverRequester(m.id) })
      .catch(async (err: unknown) => {
        // A cleanup_failed job goes on through resume instead.
        if (job.status !== 'cleanup_failed') throw err;
        await failover.resume(job.id);
      });
    job = await until((j) => j.status === 'cleanup_completed' || j.status === 'cleanup_failed');
    if (job.status === 'cleanup_failed')
      throw new FerryError(
        'UNPROCESSABLE',
        `the test failover's cleanup failed: ${job.error?.message ?? ''}`,
      );
    return [`test failover ${job.id} cleaned up (test VM ${job.test_vm_name} deleted)`];
  }
  if (job.status === 'cleanup_running') {
    await until((j) => j.status === 'cleanup_completed' || j.status === 'cleanup_failed');
    return [`test failover ${job.id} cleaned up`];
  }
  return [];
}

/** Detached if it is on a VM, then deleted; true when it was there to delete. */
async function deleteVolume(d: CompensationDeps, id: string, signal: AbortSignal): Promise<boolean> {
  for (let round = 0; round < 4; round++) {
    const disk = await d.peers.disk(id).catch((err: unknown) => {
      if (isNotFound(err)) return null;
      throw err;
    });
    if (!disk) return round > 0;
    if (disk.operation_id) {
      await waitForOperations(d.peers, [disk.operation_id], signal);
      continue;
    }
    if (disk.vm_id) {
      const op = await d.peers.detach(id);
      await waitForOperations(d.peers, [op.id], signal);
      continue;
    }
    await d.peers.deleteDisk(id).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    return true;
  }
  throw new FerryError('INTERNAL', `volume ${id} could not be deleted: it kept changing`);
}
