import type { V2vConversionFacts, V2vProgress, V2vStage, V2vStageTime } from './v2v-types';

/** virt-v2v's messages on stdout, by their first words (virt-v2v 2.2's convert.ml and in_place.ml). */
const STAGE_MESSAGES: [RegExp, V2vStage][] = [
  [/^Setting up the source/, 'setup'],
  [/^Opening the source/, 'opening'],
  [/^Inspecting the source/, 'inspecting'],
  [/^Checking for sufficient free disk space/, 'checking-space'],
  [/^Converting .* to run on KVM$/, 'converting'],
  [/^Mapping filesystem data/, 'mapping'],
  [/^Closing the overlay/, 'closing'],
  [/^Assigning disks to buses/, 'assigning-buses'],
  [/^Checking if the guest needs BIOS or UEFI/, 'checking-firmware'],
  [/^Finishing off/, 'finishing'],
];

/**
 * The share of a whole run done when each stage starts, from the Debian test guest converted in
 * place here under TCG (206 s: opening 39 s, inspecting 30 s, converting 124 s, mapping 12 s).
 */
const STAGE_SHARE: Record<V2vStage, number> = {
  setup: 0,
  opening: 0.01,
  inspecting: 0.19,
  'checking-space': 0.33,
  converting: 0.34,
  mapping: 0.93,
  closing: 0.98,
  'assigning-buses': 0.99,
  'checking-firmware': 0.99,
  finishing: 0.995,
  other: -1,
};

const MESSAGE = /^\[\s*(\d+(?:\.\d+)?)\] (.*)$/;
const PROGRAM = /^virt-v2v(?:-in-place|-inspector)?: /;
const TRACE_COMMAND = /^libguestfs: trace: v2v: (?:command|command_lines|sh|sh_lines) "(.*)"$/;
const TRACE_AUG_CLEAR =
  /^libguestfs: trace: v2v: aug_clear "\/files\/etc\/(?:initramfs-tools\/modules|modules)\/([\w-]+)"$/;
const TRACE_WRITE = /^libguestfs: trace: v2v: write "(\/usr\/lib\/virt-sysprep\/scripts\/[^"]+)"/;
const DEVICE_MAP = /^\t(\S+)\t-> (\S+)$/;
/** `gcaps_block_bus = virtio-blk`: string_of_guestcaps, one field a line. */
const GUESTCAPS = /^gcaps_([a-z0-9_]+) = (.*)$/;
const REMOVE_COMMAND = /^(?:dpkg --purge|rpm -e|zypper -n rm|apt-get -y remove|apt-get remove -y)\s+(.+)$/;
const INITRD_COMMAND = /(?:^|\/)(?:update-initramfs|dracut|mkinitrd)\b(.*)$/;
const BOOTLOADER_COMMAND = /(?:^|\/)(?:grub2?-mkconfig|update-grub|grubby|update-bootloader)\b/;

/** Up to this many lines of stderr are kept for an error's reason. */
const TAIL_LINES = 200;

/**
 * Reads virt-v2v's output line by line (stdout's messages, stderr's `-v -x` log) and keeps only what
 * Ferry reports: stages and their times, warnings, and what the conversion did to the guest.
 */
export class V2vOutputScanner {
  private readonly stagesSeen: { stage: V2vStage; message: string; at: number }[] = [];
  readonly warnings: string[] = [];
  readonly info: string[] = [];
  private readonly tail: string[] = [];
  private error: string[] | undefined;
  private inError = false;
  private inDeviceMap = false;
  private readonly facts: V2vConversionFacts = {
    removedPackages: [],
    initramfsModules: [],
    initramfsRebuilt: false,
    bootloaderUpdated: false,
    deviceMap: [],
    guestcaps: {},
    firstbootScripts: [],
  };

  constructor(private readonly onProgress?: (p: V2vProgress) => void) {}

  push(stream: 'stdout' | 'stderr', line: string): void {
    if (stream === 'stderr') {
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
    }
    if (this.inError) {
      // An error's text runs to a blank line before "If reporting bugs, run … -v -x".
      if (/^If reporting bugs/.test(line)) this.inError = false;
      else this.error!.push(line);
      return;
    }
    const m = MESSAGE.exec(line);
    if (m && stream === 'stdout') return this.stage(Number(m[1]), m[2]!);
    if (PROGRAM.test(line)) return this.programLine(line.replace(PROGRAM, ''));
    this.logLine(line);
  }

  private stage(at: number, message: string): void {
    const stage = STAGE_MESSAGES.find(([re]) => re.test(message))?.[1] ?? 'other';
    if (stage === 'converting') this.facts.product = /^Converting (.*) to run on KVM$/.exec(message)?.[1];
    this.stagesSeen.push({ stage, message, at });
    const known = STAGE_SHARE[stage];
    const share = known >= 0 ? known : this.lastShare();
    this.onProgress?.({ stage, message, atSeconds: at, share });
  }

  private lastShare(): number {
    for (let i = this.stagesSeen.length - 1; i >= 0; i--) {
      const s = STAGE_SHARE[this.stagesSeen[i]!.stage];
      if (s >= 0) return s;
    }
    return 0;
  }

  private programLine(rest: string): void {
    if (rest.startsWith('error: ')) {
      this.error = [rest.slice('error: '.length)];
      this.inError = true;
    } else if (rest.startsWith('warning: ')) {
      this.warnings.push(rest.slice('warning: '.length));
    } else if (!/^virt-v2v \d/.test(rest)) {
      this.info.push(rest);
      if (/requires UEFI on the target/.test(rest)) this.facts.firmware = 'uefi';
    }
  }

  private logLine(line: string): void {
    if (line === 'block device map:') {
      this.inDeviceMap = true;
      return;
    }
    if (this.inDeviceMap) {
      const d = DEVICE_MAP.exec(line);
      if (d) {
        this.facts.deviceMap.push({ from: d[1]!, to: d[2]! });
        return;
      }
      this.inDeviceMap = false;
    }
    let m: RegExpExecArray | null;
    if ((m = /^picked conversion module (\w+)/.exec(line))) {
      this.facts.conversionModule = m[1];
    } else if ((m = GUESTCAPS.exec(line))) {
      this.facts.guestcaps[m[1]!] = m[2]!.trim();
    } else if ((m = TRACE_COMMAND.exec(line))) {
      this.command(m[1]!);
    } else if ((m = TRACE_AUG_CLEAR.exec(line))) {
      if (!this.facts.initramfsModules.includes(m[1]!)) this.facts.initramfsModules.push(m[1]!);
    } else if ((m = TRACE_WRITE.exec(line))) {
      const name = m[1]!.split('/').pop()!;
      if (!this.facts.firstbootScripts.includes(name)) this.facts.firstbootScripts.push(name);
    }
  }

  /** A command the conversion ran inside the guest (as libguestfs's trace shows it, quoted). */
  private command(cmd: string): void {
    const remove = REMOVE_COMMAND.exec(cmd);
    if (remove) {
      for (const p of remove[1]!.split(/\s+/)) {
        if (p && !p.startsWith('-') && !this.facts.removedPackages.includes(p))
          this.facts.removedPackages.push(p);
      }
      return;
    }
    const initrd = INITRD_COMMAND.exec(cmd);
    if (initrd) {
      this.facts.initramfsRebuilt = true;
      const k = /(?:-k|--kver)\s+(\S+)/.exec(initrd[1]!) ?? /\s(\d+\.\d+\S*)\s*$/.exec(initrd[1]!);
      if (k) this.facts.kernel = k[1];
      return;
    }
    if (BOOTLOADER_COMMAND.test(cmd)) this.facts.bootloaderUpdated = true;
  }

  /** The stage the run was in last. */
  currentStage(): V2vStage | undefined {
    return this.stagesSeen[this.stagesSeen.length - 1]?.stage;
  }

  /** Each stage with its duration; the last one lasts until `endSeconds` (the run's end). */
  stageTimes(endSeconds: number): V2vStageTime[] {
    return this.stagesSeen.map((s, i) => {
      const next = this.stagesSeen[i + 1]?.at ?? Math.max(endSeconds, s.at);
      return { stage: s.stage, message: s.message, startedAtSeconds: s.at, seconds: round1(next - s.at) };
    });
  }

  /** What the conversion did; `firmware` is `bios` once virt-v2v checked and found no UEFI. */
  conversionFacts(): V2vConversionFacts {
    const checked = this.stagesSeen.some((s) => s.stage === 'checking-firmware');
    return {
      ...this.facts,
      ...(this.facts.firmware === undefined && checked ? { firmware: 'bios' as const } : {}),
    };
  }

  /** virt-v2v's own error message (all its lines, joined), if it printed one. */
  errorMessage(): string | undefined {
    return this.error?.filter((l) => l.trim() !== '').join('\n');
  }

  /** The last stderr lines, for a failure without an error message (a crash, a kill). */
  lastLines(n = 20): string[] {
    return this.tail.slice(-n);
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
