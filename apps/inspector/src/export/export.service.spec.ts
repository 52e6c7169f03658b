import { Logger } from '@nestjs/common';
import type { FerryError } from '@ferry/contracts';
import { CredentialsCipher, loadConfig } from '@ferry/platform';
import { InspectorConfig } from '../config/inspector.config';
import type { InspectionRunner } from '../runner/inspection-runner';
import type { SourceFactory } from '../sources/source-factory';
import type { SoapRequest, SoapResponse, SoapTransport } from '../sources/vsphere/soap-transport';
import { parseXml, soapBody } from '../sources/vsphere/soap-xml';
import { VsphereSession } from '../sources/vsphere/vsphere-session';
import { ExportReaper } from './export-reaper';
import { ExportSessions } from './export-sessions';
import type { ExportRecord, ExportRepository, NewExport } from './export.repository';
import { ExportService } from './export.service';

const NS =
  'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const reply = (method: string, inner = '', status = 200): SoapResponse => ({
  status,
  cookie: method === 'Login' ? 'vmware_soap_session="abc"' : null,
  body: `<soapenv:Envelope ${NS}><soapenv:Body><${method}Response xmlns="urn:vim25">${inner}</${method}Response></soapenv:Body></soapenv:Envelope>`,
});
const fault = (type: string): SoapResponse => ({
  status: 500,
  cookie: null,
  body: `<soapenv:Envelope ${NS}><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>${type}</faultstring><detail><${type}Fault xmlns="urn:vim25" xsi:type="${type}"/></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
});
const objects = (type: string, value: string, props: Record<string, string>) =>
  reply(
    'RetrievePropertiesEx',
    `<returnval><objects><obj type="${type}">${value}</obj>${Object.entries(props)
      .map(([name, val]) => `<propSet><name>${name}</name>${val}</propSet>`)
      .join('')}</objects></returnval>`,
  );
const SERVICE_CONTENT = reply(
  'RetrieveServiceContent',
  '<returnval><propertyCollector type="PropertyCollector">pc</propertyCollector><sessionManager type="SessionManager">sm</sessionManager><searchIndex type="SearchIndex">si</searchIndex><about><apiVersion>8.0</apiVersion></about></returnval>',
);
const DEVICES =
  '<val xsi:type="ArrayOfVirtualDevice"><VirtualDevice xsi:type="ParaVirtualSCSIController"><key>1000</key><busNumber>0</busNumber></VirtualDevice>' +
  '<VirtualDevice xsi:type="VirtualDisk"><key>2000</key><backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[ds1] web01/web01.vmdk</fileName><diskMode>persistent</diskMode></backing>' +
  '<controllerKey>1000</controllerKey><unitNumber>0</unitNumber><capacityInBytes>1048576</capacityInBytes></VirtualDevice></val>';

/** A vCenter of one powered-on VM (vm-7 in /DC0/vm) whose CreateSnapshot task fails half-way. */
function vcenter(removalFails: boolean) {
  const calls: string[] = [];
  let description = '';
  const answer = (req: SoapRequest): SoapResponse => {
    const body = soapBody(parseXml(req.body))!;
    calls.push(body.name);
    const obj = body.at('specSet', 'objectSet', 'obj')?.text;
    switch (body.name) {
      case 'RetrieveServiceContent':
        return SERVICE_CONTENT;
      case 'Login':
      case 'Logout':
        return reply(body.name);
      case 'CreateSnapshot_Task':
        description = body.str('description') ?? '';
        return reply(body.name, '<returnval type="Task">task-1</returnval>');
      case 'RemoveSnapshot_Task':
        calls.push(`remove ${body.str('_this')}`);
        return removalFails
          ? fault('TaskInProgress')
          : reply(body.name, '<returnval type="Task">task-2</returnval>');
      case 'RetrievePropertiesEx':
        if (obj === 'task-1')
          return objects('Task', 'task-1', {
            info: '<val xsi:type="TaskInfo"><state>error</state><error><fault xsi:type="InvalidPowerState"/><localizedMessage>not now</localizedMessage></error></val>',
          });
        if (obj === 'task-2')
          return objects('Task', 'task-2', { info: '<val xsi:type="TaskInfo"><state>success</state></val>' });
        if (obj === 'group-v1')
          return objects('Folder', obj, {
            name: '<val>vm</val>',
            parent: '<val type="Datacenter">dc-1</val>',
          });
        if (obj === 'dc-1')
          return objects('Datacenter', obj, {
            name: '<val>DC0</val>',
            parent: '<val type="Folder">group-d1</val>',
          });
        if (obj === 'group-d1') return objects('Folder', obj, { name: '<val>Datacenters</val>' });
        if (body.at('specSet', 'propSet', 'pathSet')?.text === 'snapshot')
          // The task left a snapshot behind, as a failing vCenter may.
          return objects('VirtualMachine', 'vm-7', {
            snapshot: `<val xsi:type="VirtualMachineSnapshotInfo"><rootSnapshotList><snapshot type="VirtualMachineSnapshot">snapshot-9</snapshot><name>ferry-export</name><description>${description}</description></rootSnapshotList></val>`,
          });
        return objects('VirtualMachine', 'vm-7', {
          name: '<val>web01</val>',
          parent: '<val type="Folder">group-v1</val>',
          'runtime.powerState': '<val>poweredOn</val>',
          'config.hardware.device': DEVICES,
        });
    }
    throw new Error(`unexpected ${body.name}`);
  };
  const transport: SoapTransport = { send: async (req) => answer(req), close: () => undefined };
  return { calls, transport };
}

/** inspector.exports in memory: the statements the service and the reaper use. */
function memoryExports() {
  const rows = new Map<string, ExportRecord>();
  const repo: Partial<ExportRepository> = {
    insert: async (e: NewExport) => {
      const row: ExportRecord = {
        ...e,
        state: 'open',
        snapshotRef: null,
        leaseExpiresAt: new Date(Date.now() + e.leaseMs),
        lastError: null,
        createdAt: new Date(),
        closedAt: null,
      };
      rows.set(e.id, row);
      return { ...row };
    },
    find: async (id) => (rows.has(id) ? { ...rows.get(id)! } : null),
    snapshotCreated: async () => null,
    markClosed: async (id) => {
      const row = rows.get(id)!;
      Object.assign(row, {
        state: 'closed',
        credentials: null,
        snapshotIntent: 'removed',
        closedAt: new Date(),
      });
      return { ...row };
    },
    closeFailed: async (id, error) => void Object.assign(rows.get(id)!, { lastError: error }),
  };
  return { rows, repo: repo as ExportRepository };
}

function service(removalFails: boolean) {
  const vc = vcenter(removalFails);
  const config = loadConfig(InspectorConfig, {});
  const factory = {
    vsphereSession: (creds) =>
      new VsphereSession(
        creds,
        { caFile: '', insecure: false, requestTimeoutMs: 1000, taskTimeoutMs: 1000 },
        { log: () => undefined, warn: () => undefined, debug: () => undefined },
        { transport: vc.transport, taskPollMs: { first: 1, max: 5 } },
      ),
  } as Pick<SourceFactory, 'vsphereSession'> as SourceFactory;
  const runner = { replicaId: 'replica-1', addRecovery: () => undefined } as unknown as InspectionRunner;
  const cipher = new CredentialsCipher('');
  const { rows, repo } = memoryExports();
  const sessions = new ExportSessions(factory, cipher);
  const reaper = new ExportReaper(repo, sessions, runner, config);
  const exports = new ExportService(repo, sessions, reaper, runner, factory, cipher, config);
  return { ...vc, rows, exports };
}

const request = {
  VcenterCredentials: { url: 'https://vc.example.com', username: 'admin', password: 'secret' },
  vmId: 'vm-7',
};

describe('ExportService.open when the snapshot fails', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('removes what the task left (found by name and description), closes the export and answers the fault', async () => {
    const { exports, calls, rows } = service(false);
    const err = (await exports.open(request).catch((e: unknown) => e)) as FerryError;
    expect(err).toMatchObject({
      code: 'UNPROCESSABLE',
      message: expect.stringContaining('InvalidPowerState'),
    });
    const [row] = [...rows.values()];
    expect(row).toMatchObject({
      state: 'closed',
      credentials: null,
      snapshotIntent: 'removed',
      snapshotDescription: `ferry export ${row!.id}`,
    });
    expect(calls.slice(calls.indexOf('CreateSnapshot_Task'))).toEqual([
      'CreateSnapshot_Task',
      'RetrievePropertiesEx', // the task: failed
      'RetrievePropertiesEx', // the VM's snapshots: ours is there
      'RemoveSnapshot_Task',
      'remove snapshot-9',
      'RetrievePropertiesEx', // the removal's task: done
      'Logout',
    ]);
  });

  it('keeps the export open with the removal’s error when the snapshot cannot be removed either', async () => {
    const { exports, calls, rows } = service(true);
    const err = (await exports.open(request).catch((e: unknown) => e)) as FerryError;
    expect(err).toMatchObject({
      code: 'UNPROCESSABLE',
      message: expect.stringContaining('InvalidPowerState'),
    });
    expect(calls).toContain('remove snapshot-9');
    const [row] = [...rows.values()];
    expect(row).toMatchObject({ state: 'open', lastError: expect.stringContaining('TaskInProgress') });
    expect(row!.credentials).not.toBeNull();
    expect(calls).not.toContain('Logout');
  });
});
