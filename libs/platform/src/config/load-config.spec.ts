import { ConfigError, loadConfig } from './load-config';
import { PlatformConfig } from './platform.config';

describe('loadConfig', () => {
  it('uses defaults and converts numbers from strings', () => {
    const config = loadConfig(PlatformConfig, { NATS_REQUEST_TIMEOUT_MS: '1500' });
    expect(config.NATS_REQUEST_TIMEOUT_MS).toBe(1500);
    expect(config.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(config.LOG_LEVEL).toBe('info');
  });

  it('names every bad variable', () => {
    let error: unknown;
    try {
      loadConfig(PlatformConfig, { NATS_URL: 'http://x', DB_POOL_SIZE: 'many', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('NATS_URL');
    expect(message).toContain('DB_POOL_SIZE');
    expect(message).toContain('LOG_LEVEL');
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig(PlatformConfig, { LOG_LEVEL: '' }).LOG_LEVEL).toBe('info');
  });
});

describe('EnvBoolean', () => {
  it('accepts true/false/1/0 and rejects anything else', () => {
    expect(loadConfig(PlatformConfig, { DB_MIGRATE_ON_START: 'false' }).DB_MIGRATE_ON_START).toBe(false);
    expect(loadConfig(PlatformConfig, { DB_MIGRATE_ON_START: '1' }).DB_MIGRATE_ON_START).toBe(true);
    expect(() => loadConfig(PlatformConfig, { DB_MIGRATE_ON_START: 'yes' })).toThrow(/DB_MIGRATE_ON_START/);
  });
});

describe('config errors', () => {
  it('never print the password of a connection string', () => {
    expect(() => loadConfig(PlatformConfig, { DATABASE_URL: 'mysql://ferry:hunter2@db/ferry' })).toThrow(
      /DATABASE_URL/,
    );
    expect(() => loadConfig(PlatformConfig, { DATABASE_URL: 'mysql://ferry:hunter2@db/ferry' })).not.toThrow(
      /hunter2/,
    );
  });
});
