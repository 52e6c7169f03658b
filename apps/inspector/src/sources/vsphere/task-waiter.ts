import { setTimeout as sleep } from 'node:timers/promises';
import { retrieveOne } from './property-collector';
import type { SoapClient } from './soap-client';
import { SoapFault, parseLocalizedFault } from './soap-fault';
import type { MoRef, XmlNode } from './soap-xml';

/** A task that did not finish before its deadline (INSPECTOR_VSPHERE_TASK_TIMEOUT_MS), or vanished. */
export class TaskWaitError extends Error {
  override readonly name = 'TaskWaitError';
}

export interface TaskWaitOptions {
  /** How long the task may take, in ms. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** First and longest pause between polls, in ms. */
  pollMs?: { first: number; max: number };
  /** Called when the task's progress (0–100) changes. */
  onProgress?: (percent: number) => void;
}

/**
 * Polls the task's `info` until it succeeds (returns `info.result`, or null when the task has none)
 * or fails (throws its fault as a SoapFault named after the task). Past the deadline it asks vSphere
 * to cancel the task, without waiting, and throws TaskWaitError. An abort rejects with the
 * signal's reason and leaves the task running: cleanup finds what it made by name.
 */
export async function waitForTask(
  client: SoapClient,
  collector: MoRef,
  task: MoRef,
  method: string,
  options: TaskWaitOptions,
): Promise<XmlNode | null> {
  const deadline = Date.now() + options.timeoutMs;
  const { first, max } = options.pollMs ?? { first: 100, max: 2000 };
  let pause = first;
  let progress = -1;
  for (;;) {
    const info = await taskInfo(client, collector, task, method, options.signal);
    const state = info.str('state');
    if (state === 'success') return info.child('result') ?? null;
    if (state === 'error') {
      const error = info.child('error');
      throw error ? parseLocalizedFault(error, method) : new SoapFault('UnknownFault', '', method);
    }
    const percent = info.int('progress');
    if (percent !== null && percent !== progress) {
      progress = percent;
      options.onProgress?.(percent);
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      void client.call('CancelTask', task, '', { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
      throw new TaskWaitError(`${method} did not finish within ${options.timeoutMs} ms (task ${task.value})`);
    }
    try {
      await sleep(Math.min(pause, left), undefined, { signal: options.signal });
    } catch (err) {
      options.signal?.throwIfAborted();
      throw err;
    }
    pause = Math.min(max, Math.ceil(pause * 1.5));
  }
}

async function taskInfo(
  client: SoapClient,
  collector: MoRef,
  task: MoRef,
  method: string,
  signal?: AbortSignal,
) {
  let info: XmlNode | undefined;
  try {
    info = (await retrieveOne(client, collector, task, ['info'], signal))?.props.get('info');
  } catch (err) {
    if (!(err instanceof SoapFault && err.is('ManagedObjectNotFound'))) throw err;
  }
  if (!info) throw new TaskWaitError(`${method}: its task ${task.value} is gone (vCenter restarted?)`);
  return info;
}
