import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realPathWithin } from './path-within';

describe('realPathWithin', () => {
  let base: string;
  let store: string;
  let outside: string;

  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'path-within-')));
    store = join(base, 'store');
    outside = join(base, 'outside');
    mkdirSync(join(store, 'sub'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(store, 'a.qcow2'), '');
    writeFileSync(join(store, 'sub', 'b.raw'), '');
    writeFileSync(join(store, '..dots.raw'), '');
    writeFileSync(join(outside, 'secret'), '');
    symlinkSync(join(outside, 'secret'), join(store, 'to-secret.qcow2'));
    symlinkSync(outside, join(store, 'to-outside'));
    symlinkSync(join(outside, 'later'), join(store, 'dangling.qcow2'));
    symlinkSync(join(store, 'a.qcow2'), join(outside, 'to-inside.qcow2'));
    symlinkSync(store, join(base, 'store-link'));
  });

  afterAll(() => rmSync(base, { recursive: true, force: true }));

  const within = (path: string, dirs = [store]) => realPathWithin(path, dirs);

  it('accepts files inside a directory, at any depth, with their real path', async () => {
    expect(await within(join(store, 'a.qcow2'))).toBe(join(store, 'a.qcow2'));
    expect(await within(join(store, 'sub', 'b.raw'))).toBe(join(store, 'sub', 'b.raw'));
    expect(await within(join(store, 'sub', '..', 'a.qcow2'))).toBe(join(store, 'a.qcow2'));
    expect(await within(join(store, '..dots.raw'))).toBe(join(store, '..dots.raw'));
  });

  it('accepts a file that does not exist yet in a directory inside', async () => {
    expect(await within(join(store, 'new.qcow2'))).toBe(join(store, 'new.qcow2'));
    expect(await within(join(store, 'sub', 'new.raw'))).toBe(join(store, 'sub', 'new.raw'));
  });

  it('refuses symlinks inside that lead outside, to files that exist or not', async () => {
    expect(await within(join(store, 'to-secret.qcow2'))).toBeUndefined();
    expect(await within(join(store, 'to-outside', 'secret'))).toBeUndefined();
    expect(await within(join(store, 'to-outside', 'not-yet.qcow2'))).toBeUndefined();
    expect(await within(join(store, 'dangling.qcow2'))).toBeUndefined();
  });

  it('refuses `..` traversal out of the directory', async () => {
    expect(await within(`${store}/../outside/secret`)).toBeUndefined();
    expect(await within(`${store}/sub/../../outside/new.qcow2`)).toBeUndefined();
    expect(await within(`${store}/../../../../../../etc/shadow`)).toBeUndefined();
    expect(await within(`${store}/missing/../../outside/secret`)).toBeUndefined();
  });

  it('refuses paths outside, the directory itself, missing directories and relative paths', async () => {
    expect(await within('/etc/shadow')).toBeUndefined();
    expect(await within(join(outside, 'secret'))).toBeUndefined();
    expect(await within(store)).toBeUndefined();
    expect(await within(join(store, 'missing', 'x.qcow2'))).toBeUndefined();
    expect(await within('a.qcow2')).toBeUndefined();
    expect(await within(join(store, 'a.qcow2'), [])).toBeUndefined();
    expect(await within(join(store, 'a.qcow2'), [join(base, 'no-such-dir')])).toBeUndefined();
  });

  it('follows symlinks on both sides: a link into a directory, and a directory that is a link', async () => {
    expect(await within(join(outside, 'to-inside.qcow2'))).toBe(join(store, 'a.qcow2'));
    expect(await within(join(base, 'store-link', 'a.qcow2'))).toBe(join(store, 'a.qcow2'));
    expect(await within(join(store, 'a.qcow2'), [join(base, 'store-link')])).toBe(join(store, 'a.qcow2'));
    expect(await within(join(outside, 'secret'), [outside, store])).toBe(join(outside, 'secret'));
  });
});
