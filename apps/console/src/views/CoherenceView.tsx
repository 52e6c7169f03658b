import {
  Alert,
  Button,
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  Label,
  PageSection,
  Title,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { api, must } from '../api/client';
import { Sparkline } from '../components/sparkline';
import { useLoad } from '../components/use-load';
import { useEvents } from '../live/events';
import { may, useSession } from '../session';

const ISSUE_EVENTS = [
  'ferry.observer.issue.opened',
  'ferry.observer.issue.resolved',
  'ferry.observer.issue.repaired',
];

/** The observer: whether its sweeps keep their interval (a sparkline), open issues, and repairs. */
export function CoherenceView() {
  const { session } = useSession();
  const status = useLoad(() => must(api.GET('/api/v1/coherence/status')));
  const issues = useLoad(() =>
    must(api.GET('/api/v1/coherence/issues', { params: { query: { open: true, limit: 1000 } } })),
  );
  useEvents(ISSUE_EVENTS, () => {
    issues.reload();
    status.reload();
  });
  const sweep = async () => {
    status.setData(await must(api.POST('/api/v1/coherence/sweep')));
    issues.reload();
  };
  const s = status.data;
  return (
    <>
      <PageSection>
        <Title headingLevel="h1">
          Coherence{' '}
          {s && (
            <Label color={s.keeping_up ? 'green' : 'orange'}>{s.keeping_up ? 'keeping up' : 'behind'}</Label>
          )}{' '}
          <Button variant="link" onClick={status.reload}>
            Refresh
          </Button>
          {may(session?.role, 'admin') && (
            <Button variant="secondary" onClick={() => void sweep()}>
              Sweep now
            </Button>
          )}
        </Title>
        {status.error && <Alert variant="danger" isInline title={status.error} />}
        {s && (
          <DescriptionList isHorizontal isCompact>
            <DescriptionListGroup>
              <DescriptionListTerm>Sweep duration</DescriptionListTerm>
              <DescriptionListDescription>
                <Sparkline
                  values={s.recent_sweeps.map((r) => r.duration_ms)}
                  budget={s.interval_ms}
                  label={`Duration of the last ${s.recent_sweeps.length} sweeps against the ${s.interval_ms} ms interval`}
                />{' '}
                last {s.last_duration_ms ?? '—'} ms of {s.interval_ms} ms
              </DescriptionListDescription>
            </DescriptionListGroup>
            <DescriptionListGroup>
              <DescriptionListTerm>Checked</DescriptionListTerm>
              <DescriptionListDescription>
                {s.checked.vms} VMs, {s.checked.disks} disks{s.skipped ? `, ${s.skipped} skipped (busy)` : ''}
              </DescriptionListDescription>
            </DescriptionListGroup>
            {s.errors.length > 0 && (
              <DescriptionListGroup>
                <DescriptionListTerm>Could not look</DescriptionListTerm>
                <DescriptionListDescription>{s.errors.join('; ')}</DescriptionListDescription>
              </DescriptionListGroup>
            )}
          </DescriptionList>
        )}
      </PageSection>
      <PageSection>
        <Title headingLevel="h2">Open issues</Title>
        {issues.error && <Alert variant="danger" isInline title={issues.error} />}
        <Table aria-label="Open issues" variant="compact">
          <Thead>
            <Tr>
              <Th>Kind</Th>
              <Th>Subject</Th>
              <Th>Expected</Th>
              <Th>Observed</Th>
              <Th>Since</Th>
              <Th>Repair</Th>
            </Tr>
          </Thead>
          <Tbody>
            {(issues.data ?? []).map((i) => (
              <Tr key={i.id}>
                <Td dataLabel="Kind">
                  <Label>{i.kind}</Label>
                </Td>
                <Td dataLabel="Subject">{i.subject}</Td>
                <Td dataLabel="Expected">{i.expected}</Td>
                <Td dataLabel="Observed">{i.observed}</Td>
                <Td dataLabel="Since">{new Date(i.opened_at ?? i.first_seen).toLocaleString()}</Td>
                <Td dataLabel="Repair">{i.repair ? `${i.repair.action}: ${i.repair.outcome}` : ''}</Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
      </PageSection>
    </>
  );
}
