import type { FerryError } from '@ferry/contracts';
import { GatewayConfig } from '../config/gateway.config';
import { generateApiKey, hashApiKey } from './api-key.format';
import type { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import type { ApiKeyEntity } from './entities/api-key.entity';

describe('ApiKeysService.authenticate', () => {
  const real = generateApiKey();
  let lookups: string[];
  let service: ApiKeysService;

  beforeEach(() => {
    lookups = [];
    const repository = {
      findActive: (id: string) => {
        lookups.push(id);
        const found =
          id === real.id ? { id, name: 'ops', role: 'operator', secretHash: hashApiKey(real.key) } : null;
        return Promise.resolve(found as ApiKeyEntity | null);
      },
      insert: (k: Partial<ApiKeyEntity>) => Promise.resolve(k as ApiKeyEntity),
    } as unknown as ApiKeysRepository;
    const config = Object.assign(new GatewayConfig(), { API_KEY_CACHE_TTL_MS: 0 });
    service = new ApiKeysService(repository, config);
  });

  const refusal = (key: string) =>
    service.authenticate(key).then(
      () => undefined,
      (err: FerryError) => err.code,
    );

  it('answers a flood of one made-up key from memory: one database lookup, every answer 401', async () => {
    const fake = generateApiKey().key;
    for (let i = 0; i < 50; i++) expect(await refusal(fake)).toBe('UNAUTHENTICATED');
    expect(lookups).toHaveLength(1);
  });

  it('still looks up real keys each time (cache TTL 0 here) and accepts them', async () => {
    await expect(service.authenticate(real.key)).resolves.toMatchObject({ keyId: real.id, role: 'operator' });
    await expect(service.authenticate(real.key)).resolves.toMatchObject({ keyId: real.id });
    expect(lookups).toEqual([real.id, real.id]);
  });

  it('a wrong secret for a real key id is refused and does not mark the id unknown', async () => {
    const forged = `fry_${real.id}_${'x'.repeat(43)}`;
    expect(await refusal(forged)).toBe('UNAUTHENTICATED');
    await expect(service.authenticate(real.key)).resolves.toMatchObject({ keyId: real.id });
  });
});
