import { ConfigError, loadConfig } from '@ferry/platform';
import { ObserverConfig } from './observer.config';

describe('ObserverConfig', () => {
  it('sweeps every 5 s by default, periodically', () => {
    const config = loadConfig(ObserverConfig, {});
    expect(config.OBSERVER_SWEEP_INTERVAL_MS).toBe(5000);
    expect(config.OBSERVER_PERIODIC_SWEEPS).toBe(true);
  });

  it('accepts up to 5 s (seed 004: "≤ 5 s enforced")', () => {
    for (const ms of ['100', '1000', '5000'])
      expect(loadConfig(ObserverConfig, { OBSERVER_SWEEP_INTERVAL_MS: ms }).OBSERVER_SWEEP_INTERVAL_MS).toBe(
        Number(ms),
      );
  });

  it('refuses more than 5 s at start-up, saying why', () => {
    for (const ms of ['5001', '60000']) {
      const err = (() => {
        try {
          loadConfig(ObserverConfig, { OBSERVER_SWEEP_INTERVAL_MS: ms });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([
        `OBSERVER_SWEEP_INTERVAL_MS=${ms}: must be at most 5000 ms: seed 004's observer checks coherence every 5 s or less`,
      ]);
    }
  });

  it('lets tests turn periodic sweeps off (one at start-up, then on demand)', () => {
    expect(loadConfig(ObserverConfig, { OBSERVER_PERIODIC_SWEEPS: 'false' }).OBSERVER_PERIODIC_SWEEPS).toBe(
      false,
    );
  });
});
