import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type {
  MigrationDto,
  MigrationListDto,
  MigrationPlanReplyDto,
  MigrationReportReplyDto,
} from '@ferry/contracts';
import {
  CancelMigrationRequest,
  CreateMigrationRequest,
  ListMigrationsRequest,
  MigrationIdRequest,
  MigrationSubjects,
} from '@ferry/contracts';
import { MigrationsService } from './migrations.service';

@Controller()
export class MigrationsController {
  constructor(private readonly migrations: MigrationsService) {}

  @MessagePattern(MigrationSubjects.CREATE)
  create(@Payload() req: CreateMigrationRequest): Promise<MigrationDto> {
    return this.migrations.create(req);
  }

  @MessagePattern(MigrationSubjects.LIST)
  list(@Payload() req: ListMigrationsRequest): Promise<MigrationListDto> {
    return this.migrations.list(req);
  }

  @MessagePattern(MigrationSubjects.GET)
  get(@Payload() req: MigrationIdRequest): Promise<MigrationDto> {
    return this.migrations.get(req.id);
  }

  @MessagePattern(MigrationSubjects.PLAN)
  plan(@Payload() req: MigrationIdRequest): Promise<MigrationPlanReplyDto> {
    return this.migrations.plan(req.id);
  }

  @MessagePattern(MigrationSubjects.REPORT)
  report(@Payload() req: MigrationIdRequest): Promise<MigrationReportReplyDto> {
    return this.migrations.report(req.id);
  }

  @MessagePattern(MigrationSubjects.CUTOVER)
  cutover(@Payload() req: MigrationIdRequest): Promise<MigrationDto> {
    return this.migrations.cutover(req.id);
  }

  @MessagePattern(MigrationSubjects.CANCEL)
  cancel(@Payload() req: CancelMigrationRequest): Promise<MigrationDto> {
    return this.migrations.cancel(req);
  }
}
