import { MAX_VM_NICS } from '@ferry/contracts';
import { dnsmasqArgs, dnsmasqPaths } from './dnsmasq';
import { isLeaseCurrent, leasesByMac, parseLeases } from './dnsmasq-leases';
import { bridgeSubnetProblem, parseBridgeSubnet } from './ipv4';
import { tapName } from './network-options';

describe('tapName', () => {
  it('is 15 characters at most, the same for the same VM and NIC, and differs between them', () => {
    const vm = '3f2a9c1e-0b7d-4e6f-8a1b-2c3d4e5f6a7b';
    const names = Array.from({ length: MAX_VM_NICS }, (_, i) => tapName(vm, i));
    for (const name of names) expect(name).toMatch(/^ft[0-9a-f]{12}[0-7]$/);
    expect(new Set(names).size).toBe(MAX_VM_NICS);
    expect(tapName(vm, 0)).toBe(names[0]);
    expect(tapName('3f2a9c1e-0b7d-4e6f-8a1b-2c3d4e5f6a7c', 0)).not.toBe(names[0]);
    expect(tapName('boot', 0)).toHaveLength(15);
  });

  it('refuses an index without a digit of its own', () => {
    expect(() => tapName('vm', MAX_VM_NICS)).toThrow(/out of range/);
    expect(() => tapName('vm', -1)).toThrow(/out of range/);
  });
});

describe('parseBridgeSubnet', () => {
  it('leases the rest of the subnet above the bridge address', () => {
    expect(parseBridgeSubnet('10.213.0.1/24')).toEqual({
      cidr: '10.213.0.1/24',
      address: '10.213.0.1',
      prefix: 24,
      netmask: '255.255.255.0',
      rangeStart: '10.213.0.2',
      rangeEnd: '10.213.0.254',
    });
    expect(parseBridgeSubnet('172.16.4.9/22')).toMatchObject({
      netmask: '255.255.252.0',
      rangeStart: '172.16.4.10',
      rangeEnd: '172.16.7.254',
    });
    expect(parseBridgeSubnet('192.168.7.1/30')).toMatchObject({
      rangeStart: '192.168.7.2',
      rangeEnd: '192.168.7.2',
    });
  });

  it('says why an address cannot be a bridge', () => {
    expect(bridgeSubnetProblem('10.213.0.1/24')).toBeUndefined();
    expect(bridgeSubnetProblem('10.213.0.1')).toMatch(/with a prefix/);
    expect(bridgeSubnetProblem('10.213.0.256/24')).toMatch(/with a prefix/);
    expect(bridgeSubnetProblem('10.213.0.1/31')).toMatch(/\/8 to \/30/);
    expect(bridgeSubnetProblem('10.213.0.0/24')).toMatch(/network address/);
    expect(bridgeSubnetProblem('10.213.0.254/24')).toMatch(/no address above it/);
    expect(() => parseBridgeSubnet('10.213.0.0/24')).toThrow(
      /VM_NETWORK_CIDR "10.213.0.0\/24" is the network/,
    );
  });
});

describe('dnsmasq', () => {
  it('serves DHCP only, on the bridge only, with its files in the runtime directory', () => {
    const paths = dnsmasqPaths('/var/lib/ferry/vms', 'ferrybr0');
    expect(paths).toEqual({
      dir: '/var/lib/ferry/vms/network/ferrybr0',
      pidFile: '/var/lib/ferry/vms/network/ferrybr0/dnsmasq.pid',
      leaseFile: '/var/lib/ferry/vms/network/ferrybr0/leases',
      logFile: '/var/lib/ferry/vms/network/ferrybr0/dnsmasq.log',
    });
    const args = dnsmasqArgs('ferrybr0', parseBridgeSubnet('10.213.0.1/24'), paths);
    expect(args).toEqual(
      expect.arrayContaining([
        '--conf-file=/dev/null',
        '--port=0',
        '--interface=ferrybr0',
        '--bind-interfaces',
        '--dhcp-range=10.213.0.2,10.213.0.254,255.255.255.0,1h',
        `--dhcp-leasefile=${paths.leaseFile}`,
        `--pid-file=${paths.pidFile}`,
        `--log-facility=${paths.logFile}`,
      ]),
    );
    // Daemonized (no --keep-in-foreground): the guests' DHCP outlives vm-operator.
    expect(args.join(' ')).not.toMatch(/keep-in-foreground|--no-daemon|-d\b/);
  });
});

describe('parseLeases', () => {
  const file = [
    '1767225600 52:54:00:0a:0b:0c 10.213.0.57 ferry-boot-guest 01:52:54:00:0a:0b:0c',
    '1767225700 00:50:56:A1:2B:3C 10.213.0.58 * *',
    '0 52:54:00:aa:bb:cc 10.213.0.59 * *',
    'not a lease',
    '1767225800 52:54:00:0a:0b:0c 10.213.0.60 * *',
    'duid 00:01:00:01:2c:5e:1d:3a:52:54:00:12:34:56',
    '1767225900 1234 fd00::5 * 00:01',
  ].join('\n');

  it('reads IPv4 leases, MACs lower-cased, and stops at the IPv6 part', () => {
    const leases = parseLeases(file);
    expect(leases).toEqual([
      { expires: 1767225600, mac: '52:54:00:0a:0b:0c', ip: '10.213.0.57', hostname: 'ferry-boot-guest' },
      { expires: 1767225700, mac: '00:50:56:a1:2b:3c', ip: '10.213.0.58', hostname: null },
      { expires: 0, mac: '52:54:00:aa:bb:cc', ip: '10.213.0.59', hostname: null },
      { expires: 1767225800, mac: '52:54:00:0a:0b:0c', ip: '10.213.0.60', hostname: null },
    ]);
    expect(parseLeases('')).toEqual([]);
    // Half a file (dnsmasq rewrites it in place) yields the whole lines only.
    expect(parseLeases(file.slice(0, 70))).toHaveLength(1);
  });

  it("keeps each MAC's newest lease; an infinite one is never over", () => {
    const byMac = leasesByMac(parseLeases(file));
    expect(byMac.get('52:54:00:0a:0b:0c')?.ip).toBe('10.213.0.60');
    expect(isLeaseCurrent(byMac.get('52:54:00:aa:bb:cc')!, Date.now())).toBe(true);
    expect(isLeaseCurrent(byMac.get('00:50:56:a1:2b:3c')!, 1767225700 * 1000)).toBe(false);
    expect(isLeaseCurrent(byMac.get('00:50:56:a1:2b:3c')!, 1767225699 * 1000)).toBe(true);
  });
});
