import { SoapClient } from './soap-client';
import { SoapFault } from './soap-fault';
import type { SoapRequest, SoapResponse, SoapTransport } from './soap-transport';
import { parseXml, soapBody } from './soap-xml';
import { TaskWaitError, waitForTask } from './task-waiter';

const COLLECTOR = { type: 'PropertyCollector', value: 'propertyCollector' };
const TASK = { type: 'Task', value: 'task-7' };
const NS =
  'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';

const respond = (method: string, inner: string): SoapResponse => ({
  status: 200,
  cookie: null,
  body: `<soapenv:Envelope ${NS}><soapenv:Body><${method}Response xmlns="urn:vim25">${inner}</${method}Response></soapenv:Body></soapenv:Envelope>`,
});

const fault = (type: string): SoapResponse => ({
  status: 500,
  cookie: null,
  body:
    `<soapenv:Envelope ${NS}><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring/>` +
    `<detail><${type}Fault xmlns="urn:vim25" xsi:type="${type}"/></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
});

const info = (inner: string) =>
  respond(
    'RetrievePropertiesEx',
    `<returnval><objects><obj type="Task">task-7</obj><propSet><name>info</name><val xsi:type="TaskInfo"><key>task-7</key>${inner}</val></propSet></objects></returnval>`,
  );

/** A transport that answers task polls from a script (the last entry repeats) and records calls. */
function scripted(polls: SoapResponse[]) {
  const calls: string[] = [];
  let i = 0;
  const transport: SoapTransport = {
    async send(req: SoapRequest) {
      const method = soapBody(parseXml(req.body))!.name;
      calls.push(method);
      if (method === 'CancelTask') return respond('CancelTask', '');
      return polls[Math.min(i++, polls.length - 1)]!;
    },
    close: () => undefined,
  };
  return { client: new SoapClient(transport, 'https://vc/sdk', 1000), calls };
}

const fast = { first: 1, max: 5 };

describe('waitForTask', () => {
  it('polls through queued and running, reports progress, and returns the result', async () => {
    const { client, calls } = scripted([
      info('<state>queued</state>'),
      info('<state>running</state><progress>10</progress>'),
      info('<state>running</state><progress>10</progress>'),
      info('<state>running</state><progress>55</progress>'),
      info(
        '<state>success</state><result xsi:type="ManagedObjectReference" type="VirtualMachineSnapshot">snapshot-9</result>',
      ),
    ]);
    const progress: number[] = [];
    const result = await waitForTask(client, COLLECTOR, TASK, 'CreateSnapshot_Task', {
      timeoutMs: 5000,
      pollMs: fast,
      onProgress: (p) => progress.push(p),
    });
    expect(result!.moRef()).toEqual({ type: 'VirtualMachineSnapshot', value: 'snapshot-9' });
    expect(progress).toEqual([10, 55]);
    expect(calls).toEqual(Array(5).fill('RetrievePropertiesEx'));
  });

  it('returns null for a task without a result', async () => {
    const { client } = scripted([info('<state>success</state>')]);
    await expect(
      waitForTask(client, COLLECTOR, TASK, 'RemoveSnapshot_Task', { timeoutMs: 1000 }),
    ).resolves.toBeNull();
  });

  it('throws the task’s fault', async () => {
    const { client } = scripted([
      info('<state>running</state>'),
      info(
        '<state>error</state><error><fault xsi:type="InvalidPowerState"><existingState>suspended</existingState></fault>' +
          '<localizedMessage>The attempted operation cannot be performed in the current state (Suspended).</localizedMessage></error>',
      ),
    ]);
    const err = await waitForTask(client, COLLECTOR, TASK, 'CreateSnapshot_Task', {
      timeoutMs: 1000,
      pollMs: fast,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SoapFault);
    expect(err).toMatchObject({ faultType: 'InvalidPowerState', method: 'CreateSnapshot_Task' });
    expect((err as SoapFault).detail!.str('existingState')).toBe('suspended');
  });

  it('gives up at the deadline and asks vSphere to cancel the task', async () => {
    const { client, calls } = scripted([info('<state>running</state><progress>3</progress>')]);
    const started = Date.now();
    await expect(
      waitForTask(client, COLLECTOR, TASK, 'RemoveSnapshot_Task', {
        timeoutMs: 60,
        pollMs: { first: 10, max: 20 },
      }),
    ).rejects.toThrow(new TaskWaitError('RemoveSnapshot_Task did not finish within 60 ms (task task-7)'));
    expect(Date.now() - started).toBeLessThan(1000);
    await new Promise((r) => setImmediate(r));
    expect(calls.at(-1)).toBe('CancelTask');
  });

  it('stops at once on abort, with the signal’s reason', async () => {
    const { client, calls } = scripted([info('<state>running</state>')]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('run canceled')), 30);
    await expect(
      waitForTask(client, COLLECTOR, TASK, 'CreateSnapshot_Task', {
        timeoutMs: 60_000,
        signal: controller.signal,
        pollMs: { first: 10_000, max: 10_000 },
      }),
    ).rejects.toThrow('run canceled');
    expect(calls).not.toContain('CancelTask');
  });

  it('reports a task that vanished', async () => {
    const { client } = scripted([fault('ManagedObjectNotFound')]);
    await expect(
      waitForTask(client, COLLECTOR, TASK, 'CreateSnapshot_Task', { timeoutMs: 1000 }),
    ).rejects.toBeInstanceOf(TaskWaitError);
  });
});
