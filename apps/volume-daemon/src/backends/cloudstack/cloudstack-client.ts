import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type { ErrorCode } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import type { CloudStackParams } from './cloudstack-signer';
import { encodeCloudStackValue, signedCloudStackQuery } from './cloudstack-signer';

export interface CloudStackClientOptions {
  /** The API URL, e.g. `https://cloud.example.com/client/api`. */
  endpoint: string;
  apiKey: string;
  /** Signs requests; never sent, logged or put into an error. */
  secretKey: string;
  /** Deadline of one HTTP request. */
  requestTimeoutMs: number;
  /** Default deadline of an async job (`waitForJob`). */
  jobTimeoutMs: number;
  /** First interval between `queryAsyncJobResult` polls; it doubles up to `maxPollIntervalMs`. */
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  /**
   * Requests carry `signatureVersion=3` and an `expires` this far ahead, so a captured URL cannot be
   * replayed later (and servers with `enforce.post.requests.and.timestamps` accept them). Default 10 min.
   */
  signatureTtlMs?: number;
  /** Accept an `http://` endpoint, which carries the API key and signatures in clear (tests, labs). */
  allowHttp?: boolean;
  logger?: Pick<Logger, 'warn'>;
}

/** A parameter value; `undefined` leaves the parameter out. */
export type CloudStackValue = string | number | boolean | undefined;
/** The object inside `{"<command>response": {...}}`. */
export type CloudStackObject = Record<string, unknown>;

/** `queryAsyncJobResult`'s `jobstatus`. */
const JOB_PENDING = 0;
const JOB_SUCCEEDED = 1;

/** Even a poll that starts right at the job deadline gets this long to answer. */
const LAST_POLL_GRACE_MS = 1_000;

/**
 * A minimal CloudStack API client: signed GETs, CloudStack's JSON envelope, async-job polling, and
 * errors mapped to `FerryError`. The API key, the secret key and request signatures are scrubbed from
 * every error message, error detail and log line (an error text may echo the request back).
 */
export class CloudStackClient {
  private readonly logger: Pick<Logger, 'warn'>;
  private readonly secrets: string[];
  private readonly endpointForErrors: string;

  constructor(private readonly options: CloudStackClientOptions) {
    this.logger = options.logger ?? new Logger(CloudStackClient.name);
    const keys = [options.apiKey, options.secretKey].filter((k) => k.length > 0);
    this.secrets = keys.flatMap((k) => [k, encodeCloudStackValue(k), encodeURIComponent(k)]);
    const url = new URL(options.endpoint);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && options.allowHttp)) {
      throw new FerryError(
        'VALIDATION',
        `the CloudStack endpoint must be https:// (${url.protocol}// sends the API key and signatures in clear; CLOUDSTACK_ALLOW_HTTP=true allows http)`,
      );
    }
    this.endpointForErrors = `${url.protocol}//${url.host}${url.pathname}`;
  }

  /** Runs one command and returns the object in its response envelope. */
  async request(command: string, params: Record<string, CloudStackValue> = {}): Promise<CloudStackObject> {
    return this.send(command, params, this.options.requestTimeoutMs);
  }

  /**
   * Runs an async command and waits for its job; returns `jobresult`. A command that answers without
   * a `jobid` (CloudStack runs some synchronously) returns its response as is.
   */
  async requestAndWait(
    command: string,
    params: Record<string, CloudStackValue>,
    timeoutMs = this.options.jobTimeoutMs,
  ): Promise<CloudStackObject> {
    const deadline = Date.now() + timeoutMs;
    const started = await this.request(command, params);
    const jobId = started['jobid'];
    if (typeof jobId !== 'string' || jobId === '') return started;
    return this.poll(jobId, command, deadline, timeoutMs);
  }

  /**
   * Polls `queryAsyncJobResult` with exponential backoff until the job ends or `timeoutMs` passes.
   * A poll that fails with UNAVAILABLE or TIMEOUT is retried (the job runs on regardless); other errors
   * end the wait.
   */
  async waitForJob(
    jobId: string,
    command: string,
    timeoutMs = this.options.jobTimeoutMs,
  ): Promise<CloudStackObject> {
    return this.poll(jobId, command, Date.now() + timeoutMs, timeoutMs);
  }

  /** `timeoutMs` is only named in the TIMEOUT error; `deadline` is what counts. */
  private async poll(
    jobId: string,
    command: string,
    deadline: number,
    timeoutMs: number,
  ): Promise<CloudStackObject> {
    let interval = this.options.pollIntervalMs;
    let lastError: string | undefined;
    for (;;) {
      const remaining = deadline - Date.now();
      const pollTimeout = Math.min(this.options.requestTimeoutMs, Math.max(remaining, LAST_POLL_GRACE_MS));
      let job: CloudStackObject | undefined;
      try {
        job = await this.send('queryAsyncJobResult', { jobid: jobId }, pollTimeout);
      } catch (err) {
        if (!(err instanceof FerryError) || (err.code !== 'UNAVAILABLE' && err.code !== 'TIMEOUT')) throw err;
        lastError = err.message;
        this.logger.warn(`polling CloudStack job ${jobId} (${command}) failed, retrying: ${err.message}`);
      }
      if (job) {
        const status = job['jobstatus'];
        if (status === JOB_SUCCEEDED) return asObject(job['jobresult']) ?? {};
        if (status !== JOB_PENDING) throw this.jobFailure(command, jobId, job);
        lastError = undefined;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new FerryError(
          'TIMEOUT',
          `CloudStack job ${jobId} (${command}) did not finish within ${timeoutMs} ms`,
          {
            command,
            jobId,
            ...(lastError ? { lastError } : {}),
          },
        );
      }
      await sleep(Math.min(interval, left));
      interval = Math.min(interval * 2, this.options.maxPollIntervalMs);
    }
  }

  private async send(
    command: string,
    params: Record<string, CloudStackValue>,
    timeoutMs: number,
  ): Promise<CloudStackObject> {
    const signed: Record<string, string> = {};
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined) signed[key] = String(value);
    }
    Object.assign(signed, { apiKey: this.options.apiKey, command, response: 'json' }, this.expiry());
    const query = signedCloudStackQuery(signed as CloudStackParams, this.options.secretKey);
    const separator = this.options.endpoint.includes('?') ? '&' : '?';
    const signature = new URLSearchParams(query).get('signature') ?? '';

    let status: number;
    let text: string;
    try {
      const response = await fetch(this.options.endpoint + separator + query, {
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (err) {
      throw this.transportFailure(command, timeoutMs, err, signature);
    }
    return this.parse(command, status, text, signature);
  }

  private expiry(): Record<string, string> {
    const ttl = this.options.signatureTtlMs ?? 600_000;
    if (ttl <= 0) return {};
    // The format `cs` sends and the server parses: 2030-01-01T00:10:00+0000.
    const expires = new Date(Date.now() + ttl).toISOString().replace(/\.\d{3}Z$/, '+0000');
    return { signatureVersion: '3', expires };
  }

  /** Takes the object out of `{"<command>response": {...}}`; turns an error envelope into a FerryError. */
  private parse(command: string, status: number, text: string, signature: string): CloudStackObject {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const envelope = asObject(body);
    const key = `${command.toLowerCase()}response`;
    const keys = envelope ? Object.keys(envelope) : [];
    // Errors may come as `errorresponse`; take the only key when the expected one is missing.
    const inner = envelope
      ? asObject(envelope[key] ?? (keys.length === 1 ? envelope[keys[0]!] : undefined))
      : undefined;

    if (status >= 200 && status < 300) {
      if (inner) return inner;
      throw new FerryError(
        'INTERNAL',
        `CloudStack answered ${command} with HTTP ${status} but no "${key}" object`,
        {
          command,
          httpStatus: status,
        },
      );
    }
    if (inner && (typeof inner['errorcode'] === 'number' || typeof inner['errortext'] === 'string')) {
      return this.throwMapped(command, status, inner, signature);
    }
    const code: ErrorCode = status >= 500 || status === 429 ? 'UNAVAILABLE' : 'INTERNAL';
    throw new FerryError(
      code,
      `CloudStack endpoint ${this.endpointForErrors} answered ${command} with HTTP ${status}`,
      {
        command,
        httpStatus: status,
      },
    );
  }

  private throwMapped(command: string, status: number, inner: CloudStackObject, signature: string): never {
    const errorcode = typeof inner['errorcode'] === 'number' ? inner['errorcode'] : status;
    const text = this.scrub(
      typeof inner['errortext'] === 'string' ? inner['errortext'] : `HTTP ${status}`,
      signature,
    );
    const code = errorCodeOf(errorcode, text);
    const message =
      errorcode === 401 || errorcode === 432 || errorcode === 531
        ? `CloudStack rejected the API credentials (or does not allow ${command} for this account): ${text}`
        : `CloudStack ${command} failed: ${text}`;
    throw new FerryError(code, message, {
      command,
      httpStatus: status,
      errorcode,
      ...(typeof inner['cserrorcode'] === 'number' ? { cserrorcode: inner['cserrorcode'] } : {}),
    });
  }

  private jobFailure(command: string, jobId: string, job: CloudStackObject): FerryError {
    const result = asObject(job['jobresult']) ?? {};
    const errorcode = typeof result['errorcode'] === 'number' ? result['errorcode'] : 530;
    const text = this.scrub(
      typeof result['errortext'] === 'string' ? result['errortext'] : 'no error text',
      '',
    );
    return new FerryError(
      errorCodeOf(errorcode, text),
      `CloudStack ${command} job ${jobId} failed: ${text}`,
      {
        command,
        jobId,
        errorcode,
        ...(typeof result['cserrorcode'] === 'number' ? { cserrorcode: result['cserrorcode'] } : {}),
      },
    );
  }

  private transportFailure(command: string, timeoutMs: number, err: unknown, signature: string): FerryError {
    // Duck-typed: fetch's errors come from Node's own realm, where `instanceof Error` may not hold.
    const failure = asObject(err) ?? {};
    if (failure['name'] === 'TimeoutError' || failure['name'] === 'AbortError') {
      return new FerryError('TIMEOUT', `CloudStack did not answer ${command} within ${timeoutMs} ms`, {
        command,
        endpoint: this.endpointForErrors,
      });
    }
    // fetch reports "fetch failed" and puts the socket error (ECONNREFUSED, ENOTFOUND, ...) in `cause`.
    const cause = asObject(failure['cause']) ?? failure;
    const reason = this.scrub(
      typeof cause['message'] === 'string' ? cause['message'] : String(err),
      signature,
    );
    const errno = cause['code'];
    return new FerryError(
      'UNAVAILABLE',
      `cannot reach CloudStack at ${this.endpointForErrors} (${command}): ${reason}`,
      {
        command,
        endpoint: this.endpointForErrors,
        ...(typeof errno === 'string' ? { errno } : {}),
      },
    );
  }

  /** Removes the keys and the request's signature (raw, encoded or lowercased) from text. */
  private scrub(text: string, signature: string): string {
    const secrets = signature ? [...this.secrets, signature, encodeCloudStackValue(signature)] : this.secrets;
    let out = text;
    for (const secret of secrets) {
      out = out.replace(new RegExp(secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), '***');
    }
    return out;
  }
}

/**
 * CloudStack's `errorcode` (ApiErrorCode) to a Ferry code:
 *  - 401 (bad key or signature), 432 (command not available to this account), 531 (account error):
 *    INTERNAL, because retrying cannot help and the caller did nothing wrong: an operator must fix the
 *    configured credentials or the account's role;
 *  - 430/431 (malformed/invalid parameter), 400: VALIDATION, or NOT_FOUND when the text says the entity
 *    does not exist (CloudStack reports an unknown uuid as an invalid parameter);
 *  - 536 (resource in use), 537 (network rule conflict): CONFLICT;
 *  - 429 (API limit) and other 5xx (530 internal, 532 limit, 533 capacity, 534/535 unavailable):
 *    UNAVAILABLE, or NOT_FOUND when the text says so.
 */
export function errorCodeOf(errorcode: number, text: string): ErrorCode {
  if (errorcode === 401 || errorcode === 432 || errorcode === 531) return 'INTERNAL';
  if (NOT_FOUND_TEXT.test(text)) return 'NOT_FOUND';
  if (errorcode === 536 || errorcode === 537) return 'CONFLICT';
  if (errorcode === 400 || errorcode === 430 || errorcode === 431) return 'VALIDATION';
  if (errorcode === 429 || errorcode >= 500) return 'UNAVAILABLE';
  return 'INTERNAL';
}

const NOT_FOUND_TEXT = /does not exist|doesn't exist|not found|unable to find|could not find|no such/i;

export function asObject(value: unknown): CloudStackObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as CloudStackObject)
    : undefined;
}
