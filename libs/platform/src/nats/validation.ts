import type { ValidationError } from '@nestjs/common';
import { ValidationPipe } from '@nestjs/common';
import type { FieldError } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';

export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own: FieldError[] = e.constraints ? [{ field, messages: Object.values(e.constraints) }] : [];
    return [...own, ...flattenValidationErrors(e.children ?? [], field)];
  });
}

export function validationError(errors: ValidationError[]): FerryError {
  const fields = flattenValidationErrors(errors);
  const names = fields.map((f) => f.field).join(', ');
  return FerryError.validation(`invalid request: ${names}`, fields);
}

/**
 * Validates every DTO and rejects unknown fields. Throws a FerryError(VALIDATION) naming each bad
 * field, which the RPC filter and the gateway's problem filter both understand. (An HttpException
 * here would reach NATS callers as a bare "Internal server error".)
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    validationError: { target: false, value: false },
    // Request DTOs without fields (list requests) have no metadata; they must still validate.
    forbidUnknownValues: false,
    exceptionFactory: validationError,
  });
}
