import {
  Alert,
  Button,
  ExpandableSection,
  Label,
  LabelGroup,
  PageSection,
  Title,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import type { Schemas } from '../api/client';
import { api, must } from '../api/client';
import { InlineForm } from '../components/inline-form';
import { useNotify } from '../components/notifications';
import { useLoad } from '../components/use-load';
import { useEvents } from '../live/events';
import { may, useSession } from '../session';
import { factsByCategory, parseTraits, valueText } from './host-model';

type Host = Schemas['HostDto'];
const HOST_EVENTS = [
  'ferry.host-capability.host.registered',
  'ferry.host-capability.host.status-changed',
  'ferry.host-capability.host.deleted',
  'ferry.host-capability.capabilities.changed',
];

/** Seed 003's hosts: status, traits, every fact with its source, the version history, refresh, placement. */
export function HostsView() {
  const { session } = useSession();
  const notify = useNotify();
  const hosts = useLoad(() => must(api.GET('/api/v1/hosts', { params: { query: { limit: 1000 } } })));
  const [open, setOpen] = useState<string | null>(null);
  useEvents(HOST_EVENTS, hosts.reload);
  const refresh = async (h: Host) => {
    try {
      await must(
        api.POST('/api/v1/hosts/{hostId}/capabilities/refresh', { params: { path: { hostId: h.id } } }),
      );
    } catch (err) {
      notify({ variant: 'danger', title: `Could not refresh ${h.name}`, body: (err as Error).message });
    }
  };
  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Hosts</Title>
        {hosts.error && <Alert variant="danger" isInline title={hosts.error} />}
        <Table aria-label="Hosts" variant="compact">
          <Thead>
            <Tr>
              <Th>Name</Th>
              <Th>Status</Th>
              <Th>Traits</Th>
              <Th>Discovered</Th>
              <Th screenReaderText="Actions" />
            </Tr>
          </Thead>
          <Tbody>
            {(hosts.data ?? []).map((h) => (
              <Tr key={h.id}>
                <Td dataLabel="Name">
                  {h.name} <small>{h.uri}</small>
                </Td>
                <Td dataLabel="Status">
                  <Label color={h.status === 'ready' ? 'green' : h.status === 'discovering' ? 'blue' : 'red'}>
                    {h.refreshing ? 'refreshing' : h.status}
                  </Label>{' '}
                  {h.status_reason}
                </Td>
                <Td dataLabel="Traits">
                  <LabelGroup numLabels={4}>
                    {h.traits.map((t) => (
                      <Label key={t} isCompact>
                        {t}
                      </Label>
                    ))}
                  </LabelGroup>
                </Td>
                <Td dataLabel="Discovered">
                  {h.last_discovered_at ? new Date(h.last_discovered_at).toLocaleString() : '—'}
                  {h.capability_version !== null && ` (v${h.capability_version})`}
                </Td>
                <Td dataLabel="Actions">
                  <Button variant="link" onClick={() => setOpen(open === h.id ? null : h.id)}>
                    {open === h.id ? 'Hide facts' : 'Facts and history'}
                  </Button>
                  {may(session?.role, 'operator') && (
                    <Button variant="secondary" size="sm" onClick={() => void refresh(h)}>
                      Refresh
                    </Button>
                  )}
                </Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
        {open && <HostFacts hostId={open} />}
      </PageSection>
      <PageSection>
        <Placement />
      </PageSection>
    </>
  );
}

function HostFacts({ hostId }: { hostId: string }) {
  const facts = useLoad(
    () =>
      must(
        api.GET('/api/v1/hosts/{hostId}/capabilities', {
          params: { path: { hostId }, query: { view: 'facts' } },
        }),
      ),
    [hostId],
  );
  const history = useLoad(
    () => must(api.GET('/api/v1/hosts/{hostId}/capabilities/history', { params: { path: { hostId } } })),
    [hostId],
  );
  useEvents(['ferry.host-capability.capabilities.changed'], () => {
    facts.reload();
    history.reload();
  });
  const snapshot = facts.data as { data?: unknown } | undefined;
  return (
    <>
      {facts.error && <Alert variant="warning" isInline title={facts.error} />}
      {[...factsByCategory(snapshot?.data).entries()].map(([category, rows]) => (
        <ExpandableSection key={category} toggleText={`${category} (${rows.length})`}>
          <Table aria-label={`${category} facts`} variant="compact">
            <Thead>
              <Tr>
                <Th>Fact</Th>
                <Th>Value</Th>
                <Th>Source</Th>
              </Tr>
            </Thead>
            <Tbody>
              {rows.map((r) => (
                <Tr key={r.path}>
                  <Td dataLabel="Fact">{r.path}</Td>
                  <Td dataLabel="Value">{r.value}</Td>
                  <Td dataLabel="Source">
                    {r.source}
                    {r.reason && <div>{r.reason}</div>}
                  </Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        </ExpandableSection>
      ))}
      <ExpandableSection toggleText="Version history">
        {(history.data?.versions ?? []).map((v) => (
          <div key={v.version}>
            <strong>
              v{v.version} · {new Date(v.discovered_at).toLocaleString()}
            </strong>
            <ul>
              {v.changes.map((c) => (
                <li key={c.path}>
                  {c.path}: {valueText((c.from as { value?: unknown } | null)?.value)} →{' '}
                  {valueText((c.to as { value?: unknown } | null)?.value)}
                </li>
              ))}
              {v.traits_added.map((t) => (
                <li key={`+${t}`}>trait added: {t}</li>
              ))}
              {v.traits_removed.map((t) => (
                <li key={`-${t}`}>trait removed: {t}</li>
              ))}
            </ul>
          </div>
        ))}
      </ExpandableSection>
    </>
  );
}

/** Which hosts could take a VM, and why each other one could not. */
function Placement() {
  const notify = useNotify();
  const [required, setRequired] = useState('');
  const [vcpus, setVcpus] = useState('1');
  const [memory, setMemory] = useState('1024');
  const [result, setResult] = useState<Schemas['PlacementResultDto'] | null>(null);
  const ask = async () => {
    try {
      setResult(
        await must(
          api.POST('/api/v1/placement/candidates', {
            body: {
              required: parseTraits(required),
              resources: { VCPU: Number(vcpus), MEMORY_MB: Number(memory) },
            },
          }),
        ),
      );
    } catch (err) {
      notify({ variant: 'danger', title: 'Placement refused the query', body: (err as Error).message });
    }
  };
  return (
    <>
      <Title headingLevel="h2">Placement</Title>
      <InlineForm
        label="Placement query"
        fields={[
          { id: 'place-traits', label: 'Required traits', value: required, onChange: setRequired },
          { id: 'place-vcpus', label: 'vCPUs', value: vcpus, onChange: setVcpus, type: 'number' },
          { id: 'place-memory', label: 'Memory (MB)', value: memory, onChange: setMemory, type: 'number' },
        ]}
        submitText="Find hosts"
        disabled={false}
        onSubmit={ask}
      />
      {result && (
        <Table aria-label="Placement result" variant="compact">
          <Thead>
            <Tr>
              <Th>Host</Th>
              <Th>Verdict</Th>
            </Tr>
          </Thead>
          <Tbody>
            {result.candidates.map((c) => (
              <Tr key={c.host_id}>
                <Td dataLabel="Host">{c.host_name}</Td>
                <Td dataLabel="Verdict">
                  <Label color="green">candidate</Label> score {c.score}
                </Td>
              </Tr>
            ))}
            {result.rejected.map((r) => (
              <Tr key={r.host_id ?? r.host_name}>
                <Td dataLabel="Host">{r.host_name}</Td>
                <Td dataLabel="Verdict">
                  <Label color="red">rejected</Label> {r.reasons.join('; ')}
                </Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
      )}
    </>
  );
}
