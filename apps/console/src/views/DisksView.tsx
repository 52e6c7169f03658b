import {
  Alert,
  ExpandableSection,
  Label,
  List,
  ListItem,
  PageSection,
  Progress,
  Title,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import { api, must } from '../api/client';
import { useLoad } from '../components/use-load';
import { useEvents } from '../live/events';

const DISK_EVENTS = [
  'ferry.volume-daemon.disk.created',
  'ferry.volume-daemon.disk.attached',
  'ferry.volume-daemon.disk.detached',
  'ferry.volume-daemon.disk.deleted',
  'ferry.volume-daemon.disk.state-changed',
  'ferry.volume-daemon.operation.completed',
  'ferry.volume-daemon.operation.failed',
];

const GIB = 1024 ** 3;

/** A volume operation's steps, and where the guest sees the disk once it is attached (correlation). */
function OperationDetails({ id }: { id: string }) {
  const op = useLoad(
    () => must(api.GET('/api/v1/volume-operations/{id}', { params: { path: { id } } })),
    [id],
  );
  useEvents(['ferry.volume-daemon.operation.completed', 'ferry.volume-daemon.operation.failed'], op.reload);
  const o = op.data;
  if (!o) return null;
  return (
    <ExpandableSection toggleText={`${o.type}: ${o.status}`}>
      <List isPlain>
        {o.steps.map((s, i) => (
          <ListItem key={`${s.name}-${i}`}>
            <Label isCompact color={s.status === 'failed' ? 'red' : s.status === 'done' ? 'green' : 'grey'}>
              {s.status}
            </Label>{' '}
            {s.name}
            {s.detail ? `: ${s.detail}` : ''}
          </ListItem>
        ))}
      </List>
      {o.correlation && (
        <div>
          The guest sees it as {o.correlation.by_id_path} ({o.correlation.address}
          {o.correlation.live ? ', hot-plugged' : ''})
        </div>
      )}
      {o.error && <Alert variant="danger" isInline isPlain title={o.error.message} />}
    </ExpandableSection>
  );
}

/** Disks with their state and VM, and the byte progress of operations running on them; live. */
export function DisksView() {
  const disks = useLoad(() => must(api.GET('/api/v1/disks', { params: { query: { limit: 1000 } } })));
  const [progress, setProgress] = useState<Record<string, number>>({});
  useEvents(DISK_EVENTS, disks.reload);
  useEvents(['ferry.volume-daemon.operation.progress'], (e) => {
    const d = e.data as { diskId: string; progress: { percent: number } };
    setProgress((p) => ({ ...p, [d.diskId]: d.progress.percent }));
  });
  return (
    <PageSection>
      <Title headingLevel="h1">Disks</Title>
      {disks.error && <Alert variant="danger" isInline title={disks.error} />}
      <Table aria-label="Disks" variant="compact">
        <Thead>
          <Tr>
            <Th>Name</Th>
            <Th>State</Th>
            <Th>Size</Th>
            <Th>Format</Th>
            <Th>VM</Th>
            <Th>Operation</Th>
            <Th>Last error</Th>
          </Tr>
        </Thead>
        <Tbody>
          {(disks.data ?? []).map((d) => (
            <Tr key={d.id}>
              <Td dataLabel="Name">{d.name}</Td>
              <Td dataLabel="State">
                <Label color={d.state === 'error' ? 'red' : d.state === 'in-use' ? 'green' : 'grey'}>
                  {d.state}
                </Label>
              </Td>
              <Td dataLabel="Size">{(d.size_bytes / GIB).toFixed(1)} GiB</Td>
              <Td dataLabel="Format">{d.format}</Td>
              <Td dataLabel="VM">{d.vm_id ?? '—'}</Td>
              <Td dataLabel="Operation">
                {d.operation_id && (
                  <>
                    {progress[d.id] !== undefined && (
                      <Progress value={progress[d.id]} size="sm" aria-label={`Operation on ${d.name}`} />
                    )}
                    <OperationDetails id={d.operation_id} />
                  </>
                )}
              </Td>
              <Td dataLabel="Last error">{d.last_error ?? ''}</Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
    </PageSection>
  );
}
