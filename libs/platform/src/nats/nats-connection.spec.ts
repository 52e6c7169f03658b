import { natsTlsOptions, parseNatsUrl } from './nats-connection';

describe('NATS connection settings', () => {
  it('keeps credentials out of the server list, tls:// included', () => {
    expect(parseNatsUrl('tls://gateway:p1@nats:4222')).toEqual({
      servers: ['tls://nats:4222'],
      user: 'gateway',
      pass: 'p1',
    });
  });

  it('uses TLS with a tls:// URL or a TLS file, passing only the files given', () => {
    expect(natsTlsOptions('nats://nats:4222', {})).toBeUndefined();
    expect(natsTlsOptions('nats://nats:4222', { caFile: '', certFile: '' })).toBeUndefined();
    expect(natsTlsOptions('tls://nats:4222', { caFile: '' })).toEqual({});
    expect(natsTlsOptions('nats://a:4222,tls://b:4222', {})).toEqual({});
    expect(natsTlsOptions('nats://nats:4222', { caFile: '/etc/ferry/ca.pem', keyFile: '' })).toEqual({
      caFile: '/etc/ferry/ca.pem',
    });
  });
});
