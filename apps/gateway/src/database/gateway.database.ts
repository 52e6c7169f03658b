import type { ServiceDatabase } from '@ferry/platform';
import { ApiKeyEntity } from '../auth/entities/api-key.entity';
import { IdempotencyRecordEntity } from '../idempotency/entities/idempotency-record.entity';
import { GatewayInit1732233600000 } from './migrations/1732233600000-init';
import { GatewaySessions1766100000000 } from './migrations/1766100000000-sessions';

export const GATEWAY_DATABASE: ServiceDatabase = {
  schema: 'gateway',
  entities: [ApiKeyEntity, IdempotencyRecordEntity],
  migrations: [GatewayInit1732233600000, GatewaySessions1766100000000],
};
