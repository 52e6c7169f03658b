import type { MigrationDto } from '@ferry/contracts';
import { DEFAULT_BOOT_FAILURE, DEFAULT_BOOT_SUCCESS } from '@ferry/contracts';
import type { MigrationRecord } from './migrations.repository';

/** A migration as the API shows it: no secret, snake_case. */
export function toMigrationDto(m: MigrationRecord): MigrationDto {
  return {
    id: m.id,
    status: m.status,
    mode: m.mode,
    cutover: m.cutover,
    source: { vcenter: m.vcenterUrl, vm_id: m.vmId, moref: m.moref, vm_name: m.vmName },
    target: {
      template: m.target.template,
      host: m.target.host,
      name: m.target.name,
      format: m.target.format,
      keep_static_ip: m.target.keepStaticIp,
    },
    fixes: m.fixes,
    validate: {
      boot_timeout_s: m.validate.bootTimeoutS,
      expect_ip: m.validate.expectIp ?? (m.plan ? m.plan.nics.length > 0 : true),
      boot_success: m.validate.bootSuccess || DEFAULT_BOOT_SUCCESS,
      boot_failure: m.validate.bootFailure || DEFAULT_BOOT_FAILURE,
    },
    stages: m.stages,
    volumes: m.volumes,
    failover_job_id: m.failoverJobId,
    production_vm_id: m.productionVmId,
    error: m.error,
    keep: m.keep,
    requested_by: m.requestedBy,
    correlation_id: m.correlationId,
    created_at: m.createdAt.toISOString(),
    updated_at: m.updatedAt.toISOString(),
    finished_at: m.finishedAt?.toISOString() ?? null,
  };
}
