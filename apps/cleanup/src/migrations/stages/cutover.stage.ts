import { setTimeout as sleep } from 'node:timers/promises';
import type { VmDto } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import type { Peers } from '../../saga/peers';
import { placeVolume } from '../../saga/volume-placement';
import { watchBoot } from '../boot-watch';
import type { CutoverResult } from '../migrations.repository';
import type { SourcePeers } from '../source-peers';
import type { StageOutcome, StageRun } from './stage';
import { bootCheck, ensureTemplate } from './validate.stage';

/** How long one volume may take to move from the appliance to the production VM. */
const MOVE_TIMEOUT_MS = 5 * 60_000;

/**
 * The cutover: the source is powered off in vSphere (its power state before is recorded first, so a
 * cancel can put it back), the production VM is made from the template and the plan's NICs, the
 * volumes move from the appliance onto it in disk order (the first is SCSI target 0, the one SeaBIOS
 * boots), it starts, and its boot is checked as VALIDATE's was. The source VM is never deleted.
 * Every step reads what exists first: a resumed cutover powers nothing off twice, makes one VM.
 */
export async function runCutover(
  run: StageRun,
  peers: Peers,
  source: SourcePeers,
  appliance: () => Promise<{ id: string; name: string }>,
): Promise<StageOutcome> {
  const plan = run.m.plan!;
  const recorded = run.m.cutoverResult;
  if (recorded?.passed) return { detail: `${recorded.vm_name} booted (recorded before a restart)` };
  if (!run.m.sourcePowerBefore) {
    const { facts } = await source.facts(run.credentials(), run.m.moref);
    await run.update({ sourcePowerBefore: facts.powerState ?? 'unknown' });
  }
  if (!run.m.sourcePoweredOffAt) {
    await source.power(run.credentials(), run.m.moref, 'poweredOff');
    await run.update({ sourcePoweredOffAt: new Date() });
    await run.failpoint('cutover:power-off');
  }
  await ensureTemplate(peers, plan.template);
  const vm = await productionVm(run, peers);
  const from = await appliance();
  for (const v of [...run.m.volumes].sort((a, b) => a.index - b.index)) {
    run.signal.throwIfAborted();
    await placeVolume(
      peers,
      v.disk_id,
      { target: { id: vm.id, name: vm.name }, source: from, viaCleanupCall: false },
      Date.now() + MOVE_TIMEOUT_MS,
    );
  }
  const running = await start(run, peers, vm.id);
  const check = bootCheck(run.m);
  const boot = await watchBoot(peers, {
    vm: { id: vm.id, name: vm.name },
    ...check,
    startedAt: Date.parse(running.updated_at),
    signal: run.signal,
  });
  const offAt = run.m.sourcePoweredOffAt!;
  const result: CutoverResult = {
    ...boot,
    source_powered_off_at: offAt.toISOString(),
    downtime_ms:
      boot.boot_ms === null ? null : Date.parse(running.updated_at) + boot.boot_ms - offAt.getTime(),
  };
  await run.update({ cutoverResult: result });
  if (!boot.passed)
    throw new FerryError(
      'UNPROCESSABLE',
      `the production VM ${vm.name} did not pass its boot check: ${boot.reason}`,
    );
  return {
    detail: `source ${run.m.vmName} powered off; ${vm.name} (${vm.id}) booted${boot.ip ? ` with ${boot.ip}` : ''}; downtime ${Math.round((result.downtime_ms ?? 0) / 1000)} s`,
  };
}

/** The production VM: recorded, or found by name (made by this migration before a crash), or made now. */
async function productionVm(run: StageRun, peers: Peers): Promise<VmDto> {
  const { m } = run;
  if (m.productionVmId) {
    const vm = await peers.vmOrNull(m.productionVmId);
    if (vm) return vm;
  }
  const template = m.plan!.template.name;
  let vm = await peers.vmByName(m.target.name);
  if (vm && vm.template !== template)
    throw FerryError.conflict(`a VM named "${m.target.name}" exists already and is not this migration's`, {
      vmId: vm.id,
    });
  vm ??= await peers.createVm(
    template,
    m.target.name,
    m.plan!.nics.map((n) => ({ mac: n.mac })),
  );
  await run.update({ productionVmId: vm.id });
  return vm;
}

async function start(run: StageRun, peers: Peers, id: string): Promise<VmDto> {
  let vm = await peers.vm(id);
  if (vm.state === 'stopped' || vm.state === 'error') await peers.startVm(id);
  for (;;) {
    vm = await peers.vm(id);
    if (vm.state === 'running') return vm;
    if (vm.state === 'error' || vm.state === 'stopped')
      throw new FerryError('UNPROCESSABLE', `the production VM did not start: ${vm.last_error ?? vm.state}`);
    await sleep(250, undefined, { signal: run.signal });
  }
}
