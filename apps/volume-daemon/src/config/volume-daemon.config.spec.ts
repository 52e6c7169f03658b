import { ConfigError, loadConfig } from '@ferry/platform';
import { VolumeDaemonConfig } from './volume-daemon.config';

describe('VolumeDaemonConfig', () => {
  const cloudstack = {
    VOLUME_BACKEND: 'cloudstack',
    CLOUDSTACK_API_KEY: 'key',
    CLOUDSTACK_SECRET_KEY: 'secret',
    CLOUDSTACK_ZONE_ID: 'zone',
    CLOUDSTACK_DISK_OFFERING_ID: 'offering',
  };

  it('takes an https CloudStack endpoint', () => {
    const url = 'https://cloud.example.com/client/api';
    expect(
      loadConfig(VolumeDaemonConfig, { ...cloudstack, CLOUDSTACK_API_URL: url }).CLOUDSTACK_API_URL,
    ).toBe(url);
  });

  it('refuses an http CloudStack endpoint, which would carry the API key in clear, unless allowed', () => {
    const url = 'http://cloud.example.com/client/api';
    expect(() => loadConfig(VolumeDaemonConfig, { ...cloudstack, CLOUDSTACK_API_URL: url })).toThrow(
      /CLOUDSTACK_API_URL=.*must be https:\/\/.*CLOUDSTACK_ALLOW_HTTP/,
    );
    expect(() => loadConfig(VolumeDaemonConfig, { ...cloudstack, CLOUDSTACK_API_URL: url })).toThrow(
      ConfigError,
    );
    const allowed = loadConfig(VolumeDaemonConfig, {
      ...cloudstack,
      CLOUDSTACK_API_URL: url,
      CLOUDSTACK_ALLOW_HTTP: 'true',
    });
    expect(allowed.CLOUDSTACK_ALLOW_HTTP).toBe(true);
  });

  it('does not ask for a CloudStack endpoint with the local backend', () => {
    expect(loadConfig(VolumeDaemonConfig, { VOLUME_BACKEND: 'local' }).CLOUDSTACK_API_URL).toBe('');
  });
});
