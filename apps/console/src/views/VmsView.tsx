import { Alert, Button, Label, PageSection, Title } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import type { Schemas } from '../api/client';
import { api, must } from '../api/client';
import { InlineForm } from '../components/inline-form';
import { useNotify } from '../components/notifications';
import { useLoad } from '../components/use-load';
import { useEvents } from '../live/events';
import { may, useSession } from '../session';

type Vm = Schemas['VmDto'];
type Template = Schemas['TemplateDto'];
type Action = 'start' | 'stop' | 'restart';

const VM_EVENTS = [
  'ferry.vm-operator.vm.created',
  'ferry.vm-operator.vm.state-changed',
  'ferry.vm-operator.vm.address-changed',
  'ferry.vm-operator.vm.deleted',
  'ferry.vm-operator.vm.device-attached',
  'ferry.vm-operator.vm.device-detached',
];
const DISK_EVENTS = ['ferry.volume-daemon.disk.attached', 'ferry.volume-daemon.disk.detached'];
const TEMPLATE_EVENTS = ['ferry.vm-operator.template.created', 'ferry.vm-operator.template.deleted'];

/** Each VM's attached disks by name, from volume-daemon's records (a disk names the VM it is on). */
export function disksByVm(
  disks: readonly Pick<Schemas['DiskDto'], 'name' | 'vm_id'>[],
): Map<string, string[]> {
  const byVm = new Map<string, string[]>();
  for (const d of disks) if (d.vm_id) byVm.set(d.vm_id, [...(byVm.get(d.vm_id) ?? []), d.name]);
  return byVm;
}

/** Which actions a VM in `state` takes (the gateway answers 409 to the others). */
export function actionsFor(state: Vm['state']): Action[] {
  if (state === 'running') return ['stop', 'restart'];
  if (state === 'stopped' || state === 'error') return ['start'];
  return [];
}

const STATE_COLOR = {
  running: 'green',
  stopped: 'grey',
  error: 'red',
  starting: 'blue',
  stopping: 'blue',
} as const;

/** VMs (state, actions, address, last error) and the templates they are made from; live. */
export function VmsView() {
  const { session } = useSession();
  const operator = may(session?.role, 'operator');
  const notify = useNotify();
  const vms = useLoad(() => must(api.GET('/api/v1/vms', { params: { query: { limit: 1000 } } })));
  const disks = useLoad(() => must(api.GET('/api/v1/disks', { params: { query: { limit: 1000 } } })));
  useEvents(DISK_EVENTS, disks.reload);
  const disksOf = disksByVm(disks.data ?? []);
  const templates = useLoad(() => must(api.GET('/api/v1/templates', { params: { query: { limit: 1000 } } })));
  useEvents(VM_EVENTS, vms.reload);
  useEvents(TEMPLATE_EVENTS, templates.reload);

  const act = async (vm: Vm, action: Action) => {
    try {
      await must(api.POST('/api/v1/vms/{id}/actions/{action}', { params: { path: { id: vm.id, action } } }));
    } catch (err) {
      notify({ variant: 'danger', title: `Could not ${action} ${vm.name}`, body: (err as Error).message });
    }
  };

  return (
    <>
      <PageSection>
        <Title headingLevel="h1">VMs</Title>
        {vms.error && <Alert variant="danger" isInline title={vms.error} />}
        {operator && <CreateVm templates={templates.data ?? []} />}
        <Table aria-label="VMs" variant="compact">
          <Thead>
            <Tr>
              <Th>Name</Th>
              <Th>State</Th>
              <Th>Template</Th>
              <Th>Disks</Th>
              <Th>Address</Th>
              <Th>Last error</Th>
              {operator && <Th screenReaderText="Actions" />}
            </Tr>
          </Thead>
          <Tbody>
            {(vms.data ?? []).map((vm) => (
              <Tr key={vm.id} data-testid={`vm-${vm.name}`}>
                <Td dataLabel="Name">{vm.name}</Td>
                <Td dataLabel="State">
                  <Label color={STATE_COLOR[vm.state]}>{vm.state}</Label>
                </Td>
                <Td dataLabel="Template">{vm.template}</Td>
                <Td dataLabel="Disks">{(disksOf.get(vm.id) ?? []).join(', ')}</Td>
                <Td dataLabel="Address">{vm.local_ip ?? '—'}</Td>
                <Td dataLabel="Last error">{vm.last_error ?? ''}</Td>
                {operator && (
                  <Td dataLabel="Actions">
                    {actionsFor(vm.state).map((a) => (
                      <Button key={a} variant="secondary" size="sm" onClick={() => void act(vm, a)}>
                        {a[0]!.toUpperCase() + a.slice(1)}
                      </Button>
                    ))}
                  </Td>
                )}
              </Tr>
            ))}
          </Tbody>
        </Table>
      </PageSection>
      <PageSection>
        <Title headingLevel="h2">Templates</Title>
        {operator && <CreateTemplate />}
        <Table aria-label="Templates" variant="compact">
          <Thead>
            <Tr>
              <Th>Name</Th>
              <Th>vCPUs</Th>
              <Th>Memory (MiB)</Th>
            </Tr>
          </Thead>
          <Tbody>
            {(templates.data ?? []).map((t: Template) => (
              <Tr key={t.name}>
                <Td dataLabel="Name">{t.name}</Td>
                <Td dataLabel="vCPUs">{t.cpu_count}</Td>
                <Td dataLabel="Memory (MiB)">{t.ram_amount}</Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
      </PageSection>
    </>
  );
}

function CreateTemplate() {
  const notify = useNotify();
  const [name, setName] = useState('');
  const [cpus, setCpus] = useState('1');
  const [ram, setRam] = useState('256');
  const submit = async () => {
    try {
      const body = { name, cpu_count: Number(cpus), ram_amount: Number(ram) };
      await must(api.POST('/api/v1/templates', { body }));
      setName('');
    } catch (err) {
      notify({ variant: 'danger', title: 'Could not create the template', body: (err as Error).message });
    }
  };
  return (
    <InlineForm
      label="New template"
      fields={[
        { id: 'template-name', label: 'Template name', value: name, onChange: setName },
        { id: 'template-cpus', label: 'vCPUs', value: cpus, onChange: setCpus, type: 'number' },
        { id: 'template-ram', label: 'Memory (MiB)', value: ram, onChange: setRam, type: 'number' },
      ]}
      submitText="Create template"
      disabled={name.trim() === ''}
      onSubmit={submit}
    />
  );
}

function CreateVm({ templates }: { templates: Template[] }) {
  const notify = useNotify();
  const [name, setName] = useState('');
  const [template, setTemplate] = useState('');
  const submit = async () => {
    try {
      await must(api.POST('/api/v1/vms', { body: { name, template } }));
      setName('');
    } catch (err) {
      notify({ variant: 'danger', title: 'Could not create the VM', body: (err as Error).message });
    }
  };
  return (
    <InlineForm
      label="New VM"
      fields={[
        { id: 'vm-name', label: 'VM name', value: name, onChange: setName },
        {
          id: 'vm-template',
          label: 'From template',
          value: template,
          onChange: setTemplate,
          suggestions: templates.map((t) => t.name),
        },
      ]}
      submitText="Create VM"
      disabled={name.trim() === '' || template.trim() === ''}
      onSubmit={submit}
    />
  );
}
