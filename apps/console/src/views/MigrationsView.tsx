import {
  Alert,
  Button,
  ExpandableSection,
  Label,
  PageSection,
  ProgressStep,
  ProgressStepper,
  Title,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import { api, must, problemText } from '../api/client';
import { useNotify } from '../components/notifications';
import { useLoad } from '../components/use-load';
import { useEvents } from '../live/events';
import { may, useSession } from '../session';
import type { Migration, Stage } from './migration-model';
import { MIGRATION_EVENTS, applyMigrationEvent, bytesText, stagePercent } from './migration-model';

const STEP_VARIANT = {
  pending: 'pending',
  running: 'info',
  done: 'success',
  skipped: 'default',
  failed: 'danger',
  canceled: 'warning',
} as const;

function StageTimeline({ migration }: { migration: Migration }) {
  return (
    <ProgressStepper isCompact aria-label={`Stages of ${migration.source.vm_name}`}>
      {migration.stages.map((s: Stage) => {
        const percent = stagePercent(s);
        const detail =
          s.state === 'running' && s.progress
            ? `${bytesText(s.progress)}${percent === null ? '' : ` (${percent}%)`}`
            : (s.error ?? undefined);
        return (
          <ProgressStep
            key={s.name}
            id={`${migration.id}-${s.name}`}
            titleId={`${migration.id}-${s.name}-title`}
            variant={STEP_VARIANT[s.state]}
            isCurrent={s.state === 'running'}
            description={detail}
            aria-label={`${s.name}: ${s.state}`}
          >
            {s.name}
          </ProgressStep>
        );
      })}
    </ProgressStepper>
  );
}

/** The plan and fix report (placement, fixes as diffs, blockers), as the gateway renders it in Markdown. */
export function MigrationReport({ id }: { id: string }) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState<string | null>(null);
  const toggle = (_e: unknown, expanded: boolean) => {
    setOpen(expanded);
    if (expanded)
      void api
        .GET('/api/v1/migrations/{id}/report', {
          params: { path: { id } },
          headers: { accept: 'text/markdown' },
          parseAs: 'text',
        })
        .then(({ data, error }) => setText(data ?? problemText(error)));
  };
  return (
    <ExpandableSection toggleText="Plan and fix report" isExpanded={open} onToggle={toggle}>
      <pre style={{ whiteSpace: 'pre-wrap', maxHeight: '32rem', overflow: 'auto' }}>{text ?? 'Loading…'}</pre>
    </ExpandableSection>
  );
}

/** Migrations (seed 001's pipeline) with a stage timeline each, byte progress live, and cutover. */
export function MigrationsView() {
  const { session } = useSession();
  const operator = may(session?.role, 'operator');
  const notify = useNotify();
  const migrations = useLoad(() =>
    must(api.GET('/api/v1/migrations', { params: { query: { limit: 100 } } })),
  );
  useEvents(MIGRATION_EVENTS, (e) => migrations.setData((current) => applyMigrationEvent(current ?? [], e)));

  const cutover = async (m: Migration) => {
    try {
      await must(api.POST('/api/v1/migrations/{id}/cutover', { params: { path: { id: m.id } } }));
    } catch (err) {
      notify({
        variant: 'danger',
        title: `Could not cut over ${m.source.vm_name}`,
        body: (err as Error).message,
      });
    }
  };

  return (
    <PageSection>
      <Title headingLevel="h1">Migrations</Title>
      {migrations.error && <Alert variant="danger" isInline title={migrations.error} />}
      <Table aria-label="Migrations" variant="compact">
        <Thead>
          <Tr>
            <Th>Source VM</Th>
            <Th>Status</Th>
            <Th width={60}>Stages</Th>
            <Th screenReaderText="Actions" />
          </Tr>
        </Thead>
        <Tbody>
          {(migrations.data ?? []).map((m) => (
            <Tr key={m.id}>
              <Td dataLabel="Source VM">
                {m.source.vm_name}
                <div>
                  <small>{m.mode}</small>
                </div>
              </Td>
              <Td dataLabel="Status">
                <Label
                  color={
                    m.status === 'failed' || m.status === 'blocked'
                      ? 'red'
                      : m.status === 'completed'
                        ? 'green'
                        : 'blue'
                  }
                >
                  {m.status}
                </Label>
                {m.error && <div>{m.error.message}</div>}
              </Td>
              <Td dataLabel="Stages">
                <StageTimeline migration={m} />
              </Td>
              <Td dataLabel="Actions">
                <MigrationReport id={m.id} />
                {operator && m.status === 'awaiting_cutover' && (
                  <Button variant="primary" size="sm" onClick={() => void cutover(m)}>
                    Cut over
                  </Button>
                )}
              </Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
    </PageSection>
  );
}
