import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { SourceFatalError } from '../source';
import { httpTransport, VCENTER_UNREACHABLE } from './soap-transport';
import { VcenterPolicy } from './vcenter-policy';

const sdk = (url: string) => new URL(url);
const refusal = (policy: VcenterPolicy, url: string) => policy.check(sdk(url)).catch((e: unknown) => e);

describe('VcenterPolicy', () => {
  it('allows any https vCenter without a list, and refuses http:// unless INSPECTOR_VCENTER_ALLOW_HTTP', async () => {
    const policy = new VcenterPolicy({ allowlist: '', allowHttp: false });
    await expect(policy.check(sdk('https://anything.example:1234/sdk'))).resolves.toBeUndefined();
    const err = await refusal(policy, 'http://vc.example.com/sdk');
    expect(err).toBeInstanceOf(SourceFatalError);
    expect(err).toMatchObject({
      kind: 'refused',
      message: expect.stringContaining('INSPECTOR_VCENTER_ALLOW_HTTP'),
    });
    const lax = new VcenterPolicy({ allowlist: '', allowHttp: true });
    await expect(lax.check(sdk('http://vc.example.com/sdk'))).resolves.toBeUndefined();
    expect(lax.lookup).toBeUndefined();
  });

  it('refuses a vCenter the list does not name, without resolving when only host names are listed', async () => {
    const resolve = jest.fn(async () => ['10.0.0.1']);
    const policy = new VcenterPolicy({ allowlist: 'vc.example.com', allowHttp: false }, resolve);
    await expect(policy.check(sdk('https://VC.example.com:8443/sdk'))).resolves.toBeUndefined();
    for (const url of ['https://other.example.com/sdk', 'https://127.0.0.1:22/sdk', 'https://[::1]/sdk']) {
      expect(await refusal(policy, url)).toMatchObject({
        kind: 'refused',
        message: `vCenter ${sdk(url).hostname} is not in INSPECTOR_VCENTER_ALLOWLIST`,
      });
    }
    expect(resolve).not.toHaveBeenCalled();
  });

  it('resolves a host name for CIDRs: every address must be inside, and one that does not resolve is refused alike', async () => {
    const answers: Record<string, string[]> = {
      'inside.example': ['10.1.1.1', 'fd00::1'],
      'half.example': ['10.1.1.1', '192.168.0.1'],
    };
    const resolve = async (host: string) => {
      const found = answers[host];
      if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return found;
    };
    const policy = new VcenterPolicy({ allowlist: '10.0.0.0/8,fd00::/8', allowHttp: false }, resolve);
    await expect(policy.check(sdk('https://inside.example/sdk'))).resolves.toBeUndefined();
    const half = await refusal(policy, 'https://half.example/sdk');
    const unknown = await refusal(policy, 'https://nowhere.example/sdk');
    expect(half).toMatchObject({
      kind: 'refused',
      message: 'vCenter half.example is not in INSPECTOR_VCENTER_ALLOWLIST',
    });
    expect(unknown).toMatchObject({
      kind: 'refused',
      message: 'vCenter nowhere.example is not in INSPECTOR_VCENTER_ALLOWLIST',
    });
  });

  describe('at the connection', () => {
    let server: Server;
    let port = 0;
    let connections = 0;

    beforeAll(async () => {
      server = createServer((socket) => {
        connections++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));

    const send = (url: URL, policy: VcenterPolicy) =>
      httpTransport(url, {}, policy.lookup)
        .send({ action: 'urn:vim25', body: '<x/>', cookie: null, timeoutMs: 2000 })
        .catch((e: unknown) => e);

    it('refuses a name that resolves elsewhere than it did when checked (DNS rebinding), connecting nowhere', async () => {
      // The check saw 10.0.0.1; the connection's own lookup finds 127.0.0.1 (localhost).
      const policy = new VcenterPolicy({ allowlist: '10.0.0.0/8', allowHttp: true }, async () => [
        '10.0.0.1',
      ]);
      const url = sdk(`http://localhost:${port}/sdk`);
      await policy.check(url);
      const err = await send(url, policy);
      expect(err).toMatchObject({
        kind: 'unreachable',
        message: VCENTER_UNREACHABLE,
        fault: 'EVCENTERNOTALLOWED',
        detail: expect.stringContaining('resolves outside INSPECTOR_VCENTER_ALLOWLIST'),
      });
      expect(connections).toBe(0);
    });

    it('connects to a name whose addresses are all inside', async () => {
      const policy = new VcenterPolicy({ allowlist: '127.0.0.0/8,::1', allowHttp: true });
      const err = await send(sdk(`http://localhost:${port}/sdk`), policy);
      // The server hangs up at once: the connection was made.
      expect(err).toMatchObject({ kind: 'unreachable', message: VCENTER_UNREACHABLE });
      expect(connections).toBe(1);
    });
  });
});
