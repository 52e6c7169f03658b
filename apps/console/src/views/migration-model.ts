import type { Schemas } from '../api/client';
import type { FerryEvent } from '../live/events';

export type Migration = Schemas['MigrationDto'];
export type Stage = Migration['stages'][number];
export type StageProgress = NonNullable<Stage['progress']>;

export const MIGRATION_EVENTS = [
  'ferry.cleanup.migration.created',
  'ferry.cleanup.migration.stage-changed',
  'ferry.cleanup.migration.progress',
  'ferry.cleanup.migration.completed',
  'ferry.cleanup.migration.failed',
  'ferry.cleanup.migration.canceled',
  'ferry.cleanup.migration.status-changed',
] as const;

function replaceStage(m: Migration, stage: Stage): Migration {
  return { ...m, stages: m.stages.map((s) => (s.name === stage.name ? stage : s)) };
}

/** The migrations after one event: whole migrations replace theirs; stages, progress and status patch. */
export function applyMigrationEvent(migrations: readonly Migration[], event: FerryEvent): Migration[] {
  const data = event.data as Record<string, unknown>;
  if ('migration' in data) {
    const m = data['migration'] as Migration;
    return migrations.some((x) => x.id === m.id)
      ? migrations.map((x) => (x.id === m.id ? m : x))
      : [m, ...migrations];
  }
  const id = data['id'] as string;
  return migrations.map((m) => {
    if (m.id !== id) return m;
    switch (event.type) {
      case 'ferry.cleanup.migration.stage-changed':
        return { ...replaceStage(m, data['stage'] as Stage), status: data['status'] as Migration['status'] };
      case 'ferry.cleanup.migration.progress': {
        const stage = m.stages.find((s) => s.name === data['stage']);
        return stage ? replaceStage(m, { ...stage, progress: data['progress'] as StageProgress }) : m;
      }
      case 'ferry.cleanup.migration.status-changed':
        return { ...m, status: data['to'] as Migration['status'] };
      default:
        return m;
    }
  });
}

/** A stage's share of its bytes, 0–100, when it moves bytes and knows how many. */
export function stagePercent(stage: Stage): number | null {
  const p = stage.progress;
  if (!p || !p.bytes_total) return null;
  return Math.min(100, Math.round((p.bytes_done / p.bytes_total) * 100));
}

const GIB = 1024 ** 3;

/** `1.2 of 8.0 GiB` for a stage that moves bytes. */
export function bytesText(p: StageProgress): string {
  const done = (p.bytes_done / GIB).toFixed(1);
  return p.bytes_total ? `${done} of ${(p.bytes_total / GIB).toFixed(1)} GiB` : `${done} GiB`;
}
