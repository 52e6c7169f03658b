import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway CA and a broker certificate for 127.0.0.1, made as deploy/nats/README.md says. */
export class NatsCertificates {
  private constructor(readonly dir: string) {}

  /** ca.pem, server.pem and server-key.pem, the names deploy/nats/tls.conf reads in /etc/nats/tls. */
  static make(): NatsCertificates {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-nats-tls-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl(
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=ferry-test-ca'],
      ...['-keyout', 'ca-key.pem', '-out', 'ca.pem'],
    );
    openssl(
      ...['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=nats'],
      ...['-keyout', 'server-key.pem', '-out', 'server.csr'],
    );
    writeFileSync(
      join(dir, 'server.ext'),
      'subjectAltName = DNS:localhost, IP:127.0.0.1\nextendedKeyUsage = serverAuth, clientAuth\n',
    );
    openssl(
      ...['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem'],
      ...['-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem'],
    );
    return new NatsCertificates(dir);
  }

  get caFile(): string {
    return join(this.dir, 'ca.pem');
  }

  /** A production include (tls.conf, cluster.conf) reading these files instead of /etc/nats/tls's. */
  rewrite(conf: string): string {
    return conf.replaceAll('/etc/nats/tls', this.dir);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
