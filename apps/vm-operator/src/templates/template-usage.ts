import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/**
 * Answers "which VMs use this template?" inside the delete transaction. There are no VMs yet; the VM
 * lifecycle replaces this with a query on its table, and delete then refuses with 409.
 */
@Injectable()
export class TemplateUsage {
  async vmsUsing(_em: EntityManager, _templateName: string): Promise<string[]> {
    return [];
  }
}
