import {
  Alert,
  Button,
  ExpandableSection,
  Label,
  List,
  ListItem,
  PageSection,
  Title,
  ToggleGroup,
  ToggleGroupItem,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useEffect, useState } from 'react';
import type { Schemas } from '../api/client';
import { api, must } from '../api/client';
import { InlineForm } from '../components/inline-form';
import { useNotify } from '../components/notifications';
import { useLoad } from '../components/use-load';
import { useEvents } from '../live/events';
import { may, useSession } from '../session';

type VmInspection = Schemas['InspectionStatusDto'];
interface Concern {
  code: string;
  severity: string;
  message?: string;
}

/** The VMs of the run this page started, in queue order (kept for a reload; ids only, no secrets). */
const QUEUE_KEY = 'ferry.inspection.queue';
const STATE_COLOR = {
  pending: 'grey',
  running: 'blue',
  completed: 'green',
  canceled: 'orange',
  error: 'red',
  not_found: 'grey',
} as const;

/** Parses the VM ids a user typed: commas, spaces or new lines between them; order kept, repeats dropped. */
export function parseVmIds(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

function concernsOf(results: VmInspection['results']): Concern[] {
  const list = (results as { concerns?: unknown } | undefined)?.concerns;
  return Array.isArray(list) ? (list as Concern[]) : [];
}

/** Seed 000's inspector: start a run against vCenter or local VMs, its per-VM FIFO live, results. */
export function InspectionsView() {
  const { session } = useSession();
  const operator = may(session?.role, 'operator');
  const notify = useNotify();
  const status = useLoad(() => must(api.GET('/api/v1/vms/inspector')));
  const [queue, setQueue] = useState<string[]>(
    () => JSON.parse(sessionStorage.getItem(QUEUE_KEY) ?? '[]') as string[],
  );
  const [states, setStates] = useState<Record<string, VmInspection>>({});

  useEffect(() => {
    sessionStorage.setItem(QUEUE_KEY, JSON.stringify(queue));
    for (const id of queue)
      void api.GET('/api/v1/vms/{id}/inspector', { params: { path: { id } } }).then(({ data }) => {
        if (data) setStates((s) => ({ ...s, [id]: data }));
      });
  }, [queue]);
  useEvents(['ferry.inspector.run.state-changed'], status.reload);
  useEvents(['ferry.inspector.vm.state-changed', 'ferry.inspector.vm.inspected'], (e) => {
    const { vmId } = e.data as { vmId: string };
    if (!queue.includes(vmId)) return;
    void api.GET('/api/v1/vms/{id}/inspector', { params: { path: { id: vmId } } }).then(({ data }) => {
      if (data) setStates((s) => ({ ...s, [vmId]: data }));
    });
  });

  const run = async (call: Promise<{ error?: unknown; response: Response }>, what: string) => {
    try {
      await must(call as Promise<{ data?: unknown; error?: unknown; response: Response }>);
      status.reload();
    } catch (err) {
      notify({ variant: 'danger', title: `Could not ${what}`, body: (err as Error).message });
    }
  };

  return (
    <PageSection>
      <Title headingLevel="h1">
        Inspections {status.data && <Label>{status.data.state}</Label>}{' '}
        {operator && status.data && ['started', 'running'].includes(status.data.state) && (
          <Button
            variant="secondary"
            onClick={() => void run(api.DELETE('/api/v1/vms/inspector'), 'stop the run')}
          >
            Stop the run
          </Button>
        )}
      </Title>
      {status.data?.error && <Alert variant="danger" isInline title={status.data.error} />}
      {operator && <StartInspection onStarted={setQueue} />}
      <Table aria-label="Inspection queue" variant="compact">
        <Thead>
          <Tr>
            <Th>#</Th>
            <Th>VM</Th>
            <Th>State</Th>
            <Th>Concerns</Th>
            {operator && <Th screenReaderText="Actions" />}
          </Tr>
        </Thead>
        <Tbody>
          {queue.map((id, i) => {
            const s = states[id];
            const concerns = concernsOf(s?.results);
            return (
              <Tr key={id}>
                <Td dataLabel="#">{i + 1}</Td>
                <Td dataLabel="VM">{id}</Td>
                <Td dataLabel="State">
                  {s && <Label color={STATE_COLOR[s.state]}>{s.state}</Label>} {s?.error}
                </Td>
                <Td dataLabel="Concerns">
                  {concerns.length > 0 && (
                    <List isPlain>
                      {concerns.map((c) => (
                        <ListItem key={c.code}>
                          <Label
                            color={
                              c.severity === 'blocker' ? 'red' : c.severity === 'warning' ? 'orange' : 'grey'
                            }
                          >
                            {c.code}
                          </Label>{' '}
                          {c.message}
                        </ListItem>
                      ))}
                    </List>
                  )}
                  <InspectionHistory id={id} />
                  {s?.results && (
                    <ExpandableSection toggleText="Facts">
                      <pre style={{ maxHeight: '24rem', overflow: 'auto' }}>
                        {JSON.stringify(s.results, null, 2)}
                      </pre>
                    </ExpandableSection>
                  )}
                </Td>
                {operator && (
                  <Td dataLabel="Actions">
                    {s && (s.state === 'pending' || s.state === 'running') && (
                      <Button
                        variant="secondary"
                        size="sm"
                        onClick={() =>
                          void run(
                            api.DELETE('/api/v1/vms/{id}/inspector', { params: { path: { id } } }),
                            `cancel ${id}`,
                          )
                        }
                      >
                        Cancel
                      </Button>
                    )}
                  </Td>
                )}
              </Tr>
            );
          })}
        </Tbody>
      </Table>
    </PageSection>
  );
}

/** Earlier inspections of a VM, newest first (the first page), read when opened. */
function InspectionHistory({ id }: { id: string }) {
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<Schemas['InspectionHistoryItemDto'][] | null>(null);
  const toggle = (_e: unknown, expanded: boolean) => {
    setOpen(expanded);
    if (expanded)
      void api
        .GET('/api/v1/vms/{id}/inspector/history', { params: { path: { id }, query: { limit: 20 } } })
        .then(({ data }) => setItems(data?.items ?? []));
  };
  return (
    <ExpandableSection toggleText="History" isExpanded={open} onToggle={toggle}>
      <List isPlain>
        {(items ?? []).map((h) => (
          <ListItem key={h.runId}>
            {new Date(h.queuedAt).toLocaleString()} · {h.source} · <Label isCompact>{h.state}</Label>{' '}
            {h.error}
          </ListItem>
        ))}
      </List>
    </ExpandableSection>
  );
}

function StartInspection({ onStarted }: { onStarted(vmIds: string[]): void }) {
  const notify = useNotify();
  const [source, setSource] = useState<'vsphere' | 'local'>('vsphere');
  const [url, setUrl] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [vms, setVms] = useState('');
  const submit = async () => {
    const vmIds = parseVmIds(vms);
    const body =
      source === 'local'
        ? { source: { type: 'local' as const }, vmIds }
        : { VcenterCredentials: { url, username, password }, vmIds };
    try {
      await must(api.POST('/api/v1/vms/inspector', { body }));
      setPassword('');
      onStarted(vmIds);
    } catch (err) {
      notify({ variant: 'danger', title: 'Could not start the inspection', body: (err as Error).message });
    }
  };
  const vcenter =
    source === 'vsphere'
      ? [
          { id: 'vc-url', label: 'vCenter URL', value: url, onChange: setUrl },
          { id: 'vc-user', label: 'User', value: username, onChange: setUsername },
          {
            id: 'vc-password',
            label: 'Password',
            value: password,
            onChange: setPassword,
            type: 'password' as const,
          },
        ]
      : [];
  return (
    <>
      <ToggleGroup aria-label="Inspect">
        <ToggleGroupItem
          text="vCenter VMs"
          isSelected={source === 'vsphere'}
          onChange={() => setSource('vsphere')}
        />
        <ToggleGroupItem
          text="Local VMs"
          isSelected={source === 'local'}
          onChange={() => setSource('local')}
        />
      </ToggleGroup>
      <InlineForm
        label="Start an inspection"
        fields={[...vcenter, { id: 'inspect-vms', label: 'VM ids, in order', value: vms, onChange: setVms }]}
        submitText="Inspect"
        disabled={parseVmIds(vms).length === 0 || (source === 'vsphere' && (!url || !username || !password))}
        onSubmit={submit}
      />
    </>
  );
}
