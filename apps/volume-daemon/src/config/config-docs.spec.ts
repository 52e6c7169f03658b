import { configVariables, readmeVariables } from '@ferry/testing';
import { VolumeDaemonConfig } from './volume-daemon.config';

describe('README configuration table', () => {
  it('lists every variable volume-daemon validates', () => {
    const rows = readmeVariables();
    expect(configVariables(VolumeDaemonConfig).filter((v) => !rows.has(v))).toEqual([]);
  });
});
