import { inspect } from 'node:util';
import type { OpenedSource } from '@ferry/qemu';
import type { DiskInspection, VmDiskInspection } from '../../deep/vm-disk-inspector';
import { SourceFatalError, VmInspectionError } from '../source';
import type { BaseDisk } from './base-disks';
import type { SoapRequest, SoapResponse, SoapTransport } from './soap-transport';
import { parseXml, soapBody } from './soap-xml';
import { VcenterPolicy } from './vcenter-policy';
import type { VsphereSourceConfig, VsphereSourceOptions } from './vsphere-source';
import { VsphereSource } from './vsphere-source';

const PASSWORD = 's3cr&t<pw>';
const NS =
  'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const wrap = (inner: string) =>
  `<soapenv:Envelope ${NS}><soapenv:Body>${inner}</soapenv:Body></soapenv:Envelope>`;
const ok = (method: string, inner = ''): SoapResponse => ({
  status: 200,
  cookie: method === 'Login' ? 'vmware_soap_session=abc' : null,
  body: wrap(`<${method}Response xmlns="urn:vim25">${inner}</${method}Response>`),
});
const fault = (type: string, message = ''): SoapResponse => ({
  status: 500,
  cookie: null,
  body: wrap(
    `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>${message}</faultstring>` +
      `<detail><${type}Fault xmlns="urn:vim25" xsi:type="${type}"/></detail></soapenv:Fault>`,
  ),
});
const SERVICE_CONTENT = ok(
  'RetrieveServiceContent',
  '<returnval><rootFolder type="Folder">group-d1</rootFolder><propertyCollector type="PropertyCollector">propertyCollector</propertyCollector>' +
    '<about><apiVersion>8.0.2.0</apiVersion></about><sessionManager type="SessionManager">SessionManager</sessionManager>' +
    '<searchIndex type="SearchIndex">SearchIndex</searchIndex></returnval>',
);
const task = (method: string) => ok(method, '<returnval type="Task">task-1</returnval>');
const taskInfo = (inner: string) =>
  ok(
    'RetrievePropertiesEx',
    `<returnval><objects><obj type="Task">task-1</obj><propSet><name>info</name><val xsi:type="TaskInfo">${inner}</val></propSet></objects></returnval>`,
  );

type Answer = SoapResponse | ((req: SoapRequest) => SoapResponse);

/** A vCenter made of canned answers per method; records every request. */
function vcenter(answers: Record<string, Answer>) {
  const requests: { method: string; body: string }[] = [];
  const transport: SoapTransport = {
    async send(req) {
      const method = soapBody(parseXml(req.body))!.name;
      requests.push({ method, body: req.body });
      const answer =
        answers[method] ??
        { RetrieveServiceContent: SERVICE_CONTENT, Login: ok('Login'), Logout: ok('Logout') }[method];
      if (!answer) throw new Error(`unexpected ${method}`);
      return typeof answer === 'function' ? answer(req) : answer;
    },
    close: () => undefined,
  };
  const logs: unknown[] = [];
  const logger = {
    log: (m: unknown) => logs.push(m),
    warn: (m: unknown) => logs.push(m),
    debug: (m: unknown) => logs.push(m),
  };
  const config: VsphereSourceConfig = {
    caFile: '',
    insecure: false,
    requestTimeoutMs: 1000,
    taskTimeoutMs: 1000,
  };
  const source = (over: Partial<VsphereSourceConfig> = {}, deep: Partial<VsphereSourceOptions> = {}) =>
    new VsphereSource(
      { url: 'https://vc.example.com', username: 'admin@vsphere.local', password: PASSWORD },
      { ...config, ...over },
      logger,
      {
        transport,
        taskPollMs: { first: 1, max: 5 },
        ...deep,
      },
    );
  return { requests, logs, source };
}

const signal = () => AbortSignal.timeout(5000);

describe('VsphereSource', () => {
  it('logs in with the escaped password and never shows it', async () => {
    const vc = vcenter({
      Login: fault('InvalidLogin', 'Cannot complete login due to an incorrect user name or password.'),
    });
    const source = vc.source();
    const err = await source.open(signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceFatalError);
    expect(err).toMatchObject({ kind: 'auth', fault: 'InvalidLogin' });
    expect(vc.requests.map((r) => r.method)).toEqual(['RetrieveServiceContent', 'Login']);
    expect(vc.requests[1]!.body).toContain('<password>s3cr&amp;t&lt;pw&gt;</password>');
    const shown =
      JSON.stringify([String(err), (err as Error).stack, vc.logs, source]) +
      inspect(source, { showHidden: true });
    expect(shown).not.toContain('s3cr');
  });

  it('asks nothing of a vCenter its policy refuses', async () => {
    const vc = vcenter({});
    const policy = new VcenterPolicy({ allowlist: '10.0.0.0/8', allowHttp: false }, async () => [
      '192.0.2.1',
    ]);
    const err = await vc
      .source({ policy })
      .open(signal())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      kind: 'refused',
      message: 'vCenter vc.example.com is not in INSPECTOR_VCENTER_ALLOWLIST',
    });
    expect(vc.requests).toEqual([]);
  });

  it('tells the caller no more than "vCenter unreachable" of an answer that is no vSphere SDK\'s', async () => {
    const vc = vcenter({ RetrieveServiceContent: { status: 404, cookie: null, body: '<html>nginx</html>' } });
    const err = await vc
      .source()
      .open(signal())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unreachable', message: 'vCenter unreachable' });
    expect(JSON.stringify(vc.logs)).toContain('HTTP 404');
  });

  it('reports an unreadable CA file as fatal', async () => {
    await expect(vcenter({}).source({ caFile: '/nonexistent/ca.pem' }).open(signal())).rejects.toMatchObject({
      kind: 'other',
      message: expect.stringContaining('/nonexistent/ca.pem'),
    });
  });

  it('creates a snapshot without memory or quiescing and returns its ref', async () => {
    const vc = vcenter({
      CreateSnapshot_Task: task('CreateSnapshot_Task'),
      RetrievePropertiesEx: taskInfo(
        '<state>success</state><result type="VirtualMachineSnapshot" xsi:type="ManagedObjectReference">snapshot-5</result>',
      ),
    });
    const source = vc.source();
    await source.open(signal());
    await expect(
      source.createSnapshot('vm-42', 'assisted-migration-deep-inspector', 'run <1> & co', signal()),
    ).resolves.toEqual({
      moref: 'vm-42',
      snapshot: 'snapshot-5',
    });
    const body = vc.requests.find((r) => r.method === 'CreateSnapshot_Task')!.body;
    expect(body).toContain(
      '<_this type="VirtualMachine">vm-42</_this><name>assisted-migration-deep-inspector</name>',
    );
    expect(body).toContain(
      '<description>run &lt;1&gt; &amp; co</description><memory>false</memory><quiesce>false</quiesce>',
    );
  });

  it('turns a task fault (InvalidPowerState) into a failure of that VM', async () => {
    const vc = vcenter({
      CreateSnapshot_Task: task('CreateSnapshot_Task'),
      RetrievePropertiesEx: taskInfo(
        '<state>error</state><error><fault xsi:type="InvalidPowerState"/><localizedMessage>The attempted operation cannot be performed in the current state (Suspended).</localizedMessage></error>',
      ),
    });
    const source = vc.source();
    await source.open(signal());
    const err = await source.createSnapshot('vm-42', 'n', 'd', signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VmInspectionError);
    expect((err as Error).message).toBe(
      'snapshot creation of VM vm-42 failed: InvalidPowerState: The attempted operation cannot be performed in the current state (Suspended).',
    );
  });

  it('fails the VM when its task outlives INSPECTOR_VSPHERE_TASK_TIMEOUT_MS', async () => {
    const vc = vcenter({
      CreateSnapshot_Task: task('CreateSnapshot_Task'),
      RetrievePropertiesEx: taskInfo('<state>running</state><progress>40</progress>'),
      CancelTask: ok('CancelTask'),
    });
    const source = vc.source();
    await source.open(signal());
    await expect(source.createSnapshot('vm-42', 'n', 'd', signal())).rejects.toThrow(
      /VM vm-42 failed: CreateSnapshot_Task did not finish within 1000 ms/,
    );
    expect(vc.logs).toContainEqual(
      expect.objectContaining({ msg: 'task progress', percent: 40, vmId: 'vm-42' }),
    );
  });

  it('maps ManagedObjectNotFound to "VM not found"', async () => {
    const vc = vcenter({
      CreateSnapshot_Task: fault('ManagedObjectNotFound', 'The object has already been deleted'),
    });
    const source = vc.source();
    await source.open(signal());
    await expect(source.createSnapshot('vm-42', 'n', 'd', signal())).rejects.toThrow(
      new VmInspectionError('VM vm-42 not found'),
    );
  });

  it('removes with consolidation, and takes a snapshot that is gone as removed', async () => {
    const vc = vcenter({ RemoveSnapshot_Task: fault('ManagedObjectNotFound') });
    const source = vc.source();
    await source.open(signal());
    await source.removeSnapshot('vm-42', { moref: 'vm-42', snapshot: 'snapshot-5' }, 'n', 'd');
    expect(vc.requests.at(-1)!.body).toContain(
      '<_this type="VirtualMachineSnapshot">snapshot-5</_this><removeChildren>false</removeChildren><consolidate>true</consolidate>',
    );
  });

  it('fails a removal that vSphere refuses', async () => {
    const vc = vcenter({
      RemoveSnapshot_Task: fault('TaskInProgress', 'Another task is already in progress.'),
    });
    const source = vc.source();
    await source.open(signal());
    await expect(
      source.removeSnapshot('vm-42', { moref: 'vm-42', snapshot: 'snapshot-5' }, 'n', 'd'),
    ).rejects.toThrow(
      new VmInspectionError(
        'snapshot removal of VM vm-42 failed: TaskInProgress: Another task is already in progress.',
      ),
    );
  });

  it('stops the source when the session expires and the new login is refused', async () => {
    let logins = 0;
    const vc = vcenter({
      Login: () => (++logins === 1 ? ok('Login') : fault('InvalidLogin')),
      CreateSnapshot_Task: fault('NotAuthenticated'),
    });
    const source = vc.source();
    await source.open(signal());
    await expect(source.createSnapshot('vm-42', 'n', 'd', signal())).rejects.toMatchObject({
      name: 'SourceFatalError',
      kind: 'auth',
      fault: 'InvalidLogin',
    });
    expect(logins).toBe(2);
  });

  it('close() logs out, and never throws', async () => {
    const vc = vcenter({
      Logout: () => {
        throw new Error('socket hang up');
      },
    });
    const source = vc.source();
    await source.close();
    await source.open(signal());
    await expect(source.close()).resolves.toBeUndefined();
    expect(vc.requests.at(-1)!.method).toBe('Logout');
  });

  describe('with deep inspection', () => {
    // A VM whose tools vSphere sees installed (VMWARE_TOOLS info), on one pvscsi disk.
    const VM_CONTENT = ok(
      'RetrievePropertiesEx',
      '<returnval><objects><obj type="VirtualMachine">vm-42</obj>' +
        '<propSet><name>name</name><val xsi:type="xsd:string">web01</val></propSet>' +
        '<propSet><name>guest.toolsStatus</name><val xsi:type="VirtualMachineToolsStatus">toolsOk</val></propSet>' +
        '</objects></returnval>',
    );
    const BASE: BaseDisk = {
      key: '2000',
      label: 'Hard disk 1',
      fileName: '[ds1] web01/web01.vmdk',
      url: 'https://vc.example.com/folder/web01/web01.vmdk?dcPath=DC0&dsName=ds1',
      unreadable: null,
    };
    const stubs = (found: Partial<VmDiskInspection> = {}) => {
      const disks: jest.Mocked<DiskInspection> = {
        check: jest.fn().mockResolvedValue(undefined),
        inspect: jest.fn().mockResolvedValue({ disks: [], guest: null, guests: [], concerns: [], ...found }),
      };
      const close = jest.fn().mockResolvedValue(undefined);
      const openSource = jest.fn().mockResolvedValue({
        image: 'nbd+unix:///?socket=/tmp/x/image.sock',
        format: 'raw',
        virtualSizeBytes: 1,
        layers: [],
        close,
      } satisfies OpenedSource);
      return { disks, openSource, close };
    };

    it('checks the tools before logging in, and a missing one stops the source (no session is left)', async () => {
      const vc = vcenter({});
      const { disks, openSource } = stubs();
      disks.check.mockRejectedValue(new Error('spawn guestfish ENOENT'));
      const source = vc.source({ deepInspection: 'virt-inspector' }, { disks, openSource });
      await expect(source.open(signal())).rejects.toMatchObject({
        name: 'SourceFatalError',
        kind: 'other',
        message: expect.stringMatching(/spawn guestfish ENOENT .*INSPECTOR_DEEP_INSPECTION=first-pass/),
      });
      expect(vc.requests).toEqual([]);
    });

    it('gives the guest and its concerns beside vSphere’s; the guest’s VMWARE_TOOLS replaces vSphere’s', async () => {
      const vc = vcenter({ RetrievePropertiesEx: VM_CONTENT });
      const { disks, openSource, close } = stubs({
        guest: { root: '/dev/sda2' } as VmDiskInspection['guest'],
        concerns: [
          { code: 'FSTAB_BY_PATH', severity: 'blocker', message: 'by-path', subject: 'x /data' },
          { code: 'VMWARE_TOOLS', severity: 'warning', message: 'files', subject: '/dev/sda2' },
        ],
      });
      const source = vc.source({ deepInspection: 'virt-inspector' }, { disks, openSource });
      await source.open(signal());
      const results = await source.inspect(
        '/DC0/vm/web01',
        { moref: 'vm-42', snapshot: 's-1', disks: [BASE] },
        signal(),
      );
      expect(openSource).toHaveBeenCalledWith(
        expect.objectContaining({ kind: 'http', url: BASE.url }),
        expect.objectContaining({ timeoutMs: expect.any(Number) }),
      );
      expect(close).toHaveBeenCalled();
      expect(results.guest).toEqual({ root: '/dev/sda2' });
      expect(results.concerns.map((c) => [c.code, c.severity])).toEqual([
        ['FSTAB_BY_PATH', 'blocker'],
        ['VMWARE_TOOLS', 'warning'],
      ]);
    });

    it('says so when the ref names no disk files (no snapshot of its own), and reads nothing', async () => {
      const vc = vcenter({ RetrievePropertiesEx: VM_CONTENT });
      const { disks, openSource } = stubs();
      const source = vc.source({ deepInspection: 'virt-inspector' }, { disks, openSource });
      await source.open(signal());
      const results = await source.inspect('/DC0/vm/web01', { moref: 'vm-42', snapshot: 's-1' }, signal());
      expect(openSource).not.toHaveBeenCalled();
      expect(results).toMatchObject({ disks: [], guest: null });
      expect(results.concerns.map((c) => [c.code, c.severity])).toEqual([
        ['DEEP_INSPECTION_FAILED', 'warning'],
        ['VMWARE_TOOLS', 'info'],
      ]);
    });

    it('is off with first-pass: vSphere’s facts alone, as before', async () => {
      const vc = vcenter({ RetrievePropertiesEx: VM_CONTENT });
      const { disks, openSource } = stubs();
      const source = vc.source({ deepInspection: 'first-pass' }, { disks, openSource });
      await source.open(signal());
      const results = await source.inspect(
        '/DC0/vm/web01',
        { moref: 'vm-42', snapshot: 's-1', disks: [BASE] },
        signal(),
      );
      expect(disks.check).not.toHaveBeenCalled();
      expect(openSource).not.toHaveBeenCalled();
      expect(results).not.toHaveProperty('guest');
      expect(results).not.toHaveProperty('disks');
    });
  });
});
