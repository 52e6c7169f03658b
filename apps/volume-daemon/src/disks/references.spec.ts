import { FerryError } from '@ferry/contracts';
import type { VolumeBackend } from '../backends/volume-backend';
import type { DiskRecord, DisksRepository } from './disks.repository';
import { References } from './references';

const TEST_VM = '11111111-1111-4111-8111-111111111111';
const OMA_VM = '22222222-2222-4222-8222-222222222222';
const VOLUME = '33333333-3333-4333-8333-333333333333';

function references(): References {
  const backend = {
    powerState: async (vmId: string) => {
      if (vmId !== TEST_VM && vmId !== OMA_VM) throw FerryError.notFound(`VM "${vmId}" not found`);
      return { vmId, state: 'stopped', running: false };
    },
  } as unknown as VolumeBackend;
  const disks = {
    findById: async (id: string) => (id === VOLUME ? ({ id } as DiskRecord) : undefined),
  } as unknown as DisksRepository;
  return new References(disks, backend);
}

const failure = async (p: Promise<unknown>) =>
  (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as FerryError;

describe('References (seed 002: an id Ferry does not know is NOT_FOUND naming it)', () => {
  it('names every id of the seed’s own example, which Ferry does not know', async () => {
    const err = await failure(
      references().testFailover({
        test_vm_id: 'vm-12345678-test',
        volume_id: 'vol-87654321',
        oma_vm_id: 'vm-oma-appliance',
      }),
    );
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toBe(
      'not found: test_vm_id "vm-12345678-test", volume_id "vol-87654321", oma_vm_id "vm-oma-appliance"',
    );
    expect(err.details).toEqual({
      missing: { test_vm_id: 'vm-12345678-test', volume_id: 'vol-87654321', oma_vm_id: 'vm-oma-appliance' },
    });
  });

  it('names only what is missing, and answers the test VM’s power when all exist', async () => {
    const err = await failure(
      references().testFailover({ test_vm_id: TEST_VM, volume_id: 'vol-87654321', oma_vm_id: OMA_VM }),
    );
    expect(err.message).toBe('not found: volume_id "vol-87654321"');
    expect(
      await references().testFailover({ test_vm_id: TEST_VM, volume_id: VOLUME, oma_vm_id: OMA_VM }),
    ).toMatchObject({ vmId: TEST_VM, running: false });
  });

  it('keeps other errors of the backend as they are', async () => {
    const refs = new References(
      {} as DisksRepository,
      {
        powerState: async () => {
          throw new FerryError('UNAVAILABLE', 'vm-operator is down');
        },
      } as unknown as VolumeBackend,
    );
    expect((await failure(refs.vm(TEST_VM))).code).toBe('UNAVAILABLE');
    const missing = await failure(references().vm('vm-1001'));
    expect([missing.code, missing.message]).toEqual(['NOT_FOUND', 'VM "vm-1001" not found']);
  });
});
