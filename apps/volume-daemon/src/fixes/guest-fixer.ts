import type { Provider } from '@nestjs/common';
import type { FixGuestFacts, FixOutcomeDto, GuestFixDto } from '@ferry/contracts';
import { applyGuestFixes, mountGuest } from '@ferry/guest';
import type { V2vConversion } from '@ferry/qemu';
import {
  GuestfishSession,
  convertInPlace,
  libguestfsEnv,
  listImageSnapshots,
  snapshotImage,
} from '@ferry/qemu';
import { VolumeDaemonConfig } from '../config/volume-daemon.config';
import type { GuestFixer, GuestImage } from '../operations/flows/flow-deps';

export const GUEST_FIXER = Symbol('GUEST_FIXER');

export interface GuestFixerOptions {
  qemuImg: string;
  qemuBinary: string;
  guestfish: string;
  /** Limit of virt-v2v's conversion, and of the edits' libguestfs session, in ms. */
  timeoutMs: number;
}

/**
 * The guest fixes on image files: virt-v2v in place (libs/qemu), Ferry's planned edits in one
 * read-write libguestfs session (libs/guest), and the internal qcow2 snapshots that make a fix all or
 * nothing. Only volume-daemon writes volume bytes, so this runs here.
 */
export class ImageGuestFixer implements GuestFixer {
  constructor(private readonly options: GuestFixerOptions) {}

  async virtV2v(
    images: GuestImage[],
    o: { signal: AbortSignal; onStage: (stage: string) => void },
  ): Promise<string> {
    const result = await convertInPlace(images, {
      timeoutMs: this.options.timeoutMs,
      signal: o.signal,
      qemuBinary: this.options.qemuBinary,
      onProgress: (p) => o.onStage(p.message),
    });
    return describeConversion(result);
  }

  async applyEdits(
    images: GuestImage[],
    guest: FixGuestFacts,
    fixes: GuestFixDto[],
    signal: AbortSignal,
  ): Promise<FixOutcomeDto[]> {
    const session = await GuestfishSession.start(images, {
      guestfish: this.options.guestfish,
      env: await libguestfsEnv(this.options.qemuBinary),
      timeoutMs: this.options.timeoutMs,
      signal,
      readWrite: true,
    });
    try {
      // Mounted as the inspection that planned the edits mounted it (a by-path /boot included).
      await mountGuest(session, guest, { readOnly: false });
      const outcomes = await applyGuestFixes(session, fixes);
      await session.run(['umount-all', 'sync']);
      return outcomes;
    } finally {
      await session.close();
    }
  }

  async snapshot(
    paths: string[],
    name: string,
    action: 'create' | 'apply' | 'delete',
    signal: AbortSignal,
  ): Promise<void> {
    const options = { qemuImg: this.options.qemuImg, timeoutMs: 120_000, signal };
    for (const path of paths) {
      const has = (await listImageSnapshots(path, options)).includes(name);
      if (action === 'create' && has) continue; // made just before a crash: it is the state before the fix
      if (action === 'delete' && !has) continue;
      await snapshotImage(path, action, name, options);
    }
  }
}

/** What virt-v2v did, in a sentence for the operation's step and the migration's report. */
export function describeConversion(c: V2vConversion): string {
  const f = c.facts;
  const parts = [
    `converted ${f.product ?? 'the guest'} in ${Math.round(c.elapsedMs / 1000)} s`,
    f.removedPackages.length ? `removed ${f.removedPackages.join(', ')}` : '',
    f.initramfsRebuilt
      ? `initramfs rebuilt${f.initramfsModules.length ? ` with ${f.initramfsModules.join(', ')}` : ''}`
      : '',
    f.bootloaderUpdated ? 'bootloader configuration regenerated' : '',
    f.deviceMap.length ? `renamed ${f.deviceMap.map((d) => `${d.from}→${d.to}`).join(', ')}` : '',
    c.warnings.length ? `warnings: ${c.warnings.join('; ')}` : '',
  ];
  return parts.filter(Boolean).join('; ');
}

export const guestFixerProvider: Provider = {
  provide: GUEST_FIXER,
  inject: [VolumeDaemonConfig],
  useFactory: (config: VolumeDaemonConfig): GuestFixer =>
    new ImageGuestFixer({
      qemuImg: 'qemu-img',
      qemuBinary: 'qemu-system-x86_64',
      guestfish: 'guestfish',
      timeoutMs: config.VOLUME_FIX_TIMEOUT_MS,
    }),
};
