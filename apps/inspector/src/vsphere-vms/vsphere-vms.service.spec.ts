import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { Logger } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import type { FerryClient } from '@ferry/platform';
import { WireKeyPair, loadConfig, sealFor } from '@ferry/platform';
import { freePort } from '@ferry/testing';
import { InspectorConfig } from '../config/inspector.config';
import { SourceFactory } from '../sources/source-factory';
import { VsphereVmsService } from './vsphere-vms.service';

/**
 * What a migration asks of vSphere through the inspector (facts, power), against URLs that are no
 * vCenter: the settings refuse them before any connection, and what cannot be reached tells the
 * caller nothing of why (which would make the inspector a port scanner).
 */
describe('VsphereVmsService and the vCenter URL', () => {
  let tcp: Server;
  let web: Server;
  let connections = 0;
  const logs: unknown[] = [];

  beforeAll(async () => {
    tcp = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    web = createHttpServer((_req, res) => res.writeHead(404).end('not here'));
    await Promise.all(
      [tcp, web].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))),
    );
    const collect = (message: unknown) => logs.push(message);
    Logger.overrideLogger({ log: collect, warn: collect, error: collect, debug: collect, verbose: collect });
  });
  afterAll(async () => {
    Logger.overrideLogger(false);
    await Promise.all([tcp, web].map((s) => new Promise((resolve) => s.close(resolve))));
  });
  beforeEach(() => {
    connections = 0;
    logs.length = 0;
  });

  const wire = new WireKeyPair(randomBytes(32));
  const port = (s: Server) => (s.address() as AddressInfo).port;
  const service = (env: Record<string, string> = {}) => {
    const config = loadConfig(InspectorConfig, { INSPECTOR_VSPHERE_REQUEST_TIMEOUT_MS: '2000', ...env });
    return new VsphereVmsService(new SourceFactory({} as FerryClient, config, wire), config);
  };
  const credentials = (url: string) => ({ url, username: 'admin@vsphere.local', password: 'p4ss-w0rd' });
  const facts = (s: VsphereVmsService, url: string) =>
    s.facts({ VcenterCredentials: credentials(url), vmId: 'vm-1' }).catch((e: unknown) => e);
  const power = (s: VsphereVmsService, url: string) =>
    s
      .power({ VcenterCredentials: credentials(url), vmId: 'vm-1', state: 'poweredOff' })
      .catch((e: unknown) => e);

  it('refuses a vCenter INSPECTOR_VCENTER_ALLOWLIST does not name with 422, connecting nowhere', async () => {
    const s = service({ INSPECTOR_VCENTER_ALLOWLIST: 'vc.example.com,10.0.0.0/8' });
    const url = `https://127.0.0.1:${port(tcp)}/sdk`;
    for (const err of [await facts(s, url), await power(s, url)]) {
      expect(err).toBeInstanceOf(FerryError);
      expect(err).toMatchObject({
        code: 'UNPROCESSABLE',
        message: 'vCenter 127.0.0.1 is not in INSPECTOR_VCENTER_ALLOWLIST',
      });
    }
    expect(connections).toBe(0);
  });

  it('refuses an http:// vCenter with 422 by default, connecting nowhere', async () => {
    const err = await facts(service(), `http://127.0.0.1:${port(tcp)}/sdk`);
    expect(err).toMatchObject({
      code: 'UNPROCESSABLE',
      message: expect.stringContaining('INSPECTOR_VCENTER_ALLOW_HTTP'),
    });
    expect(connections).toBe(0);
  });

  it('answers "vCenter unreachable" alike for a closed port, a server that is no TLS and one that is no vCenter', async () => {
    const lax = service({ INSPECTOR_VCENTER_ALLOW_HTTP: 'true' });
    const closed = await freePort();
    const urls = [
      `https://127.0.0.1:${closed}/sdk`, // ECONNREFUSED
      `https://127.0.0.1:${port(tcp)}/sdk`, // hung up during the TLS handshake
      `http://127.0.0.1:${port(web)}/sdk`, // an HTTP server answering 404
    ];
    for (const url of urls) {
      const err = await facts(lax, url);
      expect(err).toBeInstanceOf(FerryError);
      expect((err as FerryError).toBody()).toEqual({ code: 'UNAVAILABLE', message: 'vCenter unreachable' });
    }
    // The inspector's log keeps why, without the password.
    const logged = JSON.stringify(logs);
    expect(logged).toContain('ECONNREFUSED');
    expect(logged).toContain(`127.0.0.1:${closed}`);
    expect(logged).toContain('HTTP 404');
    expect(logged).not.toContain('p4ss-w0rd');
  });
  it('opens a password sealed for its wire key, and refuses one sealed for another key', async () => {
    const url = `https://127.0.0.1:${await freePort()}/sdk`;
    const sealed = (key: string) => ({
      url,
      username: 'admin@vsphere.local',
      password: sealFor(key, 'p4ss-w0rd'),
    });
    const s = service();
    const opened = (await s
      .facts({ VcenterCredentials: sealed(wire.publicKey), vmId: 'vm-1' })
      .catch((e: unknown) => e)) as FerryError;
    // Past the seal: it tried to reach the (closed) vCenter.
    expect(opened.message).toBe('vCenter unreachable');
    const other = new WireKeyPair(randomBytes(32)).publicKey;
    const refused = (await s
      .facts({ VcenterCredentials: sealed(other), vmId: 'vm-1' })
      .catch((e: unknown) => e)) as FerryError;
    expect(refused).toBeInstanceOf(FerryError);
    expect(refused.code).toBe('UNPROCESSABLE');
    expect(refused.message).toMatch(/sealed for another inspector key/);
  });
});
