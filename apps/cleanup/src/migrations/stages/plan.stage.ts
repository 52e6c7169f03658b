import type {
  GuestFacts,
  GuestFixName,
  GuestInspectionResultDto,
  InspectionConcern,
  MigrationPlanDto,
  PlanDiskDto,
  PlanPlacementDto,
  PlanTemplateDto,
} from '@ferry/contracts';
import { GUEST_FIX_NAMES } from '@ferry/contracts';
import { planGuestFixes } from '@ferry/guest';
import type { Peers } from '../../saga/peers';
import { PlanConcernCodes, preFetchBlockers } from '../plan/blockers';
import { planNics } from '../plan/nics';
import { derivedTemplateName, machineTrait, planTemplate } from '../plan/template';
import { virtV2vDecision } from '../plan/virt-v2v';
import type { SourcePeers } from '../source-peers';
import type { StageOutcome, StageRun } from './stage';

/** The inspection's blockers that a fix of Ferry's removes, by the fix that does. */
const FIXED_BY: Record<string, GuestFixName> = {
  FSTAB_BY_PATH: 'by-path',
  FSTAB_BY_ID: 'by-path',
  BOOT_CONFIG_BY_PATH: 'by-path',
  VMWARE_TOOLS: 'vmware-tools',
};

/**
 * PLAN: what will be done and where, before anything is written (seed 001's dry-run): placement with
 * the reasons other hosts were rejected, the template, the disks and NICs, whether virt-v2v applies,
 * each of Ferry's fixes as the exact edits it makes, and the blockers and warnings. Reads only.
 * `mode: plan` ends here; so does a plan with blockers (`blocked`).
 */
export async function runPlan(run: StageRun, peers: Peers, source: SourcePeers): Promise<StageOutcome> {
  const { m } = run;
  const facts = m.facts!.facts;
  const blockers: InspectionConcern[] = [...preFetchBlockers(m)];
  const warnings: InspectionConcern[] = m.facts!.concerns.filter((c) => c.severity !== 'blocker');
  const inspected = m.inspectionId ? (await source.guestInspection(m.inspectionId)).result : null;
  const guest = inspected?.guest ?? null;

  const given = m.target.template ? await peers.template(m.target.template) : null;
  if (m.target.template && !given)
    blockers.push({
      code: 'TEMPLATE_MISSING',
      severity: 'blocker',
      message: `template "${m.target.template}" does not exist (any more)`,
    });
  const template = planTemplate(facts, given, derivedTemplateName(m.target.name, m.id));
  const placement = await place(source, template, m.target.host);
  if (!placement.host)
    blockers.push({
      code: PlanConcernCodes.NO_HOST,
      severity: 'blocker',
      message: `no host can run it: ${placement.rejected.map((r) => `${r.host_name}: ${r.reasons.join(', ')}`).join('; ') || 'no host is registered'}`,
    });

  const nics = planNics(facts, m.id);
  const disks = planDisks(m.volumes, m.target.format, facts.disks);
  const files = inspected?.files ?? [];
  const enabled = (m.fixes ?? [...GUEST_FIX_NAMES, 'virt-v2v']) as string[];
  const v2v = virtV2vDecision(guest, files, m.fixes);
  let fixes: MigrationPlanDto['fixes'] = [];
  if (inspected) {
    blockers.push(...guestBlockers(inspected, enabled));
    warnings.push(...inspected.concerns.filter((c) => c.severity === 'warning' && !FIXED_BY[c.code]));
    if (guest && guest.osType === 'linux') {
      const planned = planGuestFixes({
        facts: guest,
        files,
        disks: sourceDisks(m, inspected, facts.disks),
        nics: nics.map((n) => ({ label: n.label, sourceMac: n.source_mac, newMac: n.mac })),
        options: {
          fixes: GUEST_FIX_NAMES.filter((f) => enabled.includes(f)),
          keepStaticIp: m.target.keepStaticIp,
          virtV2v: v2v.applies,
        },
      });
      fixes = planned.fixes;
      blockers.push(...planned.blockers);
      warnings.push(...planned.warnings);
    }
    if (guest && !v2v.applies && guest.osType === 'linux')
      warnings.push({
        code: PlanConcernCodes.VIRT_V2V_NOT_APPLICABLE,
        severity: 'warning',
        message: `virt-v2v does not run: ${v2v.reason}. The guest's own kernel and initramfs must bring the virtio drivers (disks on virtio-scsi, NICs virtio-net).`,
      });
  }
  if (facts.powerState === 'poweredOn')
    warnings.push({
      code: PlanConcernCodes.SOURCE_RUNS_DURING_COPY,
      severity: 'warning',
      message:
        'the source runs while it is copied: what it writes after the snapshot is not carried over (this vCenter offers no changed-block re-read); the cutover powers it off, so stop its writers before, or cut over soon after',
    });

  const plan: MigrationPlanDto = {
    migration_id: m.id,
    created_at: new Date().toISOString(),
    source: {
      vm_name: facts.name,
      moref: facts.moref,
      guest_id: facts.guestId,
      guest_full_name: facts.guestFullName,
      firmware: facts.firmware,
      secure_boot: facts.secureBoot,
      vtpm: facts.vTpm,
      num_cpu: facts.numCpu,
      memory_mb: facts.memoryMB,
      power_state: facts.powerState,
      hardware_version: facts.hardwareVersion,
      cbt: facts.changeTrackingEnabled,
      snapshot_count: facts.snapshotCount,
    },
    guest: guest && summary(guest, inspected!),
    placement,
    template,
    disks,
    nics,
    virt_v2v: v2v,
    fixes,
    blockers: dedupe(blockers),
    warnings: dedupe(warnings),
  };
  const edits = fixes.reduce((n, f) => n + f.edits.length, 0);
  const detail =
    `${plan.blockers.length} blocker(s), ${plan.warnings.length} warning(s); host ${placement.host ?? 'none'}, ` +
    `template ${template.name}${template.derived ? ' (derived)' : ''}, virt-v2v ${v2v.applies ? 'runs' : 'does not run'}, ` +
    `${fixes.length} fix(es) with ${edits} edit(s)`;
  const stop = plan.blockers.length > 0 ? 'blocked' : m.mode === 'plan' ? 'planned' : undefined;
  return { detail, change: { plan, templateName: template.name }, ...(stop ? { stop } : {}) };
}

async function place(
  source: SourcePeers,
  template: PlanTemplateDto,
  host: string | null,
): Promise<PlanPlacementDto> {
  const resources = { VCPU: template.cpu_count, MEMORY_MB: template.ram_amount };
  const machine = machineTrait(template.machine_type);
  const required = [...new Set([...template.required_traits, ...(machine ? [machine] : [])])];
  const result = await source.placement({
    required,
    resources,
    ...(host ? { hosts: [host] } : {}),
  });
  const best = result.candidates[0];
  return {
    host: best?.host_name ?? null,
    host_id: best?.host_id ?? null,
    required_traits: required,
    resources,
    candidates: result.candidates.map((c) => ({ host_name: c.host_name, score: c.score })),
    rejected: result.rejected.map((r) => ({ host_name: r.host_name, reasons: r.reasons })),
  };
}

function planDisks(
  volumes: StageRun['m']['volumes'],
  format: PlanDiskDto['format'],
  sourceDisks: { key: number; fileName: string | null; capacityBytes: number }[],
): PlanDiskDto[] {
  return [...volumes]
    .sort((a, b) => a.index - b.index)
    .map((v, i) => ({
      index: v.index,
      name: v.name,
      disk_id: v.disk_id,
      source_key: v.source_key,
      source_file: sourceDisks.find((d) => String(d.key) === v.source_key)?.fileName ?? null,
      size_bytes: v.size_bytes,
      bus: 'virtio-scsi' as const,
      target: i,
      format,
    }));
}

/** The source disks in the order the appliance saw them, with where vSphere had them (by-path resolution). */
function sourceDisks(
  m: StageRun['m'],
  inspected: GuestInspectionResultDto,
  facts: {
    key: number;
    controller: string;
    controllerKey: number;
    busNumber: number | null;
    unitNumber: number | null;
  }[],
) {
  return [...m.volumes]
    .sort((a, b) => a.index - b.index)
    .flatMap((v) => {
      const d = facts.find((f) => String(f.key) === v.source_key);
      const device = inspected.devices[v.disk_id];
      return d && device
        ? [
            {
              device,
              controller: d.controller,
              controllerKey: d.controllerKey,
              busNumber: d.busNumber,
              unitNumber: d.unitNumber,
            },
          ]
        : [];
    });
}

/** What the guest itself stops: not Linux (Windows is sealed off), no OS, and blockers no enabled fix removes. */
function guestBlockers(inspected: GuestInspectionResultDto, enabled: string[]): InspectionConcern[] {
  const guest = inspected.guest;
  const out: InspectionConcern[] = [];
  if (!guest)
    out.push({
      code: PlanConcernCodes.NO_GUEST_OS,
      severity: 'blocker',
      message: 'no operating system was found on the disks: there is nothing to fix or boot',
    });
  else if (guest.osType === 'windows')
    out.push({
      code: PlanConcernCodes.WINDOWS_GUEST,
      severity: 'blocker',
      message: `the disks hold Windows (${guest.productName ?? 'unknown version'}): Ferry does not convert Windows guests (seed 001 keeps Windows logic sealed off); nothing was changed`,
    });
  for (const c of inspected.concerns.filter((c) => c.severity === 'blocker')) {
    const fix = FIXED_BY[c.code];
    if (fix && enabled.includes(fix)) continue;
    out.push(
      fix
        ? {
            ...c,
            code: c.code,
            message: `${c.message} (the ${fix} fix would repair it, but \`fixes\` leaves it out)`,
          }
        : c,
    );
  }
  return out;
}

function summary(guest: GuestFacts, inspected: GuestInspectionResultDto): MigrationPlanDto['guest'] {
  return {
    os_type: guest.osType,
    distro: guest.distro,
    version: guest.majorVersion === null ? null : `${guest.majorVersion}.${guest.minorVersion ?? 0}`,
    product_name: guest.productName,
    arch: guest.arch,
    hostname: guest.hostname,
    root: guest.root,
    firmware: guest.firmware,
    appliance_boots: inspected.applianceBoots,
  };
}

function dedupe(concerns: InspectionConcern[]): InspectionConcern[] {
  const seen = new Set<string>();
  return concerns.filter((c) => {
    const key = `${c.code}|${c.subject ?? ''}|${c.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
