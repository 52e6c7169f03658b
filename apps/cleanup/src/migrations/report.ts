import type { BootCheckDto, InspectionConcern, MigrationPlanDto, MigrationReportDto } from '@ferry/contracts';
import { toMigrationDto } from './migration-dto';
import type { MigrationRecord } from './migrations.repository';

/** Seed 001's report: the migration, its plan, what FIX did and what the boots showed. */
export function buildReport(m: MigrationRecord): MigrationReportDto {
  const inspectBoots = m.plan?.guest?.appliance_boots ?? 0;
  return {
    migration: toMigrationDto(m),
    plan: m.plan,
    stages: m.stages.map((s) => ({
      name: s.name,
      state: s.state,
      duration_ms:
        s.started_at && s.finished_at ? Date.parse(s.finished_at) - Date.parse(s.started_at) : null,
      attempts: s.attempts,
      detail: s.detail,
    })),
    appliance_boots: inspectBoots + (m.fixResult?.applianceBoots ?? 0),
    fix: m.fixResult && {
      virt_v2v: {
        ran: m.fixResult.virtV2v.ran,
        duration_ms: m.fixResult.virtV2v.durationMs,
        detail: m.fixResult.virtV2v.detail,
      },
      edits: m.fixResult.edits,
    },
    validation: m.validation,
    cutover: m.cutoverResult,
  };
}

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const secs = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);

function concerns(title: string, list: InspectionConcern[]): string[] {
  if (list.length === 0) return [];
  return [
    `### ${title}`,
    '',
    ...list.map((c) => `- **${c.code}**${c.subject ? ` (${c.subject})` : ''}: ${c.message}`),
    '',
  ];
}

function boot(title: string, b: BootCheckDto | null, extra: string[] = []): string[] {
  if (!b) return [];
  return [
    `## ${title}`,
    '',
    `- VM: ${b.vm_name} (${b.vm_id})`,
    `- Result: ${b.passed ? 'passed' : `failed: ${b.reason ?? ''}`}`,
    `- Boot: ${secs(b.boot_ms)}; address: ${b.ip ?? 'none'}`,
    ...extra,
    '',
    '```text',
    b.console_excerpt.replace(/```/g, "'''").trimEnd(),
    '```',
    '',
  ];
}

/** The same report, readable: Markdown (seed 001's report writer). */
export function renderReportMarkdown(r: MigrationReportDto): string {
  const m = r.migration;
  const p = r.plan;
  const out: string[] = [
    `# Migration ${m.id}: ${m.source.vm_name} → ${m.target.name}`,
    '',
    `- Status: **${m.status}**${m.error ? ` — ${m.error.message}` : ''}`,
    `- Source: ${m.source.vm_name} (${m.source.moref}) on ${m.source.vcenter}`,
    `- Mode: ${m.mode}, cutover ${m.cutover}; created ${m.created_at}${m.finished_at ? `, finished ${m.finished_at}` : ''}`,
    `- libguestfs appliance boots: ${r.appliance_boots}`,
    '',
    '## Stages',
    '',
    '| stage | state | time | attempts | detail |',
    '| --- | --- | --- | --- | --- |',
    ...r.stages.map(
      (s) => `| ${s.name} | ${s.state} | ${secs(s.duration_ms)} | ${s.attempts} | ${esc(s.detail ?? '')} |`,
    ),
    '',
  ];
  if (p) out.push(...planSection(p));
  if (r.fix) {
    out.push(
      '## Fix',
      '',
      `- virt-v2v: ${r.fix.virt_v2v.ran ? `ran in ${secs(r.fix.virt_v2v.duration_ms)}: ${r.fix.virt_v2v.detail ?? ''}` : 'did not run'}`,
      ...r.fix.edits.map(
        (e) => `- ${e.fix} ${e.kind} ${e.path}: ${e.outcome}${e.detail ? ` (${e.detail})` : ''}`,
      ),
      '',
    );
  }
  out.push(...boot('Validation (test failover)', r.validation));
  out.push(
    ...boot(
      'Cutover',
      r.cutover,
      r.cutover
        ? [
            `- Source powered off at ${r.cutover.source_powered_off_at ?? '—'}; downtime ${secs(r.cutover.downtime_ms)}`,
          ]
        : [],
    ),
  );
  return `${out.join('\n').trimEnd()}\n`;
}

/** The plan, readable: where, as what, which fixes (each file's diff), blockers and warnings. */
function planSection(p: MigrationPlanDto): string[] {
  const out = [
    '## Plan',
    '',
    `- Host: ${p.placement.host ?? 'none'}${p.placement.required_traits.length ? ` (requires ${p.placement.required_traits.join(', ')})` : ''}`,
    ...p.placement.rejected.map((x) => `  - not ${x.host_name}: ${x.reasons.join(', ')}`),
    `- Template: ${p.template.name}${p.template.derived ? ' (derived from the source)' : ''}: ${p.template.cpu_count} vCPU, ${p.template.ram_amount} MiB, ${p.template.machine_type}, ${p.template.firmware}`,
    `- Guest: ${p.guest ? `${p.guest.product_name ?? p.guest.distro ?? p.guest.os_type}, root ${p.guest.root}` : 'not inspected'}`,
    `- virt-v2v: ${p.virt_v2v.applies ? 'runs' : 'does not run'} — ${p.virt_v2v.reason}`,
    '',
    '| disk | source | size | bus | target | format |',
    '| --- | --- | --- | --- | --- | --- |',
    ...p.disks.map(
      (d) =>
        `| ${d.name} | ${esc(d.source_file ?? d.source_key)} | ${d.size_bytes} | ${d.bus} | ${d.target} | ${d.format} |`,
    ),
    '',
    '| NIC | source | MAC |',
    '| --- | --- | --- |',
    ...p.nics.map((n) => `| ${n.label} | ${n.source_type} ${n.source_mac ?? ''} | ${n.mac} |`),
    '',
    ...concerns('Blockers', p.blockers),
    ...concerns('Warnings', p.warnings),
  ];
  for (const fix of p.fixes) {
    out.push(`### Fix ${fix.name}: ${fix.title}`, '', ...fix.notes.map((n) => `- ${n}`), '');
    for (const e of fix.edits) out.push('```diff', e.diff.trimEnd(), '```', '');
  }
  return out;
}

/** The plan alone, as Markdown. */
export function renderPlanMarkdown(p: MigrationPlanDto): string {
  return `${[`# Plan of migration ${p.migration_id}: ${p.source.vm_name}`, '', ...planSection(p)].join('\n').trimEnd()}\n`;
}
