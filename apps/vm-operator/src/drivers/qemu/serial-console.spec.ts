import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitJson, previousLogOf, readLogTail, rotateLog } from './serial-console';

const BIG = { tailBytes: 1024 * 1024, maxJsonBytes: 4 * 1024 * 1024 };

describe('serial console log', () => {
  let dir: string;
  let log: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-serial-'));
    log = join(dir, 'serial.log');
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('readLogTail', () => {
    it('reads a missing log (a VM that never started) as empty', async () => {
      expect(await readLogTail(log, BIG)).toEqual({ text: '', bytes: 0, truncated: false, updatedAt: null });
    });

    it('returns a log smaller than the tail whole, with its size and mtime', async () => {
      writeFileSync(log, 'SeaBIOS\nFERRY-BOOT-OK\n');
      const when = new Date('2026-01-02T03:04:05.000Z');
      utimesSync(log, when, when);
      expect(await readLogTail(log, BIG)).toEqual({
        text: 'SeaBIOS\nFERRY-BOOT-OK\n',
        bytes: 22,
        truncated: false,
        updatedAt: when,
      });
    });

    it('returns only the last tailBytes of a larger log, and says so', async () => {
      const lines = Array.from({ length: 1000 }, (_, i) => `line ${String(i).padStart(4, '0')}\n`);
      writeFileSync(log, lines.join(''));
      const tail = await readLogTail(log, { ...BIG, tailBytes: 20 });
      expect(tail).toMatchObject({ text: 'line 0998\nline 0999\n', bytes: 10_000, truncated: true });
      // Exactly the log's size is not cut.
      expect(await readLogTail(log, { ...BIG, tailBytes: 10_000 })).toMatchObject({ truncated: false });
    });

    it('replaces invalid UTF-8 with U+FFFD and removes carriage returns', async () => {
      writeFileSync(
        log,
        Buffer.concat([
          Buffer.from('login: \r\n'),
          Buffer.from([0xff, 0xfe, 0x41]),
          Buffer.from('\r\nok\r\n'),
        ]),
      );
      const tail = await readLogTail(log, BIG);
      expect(tail.text).toBe('login: \n\uFFFD\uFFFDA\nok\n');
      expect(tail.text).not.toContain('\r');
    });

    it('keeps other control characters (terminal escapes), as the guest wrote them', async () => {
      writeFileSync(log, '\u001b[1mbold\u001b[0m\n');
      expect((await readLogTail(log, BIG)).text).toBe('\u001b[1mbold\u001b[0m\n');
    });

    it('does not turn a character the tail cuts in half into U+FFFD', async () => {
      // "é" is C3 A9 and "€" E2 82 AC: a 3-byte tail starts in the middle of "€" before "x".
      writeFileSync(log, 'é€x');
      const tail = await readLogTail(log, { ...BIG, tailBytes: 3 });
      expect(tail).toMatchObject({ text: 'x', truncated: true, bytes: 6 });
    });

    it('leaves a character QEMU has written only part of for the next read', async () => {
      writeFileSync(log, Buffer.concat([Buffer.from('ok '), Buffer.from([0xe2, 0x82])]));
      expect((await readLogTail(log, BIG)).text).toBe('ok ');
      writeFileSync(log, Buffer.concat([Buffer.from('ok '), Buffer.from([0xe2, 0x82, 0xac])]));
      expect((await readLogTail(log, BIG)).text).toBe('ok €');
    });

    it("cuts the text further so that its JSON fits the reply's budget", async () => {
      // 1000 bytes of invalid UTF-8 become 1000 U+FFFD: 3000 bytes of JSON.
      writeFileSync(log, Buffer.concat([Buffer.alloc(1000, 0xff), Buffer.from('END\n')]));
      const tail = await readLogTail(log, { tailBytes: 1024 * 1024, maxJsonBytes: 300 });
      expect(Buffer.byteLength(JSON.stringify(tail.text))).toBeLessThanOrEqual(302);
      expect(tail.text.endsWith('END\n')).toBe(true);
      expect(tail).toMatchObject({ bytes: 1004, truncated: true });
    });
  });

  describe('fitJson', () => {
    it("counts JSON's escapes and UTF-8's bytes", () => {
      const text = 'a"\\\n\u0001é€😀';
      const exact = Buffer.byteLength(JSON.stringify(text)) - 2;
      expect(fitJson(text, exact)).toEqual({ text, cut: false });
      expect(fitJson(text, exact - 1)).toEqual({ text: text.slice(1), cut: true });
    });

    it('never starts inside a surrogate pair', () => {
      // 😀 is 4 bytes: with 3 it does not fit at all, and no half of it is left.
      expect(fitJson('😀', 3)).toEqual({ text: '', cut: true });
      expect(fitJson('a😀', 4)).toEqual({ text: '😀', cut: true });
    });
  });

  describe('rotateLog', () => {
    it("moves the last boot's log to serial.log.1, replacing the one before", async () => {
      writeFileSync(previousLogOf(log), 'boot 1\n');
      writeFileSync(log, 'boot 2\n');
      await rotateLog(log);
      expect(existsSync(log)).toBe(false);
      expect(readFileSync(previousLogOf(log), 'utf8')).toBe('boot 2\n');
    });

    it('leaves an empty log, so that a failed start does not push the last boot out', async () => {
      writeFileSync(previousLogOf(log), 'the boot that crashed\n');
      writeFileSync(log, '');
      await rotateLog(log);
      expect(readFileSync(previousLogOf(log), 'utf8')).toBe('the boot that crashed\n');
    });

    it('does nothing when there is no log yet', async () => {
      await expect(rotateLog(log)).resolves.toBeUndefined();
      expect(existsSync(previousLogOf(log))).toBe(false);
    });
  });
});
