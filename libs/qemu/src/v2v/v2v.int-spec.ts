import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '@ferry/platform';
import { buildBootableGuest } from '@ferry/testing';
import { convertInPlace } from './v2v-in-place';
import { V2vError } from './v2v-types';

// A successful conversion of a real Debian 12 (about 4 minutes under TCG) is proven once, end to end,
// by test/e2e/migration-debian.e2e-spec.ts (a migration whose FIX runs virt-v2v through volume-daemon,
// then boots the result); here only what the wrapper must do when virt-v2v does not convert.
const V2V_TIMEOUT_MS = 600_000;
const TEST_TIMEOUT_MS = 900_000;

/** The processes whose command line names `needle` (a test's own directory): none may outlive a run. */
async function processesNaming(needle: string): Promise<string[]> {
  const ps = await runCommand('ps', ['-eo', 'pid=,args='], 10_000);
  return ps.split('\n').filter((l) => l.includes(needle) && !l.includes(' ps -eo'));
}

describe('virt-v2v on a guest it cannot convert', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-v2v-tiny-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(
    "refuses the tiny test guest with virt-v2v's own reason, and aborts leaving no process behind",
    async () => {
      const tiny = await buildBootableGuest(join(dir, 'tiny'), { vmwareTraits: true });
      const err = await convertInPlace([{ path: tiny.path, format: 'raw' }], {
        timeoutMs: V2V_TIMEOUT_MS,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(V2vError);
      const v2v = err as V2vError;
      expect(v2v.kind).toBe('failed');
      expect(v2v.exitCode).toBe(1);
      expect(v2v.reason).toMatch(/^not enough free space for conversion on filesystem ‘\/’/);
      // The stage it printed last: its stdout and stderr are two pipes, and the free-space message may
      // come after the error.
      expect(['inspecting', 'checking-space']).toContain(v2v.stage);

      const aborter = new AbortController();
      const aborted = convertInPlace([{ path: tiny.path, format: 'raw' }], {
        timeoutMs: V2V_TIMEOUT_MS,
        signal: aborter.signal,
        onProgress: (p) => p.stage === 'opening' && aborter.abort(),
      }).catch((e: unknown) => e);
      const abortErr = (await aborted) as V2vError;
      expect(abortErr).toBeInstanceOf(V2vError);
      expect(abortErr.kind).toBe('aborted');
      expect(await processesNaming(tiny.path)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
