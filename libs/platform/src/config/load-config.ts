import { plainToInstance } from 'class-transformer';
import type { ValidationError } from 'class-validator';
import { validateSync } from 'class-validator';
import { REDACTED, redactText } from '../logging/redact';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

function describe(errors: ValidationError[]): string[] {
  return errors.flatMap((e) =>
    Object.values(e.constraints ?? {}).map((reason) => {
      const shown = /KEY|PASSWORD|SECRET|TOKEN/.test(e.property)
        ? REDACTED
        : redactText(JSON.stringify(e.value));
      return `${e.property}=${shown}: ${reason}`;
    }),
  );
}

/**
 * Builds a config class from the environment: strings are converted to the declared types, defaults
 * come from property initialisers, and any invalid value throws a ConfigError naming the variable.
 */
export function loadConfig<T extends object>(cls: new () => T, env: NodeJS.ProcessEnv = process.env): T {
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const config = plainToInstance(cls, defined, { enableImplicitConversion: true, exposeDefaultValues: true });
  const errors = validateSync(config, { skipMissingProperties: false });
  if (errors.length > 0) throw new ConfigError(describe(errors));
  return config;
}
