import type { Inventory } from '@ferry/contracts';
import type { PlacementHost } from './place';
import { place } from './place';

function host(
  name: string,
  memory: number,
  traits: string[],
  extra: Partial<PlacementHost> = {},
): PlacementHost {
  const inventory: Inventory = {
    VCPU: { total: 8, reserved: 0, allocation_ratio: 1, capacity: 8 },
    MEMORY_MB: { total: memory, reserved: 0, allocation_ratio: 1, capacity: memory },
  };
  return {
    id: `id-${name}`,
    name,
    status: 'ready',
    statusReason: null,
    hasCapabilities: true,
    traits: new Set(traits),
    inventory,
    ...extra,
  };
}

const hosts = [
  host('small', 4096, ['COMPUTE_SECURITY_TPM_2_0']),
  host('big', 65536, ['COMPUTE_SECURITY_TPM_2_0', 'CUSTOM_MAINTENANCE']),
  host('plain', 32768, []),
  host('gone', 65536, ['COMPUTE_SECURITY_TPM_2_0'], {
    status: 'unreachable',
    statusReason: 'Connection refused',
  }),
  host('new', 0, [], { status: 'discovering', hasCapabilities: false }),
];

describe('place', () => {
  it('returns the hosts that fit and why each other one does not', () => {
    const result = place(
      hosts,
      { resources: { MEMORY_MB: 8192 }, required: ['COMPUTE_SECURITY_TPM_2_0'], forbidden: [] },
      'spread',
      10,
    );
    expect(result.candidates.map((c) => c.host_name)).toEqual(['big']);
    expect(result.candidates[0]!.remaining).toEqual({ MEMORY_MB: 65536 - 8192 });
    const reasons = Object.fromEntries(result.rejected.map((r) => [r.host_name, r.reasons]));
    expect(reasons).toEqual({
      small: ['INSUFFICIENT: MEMORY_MB (requested 8192, capacity 4096)'],
      plain: ['TRAIT_MISSING: COMPUTE_SECURITY_TPM_2_0'],
      gone: ['HOST_UNREACHABLE: Connection refused'],
      new: ['NO_CAPABILITIES: not discovered yet'],
    });
  });

  it('rejects forbidden traits and resources it does not know', () => {
    const result = place(
      hosts.slice(0, 3),
      { resources: { DISK_GB: 10 }, required: [], forbidden: ['CUSTOM_MAINTENANCE'] },
      'spread',
      10,
    );
    expect(result.candidates).toEqual([]);
    expect(result.rejected.find((r) => r.host_name === 'big')!.reasons).toEqual([
      'TRAIT_FORBIDDEN: CUSTOM_MAINTENANCE',
      'UNKNOWN: DISK_GB (not discovered)',
    ]);
  });

  it('ranks by capacity left: spread puts the roomiest first, pack the fullest', () => {
    const req = { resources: { MEMORY_MB: 2048 }, required: [], forbidden: [] };
    expect(place(hosts, req, 'spread', 10).candidates.map((c) => c.host_name)).toEqual([
      'big',
      'plain',
      'small',
    ]);
    expect(place(hosts, req, 'pack', 10).candidates.map((c) => c.host_name)).toEqual([
      'small',
      'plain',
      'big',
    ]);
    expect(place(hosts, req, 'pack', 1).candidates.map((c) => c.host_name)).toEqual(['small']);
  });
});
