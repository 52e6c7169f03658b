import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { IdempotencyInterceptor } from './idempotency.interceptor';

/**
 * Put on every POST route. It is per route rather than global because Nest's interceptor chain costs
 * every GET too (an AsyncResource per call); an end-to-end test checks that no POST lacks it.
 */
export const Idempotent = () =>
  applyDecorators(
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description: 'Retry-safe POST: the same key and body replay the first response; another body gets 422.',
    }),
  );
