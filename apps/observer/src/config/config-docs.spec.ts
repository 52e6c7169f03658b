import { configVariables, readmeVariables } from '@ferry/testing';
import { ObserverConfig } from './observer.config';

describe('README configuration table', () => {
  it('lists every variable observer validates', () => {
    const rows = readmeVariables();
    expect(configVariables(ObserverConfig).filter((v) => !rows.has(v))).toEqual([]);
  });
});
