import {
  countNumaNodes,
  hugepageSizeKb,
  linuxArch,
  parseCpuinfo,
  parseKernelBool,
  parseLsmList,
  parseMemTotalMb,
  parseSelectedMode,
  parseSysInt,
} from './proc-parsers';

interface Cpu {
  processor: number;
  physical?: number;
  core?: number;
  siblings?: number;
  cores?: number;
  flags?: string;
  model?: string;
  vendor?: string;
}

/** One /proc/cpuinfo block as x86 Linux writes it (tab before the colon, fields in kernel order). */
function block(cpu: Cpu): string {
  const lines = [`processor\t: ${cpu.processor}`];
  if (cpu.vendor !== undefined) lines.push(`vendor_id\t: ${cpu.vendor}`);
  lines.push('cpu family\t: 6', 'model\t\t: 85');
  if (cpu.model !== undefined) lines.push(`model name\t: ${cpu.model}`);
  lines.push('stepping\t: 7', 'cpu MHz\t\t: 2200.000');
  if (cpu.physical !== undefined) lines.push(`physical id\t: ${cpu.physical}`);
  if (cpu.siblings !== undefined) lines.push(`siblings\t: ${cpu.siblings}`);
  if (cpu.core !== undefined) lines.push(`core id\t\t: ${cpu.core}`);
  if (cpu.cores !== undefined) lines.push(`cpu cores\t: ${cpu.cores}`);
  lines.push('fpu\t\t: yes');
  if (cpu.flags !== undefined) lines.push(`flags\t\t: ${cpu.flags}`);
  lines.push('bogomips\t: 4400.00', 'power management:');
  return lines.join('\n') + '\n';
}
const cpuinfo = (cpus: Cpu[]) => cpus.map(block).join('\n');

const INTEL_FLAGS = 'fpu vme de pse tsc msr pae mce cx8 apic sep ht vmx sse4_2 avx2 AVX512F ept vpid';

describe('parseCpuinfo', () => {
  it('counts 2 sockets x 4 cores x 2 threads (hyperthreading) on an Intel host', () => {
    // Linux numbers the first thread of every core first, then the siblings: cpu n and n+8 share a core.
    const cpus: Cpu[] = [];
    for (let thread = 0; thread < 2; thread++) {
      for (let socket = 0; socket < 2; socket++) {
        for (let core = 0; core < 4; core++) {
          cpus.push({
            processor: thread * 8 + socket * 4 + core,
            vendor: 'GenuineIntel',
            model: 'Intel(R) Xeon(R) Gold 6238 CPU @ 2.10GHz',
            physical: socket,
            core: [0, 1, 8, 9][core],
            siblings: 8,
            cores: 4,
            flags: INTEL_FLAGS,
          });
        }
      }
    }
    const info = parseCpuinfo(cpuinfo(cpus));
    expect(info).toEqual({
      logicalCpus: 16,
      modelName: 'Intel(R) Xeon(R) Gold 6238 CPU @ 2.10GHz',
      vendor: 'GenuineIntel',
      flags: [
        'apic',
        'avx2',
        'avx512f',
        'cx8',
        'de',
        'ept',
        'fpu',
        'ht',
        'mce',
        'msr',
        'pae',
        'pse',
        'sep',
        'sse4_2',
        'tsc',
        'vme',
        'vmx',
        'vpid',
      ],
      topology: { sockets: 2, coresPerSocket: 4, threadsPerCore: 2 },
    });
  });

  it('reads an AMD host with svm and no hyperthreading', () => {
    const flags = 'fpu vme de pse tsc msr pae mce cx8 apic svm npt nrip_save sse4a avx2';
    const text = cpuinfo(
      [0, 1, 2, 3].map((n) => ({
        processor: n,
        vendor: 'AuthenticAMD',
        model: 'AMD EPYC 7B13 64-Core Processor',
        physical: 0,
        core: n,
        siblings: 4,
        cores: 4,
        flags,
      })),
    );
    const info = parseCpuinfo(text);
    expect(info.vendor).toBe('AuthenticAMD');
    expect(info.modelName).toBe('AMD EPYC 7B13 64-Core Processor');
    expect(info.flags).toContain('svm');
    expect(info.flags).toContain('npt');
    expect(info.flags).not.toContain('vmx');
    expect(info.topology).toEqual({ sockets: 1, coresPerSocket: 4, threadsPerCore: 1 });
  });

  it('keeps only the flags every CPU has', () => {
    const info = parseCpuinfo(
      cpuinfo([
        { processor: 0, physical: 0, core: 0, flags: 'fpu avx2 avx512f' },
        { processor: 1, physical: 0, core: 1, flags: 'avx2 fpu' },
      ]),
    );
    expect(info.flags).toEqual(['avx2', 'fpu']);
  });

  it('leaves out the sections a host does not write (no model name, no flags, no topology)', () => {
    const info = parseCpuinfo(cpuinfo([{ processor: 0 }, { processor: 1 }]));
    expect(info).toEqual({
      logicalCpus: 2,
      modelName: undefined,
      vendor: undefined,
      flags: undefined,
      topology: { reason: 'no physical id/core id in /proc/cpuinfo' },
    });
  });

  it('gives no topology for uneven counts (hybrid P-cores with 2 threads, E-cores with 1)', () => {
    const info = parseCpuinfo(
      cpuinfo([
        { processor: 0, physical: 0, core: 0 },
        { processor: 1, physical: 0, core: 0 },
        { processor: 2, physical: 0, core: 8 },
      ]),
    );
    expect(info.logicalCpus).toBe(3);
    expect(info.topology).toEqual({ reason: 'uneven topology (1 sockets, 2 cores, 3 logical CPUs)' });
  });

  it('throws on text without processors', () => {
    expect(() => parseCpuinfo('')).toThrow('no processor entries');
  });
});

describe('parseMemTotalMb', () => {
  it('floors MemTotal kB to MiB', () => {
    const text = 'MemTotal:       24684092 kB\nMemFree:        24100516 kB\nMemAvailable:   24106424 kB\n';
    expect(parseMemTotalMb(text)).toBe(24105); // 24684092 / 1024 = 24105.56
  });

  it('throws without MemTotal', () => {
    expect(() => parseMemTotalMb('MemFree: 1 kB\n')).toThrow('no MemTotal line');
  });
});

describe('sysfs values', () => {
  it('reads hugepage sizes from the directory names', () => {
    expect(hugepageSizeKb('hugepages-2048kB')).toBe(2048);
    expect(hugepageSizeKb('hugepages-1048576kB')).toBe(1048576);
    expect(hugepageSizeKb('README')).toBeUndefined();
  });

  it('picks the bracketed mode', () => {
    expect(parseSelectedMode('always [madvise] never\n')).toBe('madvise');
    expect(parseSelectedMode('[always] madvise never\n')).toBe('always');
    expect(() => parseSelectedMode('always madvise never')).toThrow('no selected mode');
  });

  it('reads kernel booleans', () => {
    expect(parseKernelBool('Y\n')).toBe(true);
    expect(parseKernelBool('1\n')).toBe(true);
    expect(parseKernelBool('N\n')).toBe(false);
    expect(parseKernelBool('0\n')).toBe(false);
    expect(() => parseKernelBool('maybe')).toThrow('not a kernel boolean');
  });

  it('reads non-negative integers', () => {
    expect(parseSysInt('64\n')).toBe(64);
    expect(() => parseSysInt('-1')).toThrow('not a non-negative integer');
  });

  it('sorts the LSM list', () => {
    expect(parseLsmList('lockdown,capability,landlock,yama,apparmor\n')).toEqual([
      'apparmor',
      'capability',
      'landlock',
      'lockdown',
      'yama',
    ]);
    expect(() => parseLsmList('\n')).toThrow('empty LSM list');
  });

  it('counts nodeN directories only', () => {
    const entries = ['has_cpu', 'has_memory', 'node0', 'node1', 'online', 'possible', 'power', 'uevent'];
    expect(countNumaNodes(entries)).toBe(2);
  });

  it('names architectures as Linux does', () => {
    expect(linuxArch('x64')).toBe('x86_64');
    expect(linuxArch('arm64')).toBe('aarch64');
    expect(linuxArch('s390x')).toBe('s390x');
  });
});
