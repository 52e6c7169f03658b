import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { GatewayConfig } from './gateway.config';

/** Every validated config variable, read from the class-validator metadata of the config classes. */
function variablesOf(cls: new () => object): string[] {
  const metas = getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false);
  return [...new Set(metas.map((m) => m.propertyName))].sort();
}

describe('README configuration table', () => {
  const readme = readFileSync(join(__dirname, '../../../../README.md'), 'utf8');
  const rows = new Set([...readme.matchAll(/^\|\s*`([A-Z_]+)`\s*\|/gm)].map((m) => m[1]));

  it('lists every variable the services validate (GatewayConfig includes PlatformConfig)', () => {
    const variables = variablesOf(GatewayConfig);
    expect(variables.length).toBeGreaterThan(15);
    expect(variables.filter((v) => !rows.has(v))).toEqual([]);
  });

  it('lists no variable that nothing reads', () => {
    const known = new Set([...variablesOf(GatewayConfig), 'TEST_PG_URL', 'TEST_NATS_URL', 'NATS_SERVER_BIN']);
    expect([...rows].filter((v) => v && !known.has(v))).toEqual([]);
  });
});
