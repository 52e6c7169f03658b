import { addressesAllowed, matchHost, parseAllowlist } from './vcenter-allowlist';

/** The verdict for a vCenter URL, as VcenterPolicy asks: by URL.hostname, so ports never count. */
const verdict = (list: string, url: string) => matchHost(parseAllowlist(list), new URL(url).hostname);

describe('INSPECTOR_VCENTER_ALLOWLIST', () => {
  it('matches host names exactly, whatever their case, port or trailing dot', () => {
    const list = 'vc.example.com, ESX-01.Lab.Example';
    expect(verdict(list, 'https://vc.example.com/sdk')).toBe('allowed');
    expect(verdict(list, 'https://VC.Example.COM:8443/sdk')).toBe('allowed');
    expect(verdict(list, 'https://vc.example.com.:443')).toBe('allowed');
    expect(verdict(list, 'https://esx-01.lab.example')).toBe('allowed');
    for (const other of [
      'https://evil.vc.example.com',
      'https://vc.example.com.evil',
      'https://vc.example.co',
    ]) {
      expect(verdict(list, other)).toBe('refused');
    }
  });

  it('matches IPv4 literals against addresses and CIDRs', () => {
    const list = '10.0.0.0/8,192.168.1.10';
    expect(verdict(list, 'https://10.20.30.40:443/sdk')).toBe('allowed');
    expect(verdict(list, 'https://192.168.1.10:8443')).toBe('allowed');
    expect(verdict(list, 'https://192.168.1.11')).toBe('refused');
    expect(verdict(list, 'https://11.0.0.1')).toBe('refused');
    // URLs spell other IPv4 forms as dotted quads: 167772161 is 10.0.0.1, 0x7f.1 is 127.0.0.1.
    expect(verdict(list, 'https://167772161/sdk')).toBe('allowed');
    expect(verdict(list, 'https://0x7f.1/sdk')).toBe('refused');
  });

  it('matches IPv6 literals (in brackets in a URL) against addresses and CIDRs, bare or bracketed', () => {
    const list = 'fd00:1::/32, [2001:db8::5], ::1';
    expect(verdict(list, 'https://[fd00:1:2::3]/sdk')).toBe('allowed');
    expect(verdict(list, 'https://[fd00:2::3]/sdk')).toBe('refused');
    expect(verdict(list, 'https://[2001:DB8:0:0::5]:9443')).toBe('allowed');
    expect(verdict(list, 'https://[2001:db8::6]')).toBe('refused');
    expect(verdict(list, 'https://[::1]:1234')).toBe('allowed');
    expect(verdict('[fd00::]/8', 'https://[fd12::1]')).toBe('allowed');
  });

  it('counts an IPv4-mapped IPv6 address as the IPv4 address it is', () => {
    expect(verdict('10.0.0.0/8', 'https://[::ffff:10.1.2.3]')).toBe('allowed');
    expect(verdict('10.0.0.0/8', 'https://[::ffff:127.0.0.1]')).toBe('refused');
  });

  it('sends a host name no entry names to DNS only when there are ranges to resolve it into', () => {
    expect(verdict('vc.example.com', 'https://other.example.com')).toBe('refused');
    expect(verdict('vc.example.com,10.0.0.0/8', 'https://other.example.com')).toBe('resolve');
    expect(verdict('vc.example.com,10.0.0.0/8', 'https://vc.example.com')).toBe('allowed');
    // An IP literal is never resolved, nor matched against host names.
    expect(verdict('vc.example.com', 'https://10.0.0.1')).toBe('refused');
  });

  it('allows resolved addresses only when every one is inside, and none never', () => {
    const list = parseAllowlist('10.0.0.0/8, fd00::/8');
    expect(addressesAllowed(list, ['10.0.0.1', 'fd00::1'])).toBe(true);
    expect(addressesAllowed(list, ['10.0.0.1', '127.0.0.1'])).toBe(false);
    expect(addressesAllowed(list, ['::1'])).toBe(false);
    expect(addressesAllowed(list, [])).toBe(false);
    expect(addressesAllowed(list, ['not-an-address'])).toBe(false);
  });

  it('ignores blanks, and treats an empty list as empty', () => {
    const list = parseAllowlist(' , vc.example.com ,, ');
    expect([...list.hosts]).toEqual(['vc.example.com']);
    expect(parseAllowlist('').hosts.size).toBe(0);
    expect(parseAllowlist('').hasRanges).toBe(false);
  });

  it('refuses entries that are no host, address or CIDR, naming them', () => {
    for (const bad of [
      'vc.example.com:443',
      'https://vc.example.com',
      'vc.example.com/sdk',
      'user@vc.example.com',
      '*.example.com',
      '10.0.0.0/33',
      'fd00::/129',
      '10.0.0.0/',
      '10.0.0.0/x',
      'vc.example.com/24',
      'vc example.com',
      '[fd00::1]:443',
    ]) {
      expect(() => parseAllowlist(`vc.ok.example,${bad}`)).toThrow(bad);
    }
  });
});
