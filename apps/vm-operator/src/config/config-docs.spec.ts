import { configVariables, readmeVariables } from '@ferry/testing';
import { VmOperatorConfig } from './vm-operator.config';

describe('README configuration table', () => {
  it('lists every variable vm-operator validates', () => {
    const rows = readmeVariables();
    expect(configVariables(VmOperatorConfig).filter((v) => !rows.has(v))).toEqual([]);
  });
});
