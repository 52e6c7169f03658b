import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getMetadataStorage } from 'class-validator';

/** Every validated variable of a config class, from its class-validator metadata. */
export function configVariables(cls: new () => object): string[] {
  const metas = getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false);
  return [...new Set(metas.map((m) => m.propertyName))].sort();
}

/** Variable names in the first column of the README's tables. */
export function readmeVariables(): Set<string> {
  const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
  return new Set([...readme.matchAll(/^\|\s*`([A-Z_]+)`\s*\|/gm)].map((m) => m[1] ?? ''));
}
