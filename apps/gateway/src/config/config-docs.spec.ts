import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configVariables, readmeVariables } from '@ferry/testing';
import { GatewayConfig } from './gateway.config';

describe('README configuration table', () => {
  it('lists every variable the gateway validates (GatewayConfig includes PlatformConfig)', () => {
    const variables = configVariables(GatewayConfig);
    expect(variables.length).toBeGreaterThan(15);
    const rows = readmeVariables();
    expect(variables.filter((v) => !rows.has(v))).toEqual([]);
  });
});

describe('README configuration table, the other way round', () => {
  it('lists no variable that no config class or script reads', () => {
    const root = join(__dirname, '../../../..');
    const sources = [
      readFileSync(join(root, 'libs/platform/src/config/platform.config.ts'), 'utf8'),
      ...readdirSync(join(root, 'apps')).flatMap((app) => {
        const dir = join(root, 'apps', app, 'src/config');
        return existsSync(dir)
          ? readdirSync(dir)
              .filter((f) => f.endsWith('.config.ts'))
              .map((f) => readFileSync(join(dir, f), 'utf8'))
          : [];
      }),
      // Benchmark settings are read by the bench itself.
      ...readdirSync(join(root, 'test/bench')).map((f) => readFileSync(join(root, 'test/bench', f), 'utf8')),
    ].join('\n');
    const scripts = new Set(['TEST_PG_URL', 'TEST_NATS_URL', 'NATS_SERVER_BIN', 'CHROMIUM_BIN']);
    expect(
      [...readmeVariables()].filter((v) => !scripts.has(v) && !new RegExp(`\\b${v}\\b`).test(sources)),
    ).toEqual([]);
  });
});
