import { Injectable, Logger } from '@nestjs/common';
import type { InspectionSourceType } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import { FerryClient, WireKeyPair, isSealed } from '@ferry/platform';
import { InspectorConfig } from '../config/inspector.config';
import type { VcenterSecret } from '@ferry/platform';
import { LocalSource } from './local/local-source';
import type { NoopSpec } from './noop-source';
import { NoopSource } from './noop-source';
import type { InspectionSource } from './source';
import { VcenterPolicy } from './vsphere/vcenter-policy';
import type { VsphereCredentials, VsphereSourceConfig } from './vsphere/vsphere-config';
import { VsphereSession } from './vsphere/vsphere-session';
import { VsphereSource } from './vsphere/vsphere-source';

/**
 * Makes a run's source from what the run stored (its description and, for vSphere, the secret), and
 * the vSphere sessions exports read through, with the same INSPECTOR_VSPHERE_* settings and the same
 * VcenterPolicy, which every session checks before it connects.
 */
@Injectable()
export class SourceFactory {
  /** Which vCenters sessions may reach: INSPECTOR_VCENTER_ALLOWLIST and INSPECTOR_VCENTER_ALLOW_HTTP. */
  readonly policy: VcenterPolicy;

  constructor(
    private readonly client: FerryClient,
    private readonly config: InspectorConfig,
    private readonly wire: WireKeyPair,
  ) {
    this.policy = new VcenterPolicy({
      allowlist: config.INSPECTOR_VCENTER_ALLOWLIST,
      allowHttp: config.INSPECTOR_VCENTER_ALLOW_HTTP,
    });
  }

  create(
    type: InspectionSourceType,
    source: Record<string, unknown>,
    secret: VcenterSecret | null,
  ): InspectionSource {
    switch (type) {
      case 'vsphere':
        if (!secret) throw new Error('a vSphere source needs credentials');
        return new VsphereSource(
          { url: String(source.url), username: secret.username, password: this.unsealed(secret.password) },
          {
            ...this.vsphereConfig(),
            deepInspection: this.config.INSPECTOR_DEEP_INSPECTION,
            virtInspectorTimeoutMs: this.config.INSPECTOR_VIRT_INSPECTOR_TIMEOUT_MS,
            qemuImg: this.config.QEMU_IMG_BINARY,
          },
          new Logger(VsphereSource.name),
        );
      case 'local':
        return new LocalSource(
          this.client,
          {
            deepInspection: this.config.INSPECTOR_DEEP_INSPECTION,
            virtInspectorTimeoutMs: this.config.INSPECTOR_VIRT_INSPECTOR_TIMEOUT_MS,
            qemuImg: this.config.QEMU_IMG_BINARY,
            requestTimeoutMs: this.config.NATS_REQUEST_TIMEOUT_MS,
          },
          new Logger(LocalSource.name),
        );
      case 'noop':
        return new NoopSource(source as NoopSpec);
    }
  }

  /** A vSphere source that reads facts only (no deep inspection, no tools needed); not yet open. */
  vsphereFacts(credentials: VsphereCredentials): VsphereSource {
    return new VsphereSource(
      { ...credentials, password: this.unsealed(credentials.password) },
      { ...this.vsphereConfig(), deepInspection: 'first-pass' },
      new Logger(VsphereSource.name),
    );
  }

  /** A vSphere session that is not a run's (an export's); not yet open. */
  vsphereSession(credentials: VsphereCredentials): VsphereSession {
    return new VsphereSession(
      { ...credentials, password: this.unsealed(credentials.password) },
      this.vsphereConfig(),
      new Logger(VsphereSession.name),
    );
  }

  /**
   * A password as vCenter wants it: callers seal it for this service's wire key (`inspector.wire.key`)
   * so that the broker never carries it in clear. A plain one is still taken (in-process callers, tests).
   */
  private unsealed(password: string): string {
    if (!isSealed(password)) return password;
    try {
      return this.wire.open(password);
    } catch {
      throw new FerryError(
        'UNPROCESSABLE',
        'the vCenter password was sealed for another inspector key: INSPECTOR_CREDENTIALS_KEY must be the same on every replica',
      );
    }
  }

  private vsphereConfig(): VsphereSourceConfig {
    return {
      caFile: this.config.INSPECTOR_VSPHERE_CA_FILE,
      insecure: this.config.INSPECTOR_VSPHERE_INSECURE,
      requestTimeoutMs: this.config.INSPECTOR_VSPHERE_REQUEST_TIMEOUT_MS,
      taskTimeoutMs: this.config.INSPECTOR_VSPHERE_TASK_TIMEOUT_MS,
      policy: this.policy,
    };
  }
}
