import { Injectable } from '@nestjs/common';
import type {
  VsphereFactsDto,
  VsphereFactsRequest,
  VspherePowerDto,
  VspherePowerRequest,
} from '@ferry/contracts';
import { withTimeout } from '@ferry/platform';
import { InspectorConfig } from '../config/inspector.config';
import { OPEN_TIMEOUT_MS } from '../runner/inspection-runner';
import { SourceFatalError } from '../sources/source';
import { errorOfOpen, errorOfVm } from '../sources/source-errors';
import { SourceFactory } from '../sources/source-factory';
import { VCENTER_UNREACHABLE } from '../sources/vsphere/soap-transport';
import type { VsphereSession } from '../sources/vsphere/vsphere-session';

/**
 * One vSphere VM read or powered, outside any inspection run: what a migration asks before FETCH (its
 * facts and concerns, no snapshot) and at its cutover (power off; power on again when it is canceled).
 * Each call logs in with the caller's credentials and out again; nothing is stored.
 */
@Injectable()
export class VsphereVmsService {
  constructor(
    private readonly factory: SourceFactory,
    private readonly config: InspectorConfig,
  ) {}

  async facts(req: VsphereFactsRequest): Promise<VsphereFactsDto> {
    const source = this.factory.vsphereFacts(req.VcenterCredentials);
    return this.withSession(source, () =>
      source.factsOf(req.vmId, AbortSignal.timeout(this.config.INSPECTOR_VSPHERE_REQUEST_TIMEOUT_MS * 4)),
    );
  }

  async power(req: VspherePowerRequest): Promise<VspherePowerDto> {
    const session = this.factory.vsphereSession(req.VcenterCredentials);
    const limit =
      this.config.INSPECTOR_VSPHERE_TASK_TIMEOUT_MS + this.config.INSPECTOR_VSPHERE_REQUEST_TIMEOUT_MS;
    return this.withSession(session, async () => {
      const done = await session.setPower(req.vmId, req.state, AbortSignal.timeout(limit));
      return { vmId: req.vmId, ...done };
    });
  }

  private async withSession<T>(session: VsphereSession, work: () => Promise<T>): Promise<T> {
    const timeout = () =>
      new SourceFatalError(
        'unreachable',
        VCENTER_UNREACHABLE,
        undefined,
        `no answer within ${OPEN_TIMEOUT_MS} ms`,
      );
    try {
      await withTimeout(session.open(AbortSignal.timeout(OPEN_TIMEOUT_MS)), OPEN_TIMEOUT_MS, timeout);
    } catch (err) {
      await session.close();
      throw errorOfOpen(err);
    }
    try {
      return await work();
    } catch (err) {
      throw errorOfVm(err);
    } finally {
      await session.close();
    }
  }
}
