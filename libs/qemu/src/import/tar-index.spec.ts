import { isTarHeader, listTarMembers, parseTarHeader } from './tar-index';

/** A ustar header as GNU tar writes it: octal fields, the checksum over the block with spaces in it. */
function header(name: string, size: number, type = '0', prefix = ''): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'utf8');
  b.write('0000644\0', 100);
  b.write(size.toString(8).padStart(11, '0') + '\0', 124);
  b.write(type, 156);
  b.write('ustar\0', 257);
  b.write('00', 263);
  b.write(prefix, 345, 155, 'utf8');
  b.fill(0x20, 148, 156);
  const sum = b.reduce((a, x) => a + x, 0);
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return b;
}

const pad = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

function archive(...parts: Buffer[]): { read: (o: number, l: number) => Promise<Buffer>; size: number } {
  const all = Buffer.concat([...parts, Buffer.alloc(1024)]);
  return { read: async (o, l) => all.subarray(o, o + l), size: all.length };
}

describe('parseTarHeader', () => {
  it('reads name, size and type, joining the ustar prefix', () => {
    expect(parseTarHeader(header('web01.ovf', 1234))).toEqual({ name: 'web01.ovf', size: 1234, type: '0' });
    expect(parseTarHeader(header('disk.vmdk', 0, '0', 'vm/dir'))?.name).toBe('vm/dir/disk.vmdk');
  });

  it("reads GNU's base-256 size (8 GiB and more)", () => {
    const b = header('big.vmdk', 0);
    const size = 12 * 1024 ** 3;
    b.fill(0, 124, 136);
    b[124] = 0x80;
    b.writeUIntBE(size, 130, 6);
    b.fill(0x20, 148, 156);
    b.write(
      b
        .reduce((a, x) => a + x, 0)
        .toString(8)
        .padStart(6, '0') + '\0 ',
      148,
    );
    expect(parseTarHeader(b)?.size).toBe(size);
  });

  it('is null at the end (a zero block), and refuses a bad checksum or a non-ustar block', () => {
    expect(parseTarHeader(Buffer.alloc(512))).toBeNull();
    const bad = header('x', 1);
    bad[0] = 'y'.charCodeAt(0);
    expect(() => parseTarHeader(bad)).toThrow(/checksum/);
    expect(isTarHeader(Buffer.from('# Disk DescriptorFile'.padEnd(512)))).toBe(false);
  });
});

describe('listTarMembers', () => {
  it('lists members with their data offsets, skipping the data', async () => {
    const ovf = Buffer.from('<Envelope/>');
    const disk = Buffer.alloc(1500, 7);
    const { read, size } = archive(
      header('a.ovf', ovf.length),
      pad(ovf),
      header('a-disk1.vmdk', disk.length),
      pad(disk),
    );
    const reads: number[] = [];
    const members = await listTarMembers(async (o, l) => (reads.push(o), read(o, l)), size);
    expect(members).toEqual([
      { name: 'a.ovf', offset: 512, size: ovf.length, type: '0' },
      { name: 'a-disk1.vmdk', offset: 1536, size: 1500, type: '0' },
    ]);
    expect(reads).not.toContain(1536);
  });

  it('takes GNU long names (L) and pax path= and size= records', async () => {
    const long = `${'d'.repeat(120)}.vmdk`;
    const paxName = 'pax-name.vmdk';
    const record = (k: string, v: string) => {
      const body = ` ${k}=${v}\n`;
      let n = body.length + 1;
      if (`${n}${body}`.length !== n) n = `${n}${body}`.length;
      return `${n}${body}`;
    };
    const pax = Buffer.from(record('path', paxName) + record('size', '3'));
    const { read, size } = archive(
      header('././@LongLink', long.length + 1, 'L'),
      pad(Buffer.from(`${long}\0`)),
      header('truncated-name', 2),
      pad(Buffer.from('ab')),
      header('PaxHeaders/x', pax.length, 'x'),
      pad(pax),
      header('ignored', 0),
      pad(Buffer.from('xyz')),
    );
    const members = await listTarMembers(read, size);
    expect(members.map((m) => [m.name, m.size])).toEqual([
      [long, 2],
      [paxName, 3],
    ]);
  });

  it('refuses a member that runs past the end of the file', async () => {
    const all = Buffer.concat([header('cut.vmdk', 10_000), Buffer.alloc(512)]);
    await expect(listTarMembers(async (o, l) => all.subarray(o, o + l), all.length)).rejects.toThrow(
      /past the end/,
    );
  });
});
