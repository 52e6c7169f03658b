import { Injectable } from '@nestjs/common';
import { FerryError, HostSubjects } from '@ferry/contracts';
import { FerryClient } from '@ferry/platform';
import { VmOperatorConfig } from '../config/vm-operator.config';
import { TemplatesRepository } from '../templates/templates.repository';

/**
 * Whether this host can run VMs of a template that declares required traits: asked of
 * host-capability's placement (traits, and the template's vCPUs and memory against the host's
 * capacity). Templates without required traits are not checked, so VM creation does not depend on
 * host-capability for them.
 */
@Injectable()
export class HostFit {
  constructor(
    private readonly client: FerryClient,
    private readonly templates: TemplatesRepository,
    private readonly config: VmOperatorConfig,
  ) {}

  /** Resolves when the host fits (or the template asks nothing); 422 with placement's reasons if not. */
  async check(templateName: string): Promise<void> {
    const template = await this.templates.findByName(templateName);
    if (!template || template.requiredTraits.length === 0) return;
    const host = this.config.VM_HOST_NAME;
    const result = await this.client
      .send(HostSubjects.PLACEMENT_CANDIDATES, {
        hosts: [host],
        required: template.requiredTraits,
        resources: { VCPU: template.cpuCount, MEMORY_MB: template.ramAmount },
      })
      .catch((err: unknown) => {
        // An unknown trait name in the template is the template's fault, not the request's.
        if (err instanceof FerryError && err.code === 'VALIDATION') {
          throw new FerryError('UNPROCESSABLE', `template "${templateName}": ${err.message}`, {
            template: templateName,
          });
        }
        throw err;
      });
    if (result.candidates.length > 0) return;
    const reasons = result.rejected.flatMap((r) => r.reasons);
    throw new FerryError(
      'UNPROCESSABLE',
      `host "${host}" cannot run VMs of template "${templateName}": ${reasons.join('; ')}`,
      {
        host,
        template: templateName,
        reasons,
      },
    );
  }
}
