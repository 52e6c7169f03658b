import { configVariables, readmeVariables } from '@ferry/testing';
import { CleanupConfig } from './cleanup.config';

describe('README configuration table', () => {
  it('lists every variable cleanup validates', () => {
    const rows = readmeVariables();
    expect(configVariables(CleanupConfig).filter((v) => !rows.has(v))).toEqual([]);
  });
});
