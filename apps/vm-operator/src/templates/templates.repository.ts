import { Injectable } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import { DataSource, QueryFailedError } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { TemplateEntity } from './entities/template.entity';

const UNIQUE_VIOLATION = '23505';

export interface NewTemplate {
  name: string;
  cpuCount: number;
  ramAmount: number;
}

/** The only code that touches `vm_operator.templates`. */
@Injectable()
export class TemplatesRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(em: EntityManager, t: NewTemplate): Promise<TemplateEntity> {
    const repo = em.getRepository(TemplateEntity);
    const entity = repo.create({ name: t.name, cpuCount: t.cpuCount, ramAmount: t.ramAmount });
    try {
      // insert() copies the generated created_at back onto the entity.
      await repo.insert(entity);
      return entity;
    } catch (err) {
      if (
        err instanceof QueryFailedError &&
        (err.driverError as { code?: string }).code === UNIQUE_VIOLATION
      ) {
        throw FerryError.conflict(`template "${t.name}" already exists`, { name: t.name });
      }
      throw err;
    }
  }

  findByName(name: string): Promise<TemplateEntity | null> {
    return this.ds.getRepository(TemplateEntity).findOneBy({ name });
  }

  list(): Promise<TemplateEntity[]> {
    return this.ds.getRepository(TemplateEntity).find({ order: { name: 'ASC' } });
  }

  /** Locks the row so that no VM can start using it while it is being deleted. */
  async lockByName(em: EntityManager, name: string): Promise<TemplateEntity | null> {
    return em.getRepository(TemplateEntity).findOne({ where: { name }, lock: { mode: 'pessimistic_write' } });
  }

  async delete(em: EntityManager, name: string): Promise<void> {
    await em.getRepository(TemplateEntity).delete({ name });
  }
}
