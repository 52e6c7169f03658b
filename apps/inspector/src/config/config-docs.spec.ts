import { configVariables, readmeVariables } from '@ferry/testing';
import { InspectorConfig } from './inspector.config';

describe('README configuration table', () => {
  it('lists every variable inspector validates', () => {
    const rows = readmeVariables();
    expect(configVariables(InspectorConfig).filter((v) => !rows.has(v))).toEqual([]);
  });
});
