import { createHash } from 'node:crypto';
import type { GuestFixDto } from '@ferry/contracts';
import { MemoryGuestfish } from '../testing/memory-guestfish';
import { applyGuestFixes } from './apply-guest-fixes';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function fix(...edits: GuestFixDto['edits']): GuestFixDto[] {
  return [{ name: 'by-path', title: 't', notes: [], edits }];
}

const write = (path: string, before: string | null, content: string): GuestFixDto['edits'][number] => ({
  kind: 'write',
  path,
  before_sha256: before === null ? null : sha(before),
  content,
  diff: `--- a${path}`,
});

describe('applyGuestFixes', () => {
  it('writes what was planned, keeping the mode of a file that exists and creating directories for one that does not', async () => {
    const guest = new MemoryGuestfish({ '/etc/fstab': 'old\n' });
    const node = guest.nodes.get('/etc/fstab');
    if (node?.kind === 'file') node.mode = 0o600;
    const outcomes = await applyGuestFixes(
      guest,
      fix(write('/etc/fstab', 'old\n', 'new\n'), write('/etc/systemd/network/10-x.link', null, '[Match]\n')),
    );
    expect(outcomes).toEqual([
      { fix: 'by-path', kind: 'write', path: '/etc/fstab', outcome: 'applied', detail: '--- a/etc/fstab' },
      expect.objectContaining({ path: '/etc/systemd/network/10-x.link', outcome: 'applied' }),
    ]);
    expect(guest.text('/etc/fstab')).toBe('new\n');
    expect(guest.nodes.get('/etc/fstab')).toMatchObject({ mode: 0o600 });
    expect(guest.text('/etc/systemd/network/10-x.link')).toBe('[Match]\n');
    expect(guest.log).toContain('sync');
  });

  it('writes nothing at all when one file changed since the plan, and names it', async () => {
    const guest = new MemoryGuestfish({ '/etc/fstab': 'edited by hand\n', '/etc/crypttab': 'old\n' });
    const outcomes = await applyGuestFixes(
      guest,
      fix(write('/etc/crypttab', 'old\n', 'new\n'), write('/etc/fstab', 'old\n', 'new\n')),
    );
    expect(outcomes.map((o) => [o.path, o.outcome])).toEqual([
      ['/etc/crypttab', 'failed'],
      ['/etc/fstab', 'failed'],
    ]);
    expect(outcomes[1]!.detail).toMatch(
      /^conflict: \/etc\/fstab changed since the plan: it is file [0-9a-f]{12}…, the plan expected/,
    );
    expect(outcomes[0]!.detail).toMatch(/^not applied: \/etc\/fstab changed since the plan/);
    expect(guest.text('/etc/crypttab')).toBe('old\n');
    expect(guest.log.some((l) => l.startsWith('upload'))).toBe(false);
  });

  it('refuses to create a file that appeared since the plan', async () => {
    const guest = new MemoryGuestfish({ '/etc/udev/rules.d/70-persistent-net.rules': 'someone else\n' });
    const [o] = await applyGuestFixes(
      guest,
      fix(write('/etc/udev/rules.d/70-persistent-net.rules', null, 'x\n')),
    );
    expect(o).toMatchObject({
      outcome: 'failed',
      detail: expect.stringContaining('the plan expected it absent'),
    });
  });

  it('stops at the first failure: what is after it is not attempted, and a second run finishes the job', async () => {
    const guest = new MemoryGuestfish({ '/a': '1\n', '/b': '1\n', '/c': '1\n' });
    guest.failing.set('rename', 'Read-only file system');
    const edits = fix(
      write('/a', '1\n', '2\n'),
      {
        kind: 'rename',
        path: '/b',
        before_sha256: sha('1\n'),
        target: '/b.ferry-disabled',
        diff: 'rename /b',
      },
      write('/c', '1\n', '2\n'),
    );
    const first = await applyGuestFixes(guest, edits);
    expect(first.map((o) => o.outcome)).toEqual(['applied', 'failed', 'failed']);
    expect(first[1]!.detail).toBe('rename: Read-only file system');
    expect(first[2]!.detail).toBe('not attempted: rename /b failed: rename: Read-only file system');
    guest.failing.clear();
    const second = await applyGuestFixes(guest, edits);
    expect(second.map((o) => o.outcome)).toEqual(['skipped', 'applied', 'applied']);
    expect(guest.text('/b.ferry-disabled')).toBe('1\n');
  });

  it('refuses a command edit whose words could be split or quoted differently by guestfish', async () => {
    const guest = new MemoryGuestfish({ '/l': 'x' });
    await expect(
      applyGuestFixes(
        guest,
        fix({
          kind: 'command',
          path: '/l',
          before_sha256: null,
          command: ['/bin/sh', '-c', 'rm -rf /'],
          unless_absent: '/l',
          diff: '',
        }),
      ),
    ).rejects.toThrow('its words must be plain');
  });

  it('quotes paths with spaces and quotes for guestfish', async () => {
    const path = '/etc/NetworkManager/system-connections/Wired "1".nmconnection';
    const guest = new MemoryGuestfish({ [path]: 'a\n' });
    const [o] = await applyGuestFixes(guest, fix(write(path, 'a\n', 'b\n')));
    expect(o!.outcome).toBe('applied');
    expect(guest.text(path)).toBe('b\n');
    expect(guest.log).toContain(
      'lstatns "/etc/NetworkManager/system-connections/Wired \\"1\\".nmconnection"',
    );
  });
});
