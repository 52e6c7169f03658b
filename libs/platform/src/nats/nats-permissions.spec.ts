import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_CALLS, SERVICE_NAMES } from '@ferry/contracts';
import { inboxPrefixOf, natsPermissions, natsPermissionsConf } from './nats-permissions';

const NATS_DIR = join(__dirname, '../../../../deploy/nats');
const read = (file: string) => readFileSync(join(NATS_DIR, file), 'utf8');

describe('NATS permissions', () => {
  it('deploy/nats/permissions.conf is the one generated from the contracts', () => {
    // On a difference: `npm run --silent gen:nats-permissions`, and review what changed.
    expect(read('permissions.conf')).toBe(natsPermissionsConf());
  });

  it('lets a service publish only the requests it calls, its own events and the JetStream API', () => {
    for (const service of SERVICE_NAMES) {
      const other = natsPermissions(service).publish.filter(
        (s) => !(SERVICE_CALLS[service] as readonly string[]).includes(s),
      );
      expect(other.filter((s) => !s.startsWith('$JS.'))).toEqual([`events.${service}.>`]);
      expect(other.filter((s) => s.startsWith('$JS.') && !s.includes('FERRY_EVENTS'))).toEqual([
        '$JS.API.INFO',
      ]);
    }
    expect(natsPermissions('inspector').publish).not.toContain('vm-operator.>');
    expect(natsPermissions('gateway').publish).not.toContain('vm-operator.device.attach');
  });

  it('gives every service an inbox of its own that no other may read', () => {
    for (const service of SERVICE_NAMES) {
      const { subscribe } = natsPermissions(service);
      expect(subscribe).toContain(`${inboxPrefixOf(service)}.>`);
      expect(subscribe.filter((s) => s.startsWith('_INBOX'))).toEqual([`_INBOX_${service}.>`]);
    }
    expect(natsPermissionsConf()).not.toMatch(/"_INBOX\.>"/);
  });

  it('nats.conf binds monitoring to the loopback and includes TLS, the cluster and the users', () => {
    const conf = read('nats.conf');
    expect(conf).toMatch(/^http: 127\.0\.0\.1:8222$/m);
    expect(conf).not.toMatch(/^http_port:/m);
    for (const file of ['tls.conf', 'cluster.conf', 'permissions.conf'])
      expect(conf).toMatch(new RegExp(`^include \\./${file.replace('.', '\\.')}$`, 'm'));
    expect(read('tls.conf')).toMatch(/cert_file: \/etc\/nats\/tls\/server\.pem/);
    const cluster = read('cluster.conf');
    expect(cluster).toMatch(/authorization \{\s*user: \$NATS_ROUTE_USER\s*password: \$NATS_ROUTE_PASSWORD/);
    expect(cluster).toMatch(/tls \{[^}]*ca_file: \/etc\/nats\/tls\/ca\.pem[^}]*verify: true/);
  });
});
