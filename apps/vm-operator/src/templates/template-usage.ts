import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/**
 * Answers "which VMs use this template?" inside the delete transaction, so that delete can refuse
 * with 409 naming them. (vms.template also has a foreign key with ON DELETE RESTRICT as the last word.)
 */
@Injectable()
export class TemplateUsage {
  async vmsUsing(em: EntityManager, templateName: string): Promise<string[]> {
    const rows: { id: string }[] = await em.query(
      'SELECT id FROM vm_operator.vms WHERE template = $1 ORDER BY id',
      [templateName],
    );
    return rows.map((r) => r.id);
  }
}
