import {
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  ExpandableSection,
  Label,
  List,
  ListItem,
  Title,
} from '@patternfly/react-core';
import { Caption, Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useEffect, useState } from 'react';
import type { Schemas } from '../api/client';
import { api } from '../api/client';
import type { Results } from './inspection-results';
import { resultsView } from './inspection-results';

type VmResults = Schemas['InspectionStatusDto']['results'];
interface Concern {
  code: string;
  severity: string;
  message?: string;
  subject?: string;
}

const SEVERITY_COLOR: Record<string, 'red' | 'orange' | 'grey'> = { blocker: 'red', warning: 'orange' };

function concernsOf(results: VmResults | null): Concern[] {
  const list = (results as { concerns?: unknown } | null | undefined)?.concerns;
  return Array.isArray(list) ? (list as Concern[]) : [];
}

/**
 * One VM of the queue, opened: its concerns, its facts laid out (vSphere's, the image files', the
 * guest's), every fact as JSON, and its earlier inspections. Read when opened, again once completed.
 */
export function InspectionDetails({ id, completed }: { id: string; completed: boolean }) {
  const [results, setResults] = useState<VmResults | null>(null);
  const [history, setHistory] = useState<Schemas['InspectionHistoryItemDto'][] | null>(null);
  useEffect(() => {
    if (completed)
      void api
        .GET('/api/v1/vms/{id}/inspector', { params: { path: { id } } })
        .then(({ data }) => setResults(data?.results ?? null));
    void api
      .GET('/api/v1/vms/{id}/inspector/history', { params: { path: { id }, query: { limit: 20 } } })
      .then(({ data }) => setHistory(data?.items ?? []));
  }, [id, completed]);

  const concerns = concernsOf(results);
  const view = resultsView(results as Results | null);
  return (
    // Width 0 and at least the cell's: the details take the row's width, never widen the queue's table.
    <div
      data-testid={`inspection-details-${id}`}
      style={{ width: 0, minWidth: '100%', overflowWrap: 'anywhere' }}
    >
      {concerns.length > 0 && (
        <List isPlain aria-label={`Concerns of ${id}`}>
          {concerns.map((c) => (
            <ListItem key={`${c.code}:${c.subject ?? ''}`}>
              <Label color={SEVERITY_COLOR[c.severity] ?? 'grey'}>{c.code}</Label> {c.message}
            </ListItem>
          ))}
        </List>
      )}
      {view.summary.length > 0 && (
        <DescriptionList isHorizontal isCompact columnModifier={{ default: '1Col', xl: '2Col' }}>
          {view.summary.map(([term, value]) => (
            <DescriptionListGroup key={term}>
              <DescriptionListTerm>{term}</DescriptionListTerm>
              <DescriptionListDescription>{value}</DescriptionListDescription>
            </DescriptionListGroup>
          ))}
        </DescriptionList>
      )}
      {view.tables.map((t) => (
        <Table key={t.title} aria-label={`${t.title} of ${id}`} variant="compact">
          <Caption>{t.title}</Caption>
          <Thead>
            <Tr>
              {t.columns.map((c) => (
                <Th key={c}>{c}</Th>
              ))}
            </Tr>
          </Thead>
          <Tbody>
            {t.rows.map((row, r) => (
              <Tr key={r}>
                {row.map((cell, c) => (
                  <Td key={c} dataLabel={t.columns[c]} modifier="breakWord">
                    {cell}
                  </Td>
                ))}
              </Tr>
            ))}
          </Tbody>
        </Table>
      ))}
      {results && (
        <ExpandableSection toggleText="Every fact (JSON)">
          <pre style={{ maxHeight: '24rem', overflow: 'auto' }}>{JSON.stringify(results, null, 2)}</pre>
        </ExpandableSection>
      )}
      <Title headingLevel="h3" size="md">
        History
      </Title>
      <List isPlain aria-label={`Inspections of ${id}`}>
        {(history ?? []).map((h) => (
          <ListItem key={h.runId}>
            {new Date(h.queuedAt).toLocaleString()} · {h.source} · <Label isCompact>{h.state}</Label>{' '}
            {h.error}
          </ListItem>
        ))}
      </List>
    </div>
  );
}
