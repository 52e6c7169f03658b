import { describe, expect, it } from 'vitest';
import { factsByCategory, parseTraits, valueText } from './host-model';

describe('host facts', () => {
  it('lists every fact of each category with its path, value and source; unknown values say why', () => {
    const data = {
      cpu: {
        model: { value: 'EPYC', source: '/proc/cpuinfo' },
        flags: { value: ['avx2', 'vmx'], source: '/proc/cpuinfo' },
        topology: { sockets: { value: 2, source: 'lscpu' } },
      },
      security: {
        sev: { value: null, source: 'QMP query-sev-capabilities', reason: 'not an AMD SEV host' },
      },
      empty: {},
    };
    const facts = factsByCategory(data);
    expect([...facts.keys()]).toEqual(['cpu', 'security']);
    expect(facts.get('cpu')).toEqual([
      { path: 'model', value: 'EPYC', source: '/proc/cpuinfo' },
      { path: 'flags', value: 'avx2, vmx', source: '/proc/cpuinfo' },
      { path: 'topology.sockets', value: '2', source: 'lscpu' },
    ]);
    expect(facts.get('security')).toEqual([
      { path: 'sev', value: '—', source: 'QMP query-sev-capabilities', reason: 'not an AMD SEV host' },
    ]);
    expect(factsByCategory(null).size).toBe(0);
  });

  it('shows values and reads trait lists the way people type them', () => {
    expect([valueText(true), valueText(0), valueText(undefined), valueText({ a: 1 })]).toEqual([
      'true',
      '0',
      '—',
      '{"a":1}',
    ]);
    expect(parseTraits('hw_cpu_x86_avx2, COMPUTE_STATUS_ENABLED  hw_cpu_x86_avx2')).toEqual([
      'HW_CPU_X86_AVX2',
      'COMPUTE_STATUS_ENABLED',
    ]);
  });
});
