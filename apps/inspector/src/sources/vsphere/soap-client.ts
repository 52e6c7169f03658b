import { SourceFatalError } from '../source';
import { SoapFault, parseSoapFault } from './soap-fault';
import type { SoapTransport } from './soap-transport';
import { VCENTER_UNREACHABLE } from './soap-transport';
import type { MoRef, XmlNode } from './soap-xml';
import { envelope, parseXml, soapBody } from './soap-xml';

export interface CallOptions {
  signal?: AbortSignal;
  /** Inspects the response element; a SoapFault it throws is treated like one the server sent. */
  validate?: (response: XmlNode) => void;
  /** Whether a NotAuthenticated fault may trigger one re-login and retry (not for Login itself). */
  reauthenticate?: boolean;
}

/**
 * One vSphere SOAP session: the `vmware_soap_session` cookie, the SOAPAction version, faults as
 * SoapFault, and one re-login on NotAuthenticated (sessions expire on idle vCenters). It never sees
 * the password: `reauthenticate` is a closure the session owner sets after its first login.
 */
export class SoapClient {
  private cookie: string | null = null;
  private action = 'urn:vim25';
  private relogin: Promise<void> | null = null;
  /** Logs in again (with the session dropped first); set by the owner once logged in. */
  reauthenticate: (() => Promise<void>) | null = null;

  constructor(
    private readonly transport: SoapTransport,
    /** Shown in errors: the SDK URL, never with credentials. */
    readonly endpoint: string,
    private readonly requestTimeoutMs: number,
  ) {}

  /** Uses `urn:vim25/<apiVersion>` from now on (from RetrieveServiceContent's about.apiVersion). */
  setApiVersion(apiVersion: string): void {
    if (/^[0-9][0-9a-zA-Z.]*$/.test(apiVersion)) this.action = `urn:vim25/${apiVersion}`;
  }

  get loggedIn(): boolean {
    return this.cookie !== null;
  }

  /** The session cookie as a `Cookie` header value, for HTTP reads beside SOAP (`/folder`): a secret. */
  get sessionCookie(): string | null {
    return this.cookie;
  }

  dropSession(): void {
    this.cookie = null;
  }

  close(): void {
    this.transport.close();
  }

  /** Calls `method` on `self` with `params` (XML); returns the `<method>Response` element. */
  async call(method: string, self: MoRef, params: string, options: CallOptions = {}): Promise<XmlNode> {
    try {
      return await this.once(method, self, params, options);
    } catch (err) {
      if (!(err instanceof SoapFault) || !err.is('NotAuthenticated')) throw err;
      if (options.reauthenticate === false || !this.reauthenticate) throw err;
      await this.renewSession();
      return this.once(method, self, params, options);
    }
  }

  private async renewSession(): Promise<void> {
    if (!this.relogin) {
      this.cookie = null;
      this.relogin = this.reauthenticate!().finally(() => (this.relogin = null));
    }
    await this.relogin;
  }

  private async once(method: string, self: MoRef, params: string, options: CallOptions): Promise<XmlNode> {
    const res = await this.transport.send({
      action: this.action,
      body: envelope(method, self, params),
      cookie: this.cookie,
      timeoutMs: this.requestTimeoutMs,
      signal: options.signal,
    });
    if (res.cookie) this.cookie = res.cookie;
    let body: XmlNode | undefined;
    try {
      body = soapBody(parseXml(res.body));
    } catch {
      body = undefined;
    }
    if (!body) throw this.notSoap(method, res.status);
    if (body.name === 'Fault') throw parseSoapFault(body, method);
    if (res.status >= 400) throw this.notSoap(method, res.status);
    options.validate?.(body);
    return body;
  }

  private notSoap(method: string, status: number): SourceFatalError {
    if (status === 502 || status === 503 || status === 504) {
      return new SourceFatalError(
        'unreachable',
        VCENTER_UNREACHABLE,
        `HTTP ${status}`,
        `vCenter at ${this.endpoint} answered HTTP ${status} to ${method}`,
      );
    }
    return new SourceFatalError(
      'other',
      `${this.endpoint} answered ${method} with HTTP ${status} and no SOAP envelope; is it a vSphere SDK URL?`,
    );
  }
}
