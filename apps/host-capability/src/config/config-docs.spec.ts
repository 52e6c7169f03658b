import { configVariables, readmeVariables } from '@ferry/testing';
import { HostCapabilityConfig } from './host-capability.config';

describe('README configuration table', () => {
  it('lists every variable host-capability validates', () => {
    const rows = readmeVariables();
    expect(configVariables(HostCapabilityConfig).filter((v) => !rows.has(v))).toEqual([]);
  });
});
