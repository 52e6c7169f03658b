import type { Type } from '@nestjs/common';
import { Controller } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import type { HealthReport, ServiceName } from '@ferry/contracts';
import { healthSubject } from '@ferry/contracts';
import { HealthService } from './health.service';

/** The health ping each service answers; the subject carries the service name, so it is built per service. */
export function createHealthController(service: ServiceName): Type<unknown> {
  @Controller()
  class HealthController {
    constructor(private readonly health: HealthService) {}

    @MessagePattern(healthSubject(service))
    ping(): Promise<HealthReport> {
      return this.health.report();
    }
  }
  return HealthController;
}
