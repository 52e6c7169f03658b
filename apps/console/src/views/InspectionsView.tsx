import {
  Alert,
  Button,
  Label,
  PageSection,
  Title,
  ToggleGroup,
  ToggleGroupItem,
} from '@patternfly/react-core';
import { ExpandableRowContent, Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Schemas } from '../api/client';
import { api, must } from '../api/client';
import { InlineForm } from '../components/inline-form';
import { useNotify } from '../components/notifications';
import { useLoad } from '../components/use-load';
import { useEvents } from '../live/events';
import { may, useSession } from '../session';
import type { InspectionQueue, QueueFilter, VmEvent } from './inspection-model';
import { applyVmEvent, parseVmIds, replayEvents, vmEventOf } from './inspection-model';
import { InspectionDetails } from './InspectionDetails';

const FIRST_PAGE = 100;
/** At most this many rows are read again at once when the queue must be reloaded. */
const RELOAD_MAX = 1000;
const FILTERS: QueueFilter[] = ['all', 'pending', 'running', 'completed', 'canceled', 'error'];
const STATE_COLOR = {
  pending: 'grey',
  running: 'blue',
  completed: 'green',
  canceled: 'orange',
  error: 'red',
  not_found: 'grey',
} as const;

/**
 * Seed 000's inspector: start a run against vCenter or local VMs; its per-VM FIFO (whoever started
 * it) from `GET /vms/inspector/queue`, page by page, patched live by the VMs' events; each VM's
 * results and history read when opened.
 */
export function InspectionsView() {
  const { session } = useSession();
  const operator = may(session?.role, 'operator');
  const notify = useNotify();
  const status = useLoad(() => must(api.GET('/api/v1/vms/inspector')));
  const [filter, setFilter] = useState<QueueFilter>('all');
  const [queue, setQueue] = useState<InspectionQueue | null>(null);
  const [more, setMore] = useState(false);
  const [opened, setOpened] = useState<ReadonlySet<string>>(new Set());
  const toggleOpen = (vmId: string) =>
    setOpened((o) => {
      const next = new Set(o);
      if (!next.delete(vmId)) next.add(vmId);
      return next;
    });
  // The rows as last shown, for events that arrive between two renders.
  const current = useRef<InspectionQueue | null>(null);
  const show = (q: InspectionQueue) => {
    current.current = q;
    setQueue(q);
  };
  const reloading = useRef<ReturnType<typeof setTimeout> | null>(null);
  // Reads under way, and the VM events that arrived meanwhile: a read may predate them.
  const reads = useRef(0);
  const missed = useRef<VmEvent[]>([]);

  const load = useCallback(
    async (cursor?: string) => {
      const shown = current.current?.items.length ?? 0;
      const limit = cursor ? FIRST_PAGE : Math.min(RELOAD_MAX, Math.max(FIRST_PAGE, shown));
      const query = { limit, ...(cursor ? { cursor } : {}), ...(filter === 'all' ? {} : { state: filter }) };
      reads.current++;
      let page: InspectionQueue;
      try {
        page = await must(api.GET('/api/v1/vms/inspector/queue', { params: { query } }));
      } finally {
        reads.current--;
      }
      const before = current.current;
      const rows = cursor && before ? { ...page, items: [...before.items, ...page.items] } : page;
      const replayed = replayEvents(rows, missed.current, filter);
      if (reads.current === 0) missed.current = [];
      show(replayed.queue);
      if (replayed.reload) reloadRef.current();
    },
    [filter],
  );
  useEffect(() => {
    current.current = null;
    load().catch((err: Error) =>
      notify({ variant: 'danger', title: 'Could not read the queue', body: err.message }),
    );
  }, [load, notify]);
  // A start queues thousands of VMs at once: their events ask for one reload, not one each.
  const reload = useCallback(() => {
    if (reloading.current) return;
    reloading.current = setTimeout(() => {
      reloading.current = null;
      void load().catch(() => undefined);
    }, 300);
  }, [load]);
  const reloadRef = useRef(reload);
  reloadRef.current = reload;
  useEffect(() => () => clearTimeout(reloading.current ?? undefined), []);

  useEvents(['ferry.inspector.run.state-changed'], () => {
    status.reload();
    reload();
  });
  useEvents(['ferry.inspector.vm.state-changed', 'ferry.inspector.vm.inspected'], (e) => {
    const event = vmEventOf(e.type, e.data);
    if (!event) return;
    if (reads.current > 0) missed.current.push(event);
    if (!current.current) return;
    const next = applyVmEvent(current.current, event, filter);
    if (next === 'reload') reload();
    else if (next !== current.current) show(next);
  });

  const run = async (call: Promise<{ error?: unknown; response: Response }>, what: string) => {
    try {
      await must(call as Promise<{ data?: unknown; error?: unknown; response: Response }>);
      status.reload();
    } catch (err) {
      notify({ variant: 'danger', title: `Could not ${what}`, body: (err as Error).message });
    }
  };
  const loadMore = async () => {
    if (!queue?.next_cursor) return;
    setMore(true);
    try {
      await load(queue.next_cursor);
    } catch (err) {
      notify({ variant: 'danger', title: 'Could not read the queue', body: (err as Error).message });
    } finally {
      setMore(false);
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
      {operator && <StartInspection onStarted={reload} />}
      <Title headingLevel="h2" size="lg">
        Queue{' '}
        {queue?.runId && (
          <small>
            run {queue.runId.slice(0, 8)} · {queue.source} · {queue.state}
          </small>
        )}
      </Title>
      <ToggleGroup aria-label="Show VMs">
        {FILTERS.map((f) => (
          <ToggleGroupItem key={f} text={f} isSelected={filter === f} onChange={() => setFilter(f)} />
        ))}
      </ToggleGroup>
      <Table aria-label="Inspection queue" variant="compact">
        <Thead>
          <Tr>
            <Th screenReaderText="Details" />
            <Th>#</Th>
            <Th>VM</Th>
            <Th>State</Th>
            <Th>Concerns</Th>
            {operator && <Th screenReaderText="Actions" />}
          </Tr>
        </Thead>
        {(queue?.items ?? []).map((item, i) => {
          const isOpen = opened.has(item.vmId);
          return (
            <Tbody key={item.vmId} isExpanded={isOpen}>
              <Tr>
                {/* The toggle is named by the VM cell (PatternFly labels it by `simple-node<row>`). */}
                <Td
                  expand={{
                    rowIndex: i,
                    isExpanded: isOpen,
                    onToggle: () => toggleOpen(item.vmId),
                    expandId: 'inspection-toggle',
                  }}
                />
                <Td dataLabel="#">{i + 1}</Td>
                <Td dataLabel="VM" id={`simple-node${i}`}>
                  {item.vmId}
                </Td>
                <Td dataLabel="State">
                  <Label color={STATE_COLOR[item.state]}>{item.state}</Label> {item.error}
                </Td>
                <Td dataLabel="Concerns">{item.concerns && <ConcernCountLabels counts={item.concerns} />}</Td>
                {operator && (
                  <Td dataLabel="Actions">
                    {(item.state === 'pending' || item.state === 'running') && (
                      <Button
                        variant="secondary"
                        size="sm"
                        aria-label={`Cancel ${item.vmId}`}
                        onClick={() =>
                          void run(
                            api.DELETE('/api/v1/vms/{id}/inspector', { params: { path: { id: item.vmId } } }),
                            `cancel ${item.vmId}`,
                          )
                        }
                      >
                        Cancel
                      </Button>
                    )}
                  </Td>
                )}
              </Tr>
              <Tr isExpanded={isOpen}>
                <Td colSpan={operator ? 6 : 5}>
                  {isOpen && (
                    <ExpandableRowContent>
                      <InspectionDetails id={item.vmId} completed={item.state === 'completed'} />
                    </ExpandableRowContent>
                  )}
                </Td>
              </Tr>
            </Tbody>
          );
        })}
      </Table>
      {queue && queue.items.length === 0 && (
        <p>{queue.runId ? 'No VM in this state.' : 'Nothing inspected yet.'}</p>
      )}
      {queue?.next_cursor && (
        <Button variant="link" isLoading={more} onClick={() => void loadMore()}>
          Show more
        </Button>
      )}
    </PageSection>
  );
}

function ConcernCountLabels({ counts }: { counts: Schemas['ConcernCountsDto'] }) {
  if (counts.blocker + counts.warning + counts.info === 0) return <>none</>;
  return (
    <>
      {counts.blocker > 0 && <Label color="red">{counts.blocker} blocking</Label>}{' '}
      {counts.warning > 0 && (
        <Label color="orange">
          {counts.warning} warning{counts.warning === 1 ? '' : 's'}
        </Label>
      )}{' '}
      {counts.info > 0 && (
        <Label color="grey">
          {counts.info} note{counts.info === 1 ? '' : 's'}
        </Label>
      )}
    </>
  );
}

function StartInspection({ onStarted }: { onStarted(): void }) {
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
      onStarted();
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
