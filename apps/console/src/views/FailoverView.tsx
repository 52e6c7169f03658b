import {
  Alert,
  Button,
  Label,
  List,
  ListItem,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  PageSection,
  Progress,
  ProgressMeasureLocation,
  ProgressVariant,
  Title,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import { api, must } from '../api/client';
import { InlineForm } from '../components/inline-form';
import { useNotify } from '../components/notifications';
import { useLoad } from '../components/use-load';
import { useEvents } from '../live/events';
import { may, useSession } from '../session';
import type { Job } from './failover-model';
import {
  FAILOVER_EVENTS,
  applyEvent,
  canClean,
  canResume,
  cleanupConsequences,
  latestPerVm,
  progressOf,
} from './failover-model';

const STATUS_COLOR: Record<Job['status'], 'grey' | 'blue' | 'green' | 'red' | 'orange'> = {
  pending: 'grey',
  running: 'blue',
  test_active: 'green',
  cleanup_running: 'blue',
  cleanup_completed: 'grey',
  failed: 'red',
  cleanup_failed: 'red',
};

/**
 * Seed 002's test failover and its one-click cleanup: each VM's latest job with a progress bar fed by
 * the job's step-changed events, the cleanup button behind a confirmation that says what will
 * happen, a notification when it completes, and on `cleanup_failed` the per-volume report with its
 * exact action and a resume button.
 */
export function FailoverView() {
  const { session } = useSession();
  const operator = may(session?.role, 'operator');
  const notify = useNotify();
  const jobs = useLoad(() => must(api.GET('/api/v1/failover/jobs', { params: { query: { limit: 200 } } })));
  const [confirming, setConfirming] = useState<Job | null>(null);

  useEvents(FAILOVER_EVENTS, (event) => {
    jobs.setData((current) => applyEvent(current ?? [], event));
    if (event.type !== 'ferry.cleanup.job.status-changed') return;
    const { to, job } = event.data as { to: Job['status']; job: Job };
    if (to === 'cleanup_completed')
      notify({
        variant: 'success',
        title: `Cleanup of ${job.vm_name} completed`,
        body: `${job.test_vm_name} is gone; every volume is back on ${job.appliance_vm_name}.`,
      });
    if (to === 'cleanup_failed')
      notify({
        variant: 'danger',
        title: `Cleanup of ${job.vm_name} failed`,
        body: 'The report below says where each volume is and what to do; then resume the cleanup.',
      });
    if (to === 'test_active')
      notify({
        variant: 'info',
        title: `${job.test_vm_name} is running`,
        body: 'The test failover is active.',
      });
  });

  const cleanup = async (job: Job) => {
    setConfirming(null);
    try {
      await must(
        api.POST('/api/v1/failover/cleanup/{vm_name}', {
          params: { path: { vm_name: job.vm_name } },
          body: {},
        }),
      );
    } catch (err) {
      notify({
        variant: 'danger',
        title: `Could not start the cleanup of ${job.vm_name}`,
        body: (err as Error).message,
      });
    }
  };
  const resume = async (job: Job) => {
    try {
      await must(api.POST('/api/v1/failover/jobs/{id}/resume', { params: { path: { id: job.id } } }));
    } catch (err) {
      notify({
        variant: 'danger',
        title: `Could not resume ${job.vm_name}'s cleanup`,
        body: (err as Error).message,
      });
    }
  };

  const rows = latestPerVm(jobs.data ?? []);
  return (
    <PageSection>
      <Title headingLevel="h1">Failover</Title>
      {jobs.error && <Alert variant="danger" isInline title={jobs.error} />}
      {operator && <StartFailover />}
      <Table aria-label="Failover jobs" variant="compact">
        <Thead>
          <Tr>
            <Th>VM</Th>
            <Th>Status</Th>
            <Th>Test VM</Th>
            <Th width={30}>Progress</Th>
            {operator && <Th screenReaderText="Actions" />}
          </Tr>
        </Thead>
        <Tbody>
          {rows.map((job) => (
            <JobRow
              key={job.id}
              job={job}
              operator={operator}
              onCleanup={() => setConfirming(job)}
              onResume={() => void resume(job)}
            />
          ))}
        </Tbody>
      </Table>
      {confirming && (
        <Modal isOpen variant="small" onClose={() => setConfirming(null)} aria-labelledby="cleanup-title">
          <ModalHeader
            title={`Clean up the test failover of ${confirming.vm_name}?`}
            labelId="cleanup-title"
            titleIconVariant="warning"
          />
          <ModalBody>
            <List>
              {cleanupConsequences(confirming).map((line) => (
                <ListItem key={line}>{line}</ListItem>
              ))}
            </List>
          </ModalBody>
          <ModalFooter>
            <Button variant="danger" onClick={() => void cleanup(confirming)}>
              Clean up
            </Button>
            <Button variant="link" onClick={() => setConfirming(null)}>
              Cancel
            </Button>
          </ModalFooter>
        </Modal>
      )}
    </PageSection>
  );
}

function JobRow({
  job,
  operator,
  onCleanup,
  onResume,
}: {
  job: Job;
  operator: boolean;
  onCleanup(): void;
  onResume(): void;
}) {
  const p = progressOf(job);
  const label = p.current ? `${p.phase}: ${p.current.name}` : `${p.phase}: ${p.finished} of ${p.total} steps`;
  return (
    <>
      <Tr data-testid={`job-${job.vm_name}`}>
        <Td dataLabel="VM">{job.vm_name}</Td>
        <Td dataLabel="Status">
          <Label color={STATUS_COLOR[job.status]} data-testid="job-status">
            {job.status}
          </Label>
        </Td>
        <Td dataLabel="Test VM">{job.test_vm_name}</Td>
        <Td dataLabel="Progress">
          <Progress
            value={p.percent}
            title={label}
            size="sm"
            measureLocation={ProgressMeasureLocation.outside}
            variant={
              p.failed ? ProgressVariant.danger : p.percent === 100 ? ProgressVariant.success : undefined
            }
            aria-label={`${job.vm_name} ${label}`}
            data-testid="job-progress"
            data-phase={p.phase}
          />
        </Td>
        {operator && (
          <Td dataLabel="Actions">
            {canClean(job) && (
              <Button variant="danger" size="sm" onClick={onCleanup}>
                Cleanup
              </Button>
            )}
            {canResume(job) && (
              <Button variant="primary" size="sm" onClick={onResume}>
                Resume cleanup
              </Button>
            )}
          </Td>
        )}
      </Tr>
      {job.status === 'cleanup_failed' && job.error && (
        <Tr>
          <Td colSpan={operator ? 5 : 4}>
            <Alert variant="danger" isInline isPlain title={job.error.message} data-testid="cleanup-report">
              <Table
                aria-label={`What to do about ${job.vm_name}'s volumes`}
                variant="compact"
                borders={false}
              >
                <Thead>
                  <Tr>
                    <Th>Volume</Th>
                    <Th>Where it is</Th>
                    <Th>What to do</Th>
                  </Tr>
                </Thead>
                <Tbody>
                  {(job.error.volumes ?? []).map((v) => (
                    <Tr key={v.volume_id}>
                      <Td dataLabel="Volume">{v.volume_name}</Td>
                      <Td dataLabel="Where it is">{v.where}</Td>
                      <Td dataLabel="What to do">{v.action}</Td>
                    </Tr>
                  ))}
                </Tbody>
              </Table>
            </Alert>
          </Td>
        </Tr>
      )}
    </>
  );
}

function StartFailover() {
  const notify = useNotify();
  const [vm, setVm] = useState('');
  const [template, setTemplate] = useState('');
  const submit = async () => {
    try {
      await must(
        api.POST('/api/v1/failover/test/{vm_name}', {
          params: { path: { vm_name: vm.trim() } },
          body: template.trim() ? { template: template.trim() } : {},
        }),
      );
      setVm('');
    } catch (err) {
      notify({
        variant: 'danger',
        title: `Could not start a test failover of ${vm}`,
        body: (err as Error).message,
      });
    }
  };
  return (
    <InlineForm
      label="Test failover"
      fields={[
        { id: 'failover-vm', label: 'Source VM', value: vm, onChange: setVm },
        { id: 'failover-template', label: 'Template', value: template, onChange: setTemplate },
      ]}
      submitText="Test failover"
      disabled={vm.trim() === ''}
      onSubmit={submit}
    />
  );
}
