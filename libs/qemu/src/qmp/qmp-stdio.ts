import { runCommand } from '@ferry/platform';

export type QmpReply = { return: unknown } | { error: { class: string; desc: string } };

/** One command of a stdio session; only commands with an `id` have their reply kept. */
export interface QmpStdioCommand {
  execute: string;
  id?: string;
  arguments?: Record<string, unknown>;
}

/**
 * The replies of a QMP session on stdio, by the `id` each command was sent with. The greeting, events
 * and lines that are not JSON are skipped.
 */
export function parseQmpReplies(stdout: string): Map<string, QmpReply> {
  const replies = new Map<string, QmpReply>();
  for (const line of stdout.split('\n')) {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof message !== 'object' || message === null) continue;
    const { id, error } = message as { id?: unknown; error?: { class?: unknown; desc?: unknown } };
    if (typeof id !== 'string') continue;
    if ('return' in message) replies.set(id, { return: (message as { return: unknown }).return });
    else if (error) replies.set(id, { error: { class: String(error.class), desc: String(error.desc) } });
  }
  return replies;
}

/**
 * Runs a short-lived QEMU with `-qmp stdio` (added to `args`): `qmp_capabilities`, `commands`, then
 * `quit`, all written at once, so there is no socket and no QEMU left behind. Resolves the replies by
 * id; rejects with the CommandError of a QEMU that failed or ran past `timeoutMs`.
 */
export async function runQmpStdio(
  qemuBinary: string,
  args: readonly string[],
  commands: readonly QmpStdioCommand[],
  timeoutMs: number,
): Promise<Map<string, QmpReply>> {
  const input = [{ execute: 'qmp_capabilities' }, ...commands, { execute: 'quit' }];
  const text = input.map((c) => JSON.stringify(c)).join('\n') + '\n';
  return parseQmpReplies(await runCommand(qemuBinary, [...args, '-qmp', 'stdio'], timeoutMs, text));
}
