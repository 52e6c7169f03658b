import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SourceFatalError } from '../source';
import { retrieveOne, retrieveProperties } from './property-collector';
import { SoapClient } from './soap-client';
import { SoapFault } from './soap-fault';
import type { SoapRequest, SoapResponse, SoapTransport } from './soap-transport';
import { httpTransport, sdkUrl, sessionCookie } from './soap-transport';
import { parseXml, soapBody } from './soap-xml';

const NS =
  'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const wrap = (inner: string) =>
  `<soapenv:Envelope ${NS}><soapenv:Body>${inner}</soapenv:Body></soapenv:Envelope>`;
const ok = (method: string, inner = '', cookie: string | null = null): SoapResponse => ({
  status: 200,
  cookie,
  body: wrap(`<${method}Response xmlns="urn:vim25">${inner}</${method}Response>`),
});
const notAuthenticated: SoapResponse = {
  status: 500,
  cookie: null,
  body: wrap(
    '<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring/><detail>' +
      '<NotAuthenticatedFault xmlns="urn:vim25" xsi:type="NotAuthenticated"/></detail></soapenv:Fault>',
  ),
};
const SELF = { type: 'ServiceInstance', value: 'ServiceInstance' };

function stub(answer: (method: string, req: SoapRequest) => SoapResponse) {
  const requests: (SoapRequest & { method: string })[] = [];
  const transport: SoapTransport = {
    async send(req) {
      const method = soapBody(parseXml(req.body))!.name;
      requests.push({ ...req, method });
      return answer(method, req);
    },
    close: () => undefined,
  };
  return { client: new SoapClient(transport, 'https://vc/sdk', 1000), requests };
}

describe('SoapClient', () => {
  it('keeps the session cookie and the API version', async () => {
    const { client, requests } = stub((m) => ok(m, '', m === 'Login' ? 'vmware_soap_session="abc"' : null));
    await client.call('RetrieveServiceContent', SELF, '');
    client.setApiVersion('8.0.2.0');
    await client.call('Login', SELF, '');
    await client.call('CurrentTime', SELF, '');
    client.setApiVersion('8.0"; evil');
    await client.call('CurrentTime', SELF, '');
    expect(requests.map((r) => [r.method, r.action, r.cookie])).toEqual([
      ['RetrieveServiceContent', 'urn:vim25', null],
      ['Login', 'urn:vim25/8.0.2.0', null],
      ['CurrentTime', 'urn:vim25/8.0.2.0', 'vmware_soap_session="abc"'],
      ['CurrentTime', 'urn:vim25/8.0.2.0', 'vmware_soap_session="abc"'],
    ]);
    expect(client.loggedIn).toBe(true);
  });

  it('logs in again once on NotAuthenticated and retries, sharing one login between calls', async () => {
    let session = 'old';
    const { client, requests } = stub((m, req) => {
      if (m === 'Login') return ok(m, '', `vmware_soap_session=${(session = 'new')}`);
      return req.cookie === 'vmware_soap_session=new' ? ok(m) : notAuthenticated;
    });
    let logins = 0;
    client.reauthenticate = async () => {
      logins++;
      await client.call('Login', SELF, '', { reauthenticate: false });
    };
    await Promise.all([client.call('A', SELF, ''), client.call('B', SELF, '')]);
    expect(logins).toBe(1);
    expect(session).toBe('new');
    expect(requests.filter((r) => r.method === 'Login')[0]!.cookie).toBeNull();
  });

  it('gives up when the new session is refused too, or when told not to retry', async () => {
    const { client } = stub((m) => (m === 'Login' ? ok(m) : notAuthenticated));
    await expect(client.call('A', SELF, '', { reauthenticate: false })).rejects.toBeInstanceOf(SoapFault);
    client.reauthenticate = async () => {
      await client.call('Login', SELF, '');
    };
    await expect(client.call('A', SELF, '')).rejects.toMatchObject({ faultType: 'NotAuthenticated' });
  });

  it('treats NotAuthenticated in a property’s missingSet (vcsim) like the fault', async () => {
    let loggedIn = false;
    const missing =
      '<returnval><objects><obj type="VirtualMachine">vm-1</obj><missingSet><path>name</path><fault>' +
      '<fault xsi:type="NotAuthenticated"><privilegeId>System.Read</privilegeId></fault></fault></missingSet></objects></returnval>';
    const found =
      '<returnval><objects><obj type="VirtualMachine">vm-1</obj><propSet><name>name</name><val>web</val></propSet></objects></returnval>';
    const { client } = stub((m) => ok(m, m === 'RetrievePropertiesEx' && loggedIn ? found : missing));
    client.reauthenticate = async () => {
      loggedIn = true;
    };
    const content = await retrieveOne(client, SELF, { type: 'VirtualMachine', value: 'vm-1' }, ['name']);
    expect(content!.props.get('name')!.text).toBe('web');
  });

  it('follows ContinueRetrievePropertiesEx tokens', async () => {
    const page = (vm: string, token: string) =>
      `<returnval>${token}<objects><obj type="VirtualMachine">${vm}</obj><propSet><name>name</name><val>${vm}</val></propSet></objects></returnval>`;
    const { client, requests } = stub((m, req) =>
      m === 'RetrievePropertiesEx'
        ? ok(m, page('vm-1', '<token>t1</token>'))
        : ok(
            m,
            req.body.includes('<token>t1</token>') ? page('vm-2', '<token>t2</token>') : page('vm-3', ''),
          ),
    );
    const all = await retrieveProperties(
      client,
      SELF,
      [{ type: 'VirtualMachine', paths: ['name'] }],
      [{ type: 'VirtualMachine', value: 'vm-1' }],
    );
    expect(all.map((o) => o.obj.value)).toEqual(['vm-1', 'vm-2', 'vm-3']);
    expect(requests.map((r) => r.method)).toEqual([
      'RetrievePropertiesEx',
      'ContinueRetrievePropertiesEx',
      'ContinueRetrievePropertiesEx',
    ]);
  });

  it('reports answers that are not SOAP', async () => {
    const html = (status: number) =>
      stub(() => ({ status, cookie: null, body: `<html><body>${status}</body></html>` })).client;
    await expect(html(503).call('A', SELF, '')).rejects.toMatchObject({ kind: 'unreachable' });
    await expect(html(404).call('A', SELF, '')).rejects.toMatchObject({
      kind: 'other',
      message: expect.stringContaining('vSphere SDK URL'),
    });
    await expect(
      stub(() => ({ status: 200, cookie: null, body: 'not xml <' })).client.call('A', SELF, ''),
    ).rejects.toBeInstanceOf(SourceFatalError);
  });
});

describe('httpTransport', () => {
  let server: Server;
  let url: URL;
  const seen: IncomingMessage[] = [];
  let handler: (req: IncomingMessage, res: ServerResponse) => void;

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req);
      req.resume();
      handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/sdk`);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const request = (over: Partial<SoapRequest> = {}): SoapRequest => ({
    action: 'urn:vim25/8.0',
    body: '<x/>',
    cookie: 'vmware_soap_session="s1"',
    timeoutMs: 1000,
    ...over,
  });

  it('posts SOAP with the action and cookie, and picks the session cookie out of Set-Cookie', async () => {
    handler = (_req, res) => {
      res.setHeader('set-cookie', ['other=1; Path=/', 'vmware_soap_session="s2"; Path=/; HttpOnly; Secure']);
      res.end('<ok/>');
    };
    const transport = httpTransport(url);
    const res = await transport.send(request());
    transport.close();
    expect(res).toEqual({ status: 200, body: '<ok/>', cookie: 'vmware_soap_session="s2"' });
    const req = seen.at(-1)!;
    expect([req.method, req.url, req.headers['soapaction'], req.headers['cookie']]).toEqual([
      'POST',
      '/sdk',
      'urn:vim25/8.0',
      'vmware_soap_session="s1"',
    ]);
    expect(req.headers['content-type']).toMatch(/^text\/xml/);
  });

  it('times out as unreachable', async () => {
    handler = () => undefined;
    const transport = httpTransport(url);
    const err = await transport.send(request({ timeoutMs: 50 })).catch((e: unknown) => e);
    transport.close();
    expect(err).toBeInstanceOf(SourceFatalError);
    expect(err).toMatchObject({
      kind: 'unreachable',
      fault: 'Timeout',
      message: 'vCenter unreachable',
      detail: `vCenter at ${url.origin} did not answer within 50 ms`,
    });
  });

  it('rejects with the abort reason when aborted', async () => {
    handler = () => undefined;
    const transport = httpTransport(url);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(transport.send(request({ signal: controller.signal, timeoutMs: 5000 }))).rejects.toThrow(
      'stop',
    );
    transport.close();
  });

  it('reports a refused connection as unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await httpTransport(new URL(`http://127.0.0.1:${port}/sdk`))
      .send(request())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unreachable', fault: 'ECONNREFUSED', message: 'vCenter unreachable' });
    expect((err as SourceFatalError).detail).toContain(`127.0.0.1:${port}`);
  });
});

describe('sdkUrl and sessionCookie', () => {
  it('adds /sdk to a bare URL and drops credentials', () => {
    expect(sdkUrl('https://vc.example.com').href).toBe('https://vc.example.com/sdk');
    expect(sdkUrl('https://u:p@vc:8443/custom/sdk').href).toBe('https://vc:8443/custom/sdk');
  });

  it('finds the session cookie or nothing', () => {
    expect(sessionCookie(undefined)).toBeNull();
    expect(sessionCookie(['a=b'])).toBeNull();
    expect(sessionCookie(['vmware_soap_session=abc; Path=/'])).toBe('vmware_soap_session=abc');
  });
});
