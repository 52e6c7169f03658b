import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unifiedDiff } from './unified-diff';

/** Applies a unified diff the way patch(1) does, strictly (context must match): what the diff says. */
function applyPatch(before: string | null, diff: string): string {
  const src = before === null || before === '' ? [] : before.split(/(?<=\n)/);
  const out: string[] = [];
  let at = 0;
  const lines = diff.split('\n').slice(2, -1);
  for (let i = 0; i < lines.length; i++) {
    const h = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@$/.exec(lines[i]!);
    if (!h) throw new Error(`not a hunk header: ${lines[i]}`);
    const start = Number(h[1]) - (h[2] === '0' ? 0 : 1);
    while (at < start) out.push(src[at++]!);
    for (i++; i < lines.length && !lines[i]!.startsWith('@@'); i++) {
      const l = lines[i]!;
      const noEol = lines[i + 1] === '\\ No newline at end of file';
      const text = l.slice(1) + (noEol ? '' : '\n');
      if (l[0] === ' ' || l[0] === '-') {
        if (src[at] !== text)
          throw new Error(`context mismatch at ${at}: ${JSON.stringify(src[at])} vs ${JSON.stringify(text)}`);
        at++;
      }
      if (l[0] === ' ' || l[0] === '+') out.push(text);
      if (noEol) i++;
    }
    i--;
  }
  while (at < src.length) out.push(src[at++]!);
  return out.join('');
}

describe('unifiedDiff', () => {
  const fstab =
    '# /etc/fstab\n' +
    'UUID=7d1c9b2e-4f3a-4e8d-9b6c-0a1b2c3d4e5f / ext4 errors=remount-ro 0 1\n' +
    '/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0-part1 /data ext4 defaults 0 2\n';

  it('writes one hunk with three lines of context, as diff -u does', () => {
    const after = fstab.replace('/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0-part1', 'UUID=3a9e5f71');
    expect(unifiedDiff('/etc/fstab', fstab, after)).toBe(
      [
        '--- a/etc/fstab',
        '+++ b/etc/fstab',
        '@@ -1,3 +1,3 @@',
        ' # /etc/fstab',
        ' UUID=7d1c9b2e-4f3a-4e8d-9b6c-0a1b2c3d4e5f / ext4 errors=remount-ro 0 1',
        '-/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0-part1 /data ext4 defaults 0 2',
        '+UUID=3a9e5f71 /data ext4 defaults 0 2',
        '',
      ].join('\n'),
    );
  });

  it('is empty for equal texts, and says how a file is created or removed', () => {
    expect(unifiedDiff('/etc/x', 'a\n', 'a\n')).toBe('');
    expect(unifiedDiff('/etc/udev/rules.d/70-persistent-net.rules', null, 'a\nb\n')).toBe(
      '--- /dev/null\n+++ b/etc/udev/rules.d/70-persistent-net.rules\n@@ -0,0 +1,2 @@\n+a\n+b\n',
    );
    expect(unifiedDiff('/etc/x', 'a\n', null)).toBe('--- a/etc/x\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n');
  });

  it('marks a last line without a newline', () => {
    expect(unifiedDiff('/etc/x', 'a\nb', 'a\nb\n')).toBe(
      '--- a/etc/x\n+++ b/etc/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n',
    );
  });

  it('splits changes more than six lines apart into hunks', () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i + 1}\n`).join('');
    const after = before.replace('line 2\n', 'line two\n').replace('line 18\n', 'line eighteen\n');
    const diff = unifiedDiff('/f', before, after);
    expect(diff.match(/^@@ .* @@$/gm)).toEqual(['@@ -1,5 +1,5 @@', '@@ -15,6 +15,6 @@']);
    expect(applyPatch(before, diff)).toBe(after);
  });

  it('agrees with GNU diff -u, and patches back to the new text, on edits of every kind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-diff-'));
    try {
      // Seeded, so that a failure is the same failure next time.
      let seed = 42;
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      for (let round = 0; round < 60; round++) {
        const a = Array.from({ length: rand(25) }, () => `l${rand(6)}\n`);
        const b = [...a];
        for (let k = rand(5); k > 0; k--) {
          const at = rand(b.length + 1);
          if (rand(2)) b.splice(at, 1);
          else b.splice(at, 0, `n${rand(4)}\n`);
        }
        const before = a.join('');
        const after = round % 7 === 0 ? b.join('').replace(/\n$/, '') : b.join('');
        const diff = unifiedDiff('/f', before, after);
        if (before === after) {
          expect(diff).toBe('');
          continue;
        }
        expect(applyPatch(before, diff)).toBe(after);
        writeFileSync(join(dir, 'a'), before);
        writeFileSync(join(dir, 'b'), after);
        let gnu = '';
        try {
          execFileSync('diff', ['-u', join(dir, 'a'), join(dir, 'b')], { encoding: 'utf8' });
        } catch (err) {
          gnu = (err as { stdout: string }).stdout;
        }
        // Same hunks, counted the same way (the lines chosen may differ where several LCS exist).
        const headers = (d: string) => d.match(/^@@ .* @@$/gm)?.length;
        expect(headers(diff)).toBe(headers(gnu));
        const counted = (d: string) => d.split('\n').filter((l) => /^[-+](?![-+]{2} )/.test(l)).length;
        expect(counted(diff)).toBe(counted(gnu));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
