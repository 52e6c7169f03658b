import type { OnApplicationBootstrap } from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import type { Page, PageQuery } from '@ferry/contracts';
import { FerryError, decodeCursor, pageLimit } from '@ferry/contracts';
import { pageOf } from '@ferry/platform';
import { GatewayConfig } from '../config/gateway.config';
import { generateApiKey, hashApiKey, hashesEqual, parseApiKeyId } from './api-key.format';
import type { ListedApiKey } from './api-keys.repository';
import { ApiKeysRepository } from './api-keys.repository';
import type { ApiKeyEntity } from './entities/api-key.entity';
import type { Principal, Role } from './roles';

/** How long an id that matched no active key is answered from memory: a flood of made-up keys costs no queries. */
const UNKNOWN_ID_TTL_MS = 10_000;
/** At most this many such ids are remembered; the oldest go first. */
const UNKNOWN_ID_MAX = 10_000;

interface CacheEntry {
  key: ApiKeyEntity;
  expires: number;
}

@Injectable()
export class ApiKeysService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly cache = new Map<string, CacheEntry>();
  private readonly unknown = new Map<string, number>();

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly config: GatewayConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const adminKey = this.config.FERRY_ADMIN_API_KEY;
    if (!adminKey) return;
    const id = parseApiKeyId(adminKey);
    if (!id) throw new Error('FERRY_ADMIN_API_KEY is malformed');
    await this.keys.upsert({ id, name: 'bootstrap-admin', role: 'admin', secretHash: hashApiKey(adminKey) });
    this.cache.delete(id);
    this.unknown.delete(id);
    this.logger.log({ msg: 'bootstrap admin key is active', keyId: id });
  }

  /** Resolves a presented key to its principal, or throws UNAUTHENTICATED. Verified keys are cached briefly. */
  async authenticate(presented: string): Promise<Principal> {
    const id = parseApiKeyId(presented);
    if (!id) throw new FerryError('UNAUTHENTICATED', 'malformed API key');
    const key = await this.active(id);
    if (!hashesEqual(hashApiKey(presented), key.secretHash)) {
      throw new FerryError('UNAUTHENTICATED', 'unknown or revoked API key');
    }
    return { keyId: id, name: key.name, role: key.role };
  }

  /**
   * The principal of key `id`, already verified (a session made from it): UNAUTHENTICATED once the
   * key is revoked, within API_KEY_CACHE_TTL_MS on other replicas.
   */
  async principalOf(id: string): Promise<Principal> {
    const key = await this.active(id);
    return { keyId: id, name: key.name, role: key.role };
  }

  private async active(id: string): Promise<ApiKeyEntity> {
    const now = Date.now();
    const entry = this.cache.get(id);
    if (entry && entry.expires > now) return entry.key;
    if ((this.unknown.get(id) ?? 0) > now)
      throw new FerryError('UNAUTHENTICATED', 'unknown or revoked API key');
    const key = await this.keys.findActive(id);
    if (!key) {
      this.cache.delete(id);
      this.rememberUnknown(id, now);
      throw new FerryError('UNAUTHENTICATED', 'unknown or revoked API key');
    }
    this.cache.set(id, { key, expires: now + this.config.API_KEY_CACHE_TTL_MS });
    return key;
  }

  private rememberUnknown(id: string, now: number): void {
    this.unknown.delete(id);
    if (this.unknown.size >= UNKNOWN_ID_MAX) this.unknown.delete(this.unknown.keys().next().value!);
    this.unknown.set(id, now + UNKNOWN_ID_TTL_MS);
  }

  async create(name: string, role: Role): Promise<{ entity: ApiKeyEntity; key: string }> {
    const { id, key } = generateApiKey();
    const entity = await this.keys.insert({ id, name, role, secretHash: hashApiKey(key) });
    this.unknown.delete(id);
    this.logger.log({ msg: 'API key created', keyId: id, role });
    return { entity, key };
  }

  /** One page of the active keys, oldest first. */
  async list(query: PageQuery): Promise<Page<ListedApiKey>> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, ['time', 'text']);
    const limit = pageLimit(query);
    const rows = await this.keys.pageActive(limit + 1, after);
    return pageOf(
      rows,
      limit,
      (k) => [k.pageAt, k.id],
      (k) => k,
    );
  }

  async revoke(id: string): Promise<void> {
    if (!(await this.keys.revoke(id))) throw FerryError.notFound(`API key "${id}" not found`, { id });
    this.cache.delete(id);
    this.logger.log({ msg: 'API key revoked', keyId: id });
  }
}
