import { join } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import type { IssueRepairDto } from '@ferry/contracts';
import { DiskSubjects, VmSubjects } from '@ferry/contracts';
import { FerryClient } from '@ferry/platform';
import { ObserverConfig } from '../config/observer.config';
import type { IssueRow } from '../issues/issues.repository';
import { quarantineFile } from '../probes/storage-scan';
import type { Finding } from './finding';
import type { Policies } from './policies';
import { parsePolicies } from './policies';

/**
 * Acts on a newly opened issue as its kind's policy says. `repair` asks the service that owns the
 * record to look again and fix it (the observer never writes another service's schema); `quarantine`
 * moves an orphan disk file aside, never deleting it. Returns what was done, or undefined for `log`.
 */
@Injectable()
export class Repairs {
  private readonly logger = new Logger(Repairs.name);
  private readonly policies: Policies;

  constructor(
    private readonly client: FerryClient,
    private readonly config: ObserverConfig,
  ) {
    this.policies = parsePolicies(config.OBSERVER_POLICIES);
  }

  async act(issue: IssueRow, finding: Finding): Promise<IssueRepairDto | undefined> {
    const policy = this.policies[issue.kind];
    if (policy === 'log') return undefined;
    const at = () => new Date().toISOString();
    const why = `${issue.kind}: expected ${issue.expected}, observed ${issue.observed}`;
    try {
      if (policy === 'quarantine') {
        const to = await quarantineFile(finding.ref.path!, this.quarantineDir());
        return {
          policy,
          action: `moved ${finding.ref.path} to ${to}`,
          outcome: 'done',
          detail: why,
          at: at(),
        };
      }
      if (finding.ref.diskId && issue.kind === 'attachment_missing') {
        const disk = await this.client.send(DiskSubjects.RECONCILE, { id: finding.ref.diskId });
        const now = `disk is now ${disk.state}${disk.vm_id ? ` on VM ${disk.vm_id}` : ''}`;
        return {
          policy,
          action: DiskSubjects.RECONCILE,
          outcome: 'done',
          detail: `${why}; ${now}`,
          at: at(),
        };
      }
      const vm = await this.client.send(VmSubjects.RECONCILE, { id: finding.ref.vmId! });
      return {
        policy,
        action: VmSubjects.RECONCILE,
        outcome: 'done',
        detail: `${why}; VM is now ${vm.state}`,
        at: at(),
      };
    } catch (err) {
      this.logger.warn({
        msg: 'repair failed',
        issueId: issue.id,
        kind: issue.kind,
        error: (err as Error).message,
      });
      return {
        policy,
        action: policy,
        outcome: 'failed',
        detail: `${why}; ${(err as Error).message}`,
        at: at(),
      };
    }
  }

  private quarantineDir(): string {
    return this.config.OBSERVER_QUARANTINE_DIR || join(this.config.VOLUME_STORAGE_DIR, 'quarantine');
  }
}
