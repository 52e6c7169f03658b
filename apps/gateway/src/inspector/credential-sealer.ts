import { Injectable } from '@nestjs/common';
import { InspectorSubjects } from '@ferry/contracts';
import { FerryClient, isSealed, sealFor } from '@ferry/platform';

/** Where request bodies carry vCenter credentials: `{VcenterCredentials}` at the top or one level down. */
interface WithCredentials {
  VcenterCredentials?: { password?: unknown };
}

/**
 * Seals every vCenter password in a request body for the inspector (the only service that logs in to
 * vCenter) before the body crosses the broker: a reader of the broker, or of any service's logs, sees
 * `sealed:v1:…`. Cleanup and volume-daemon pass the sealed value on as it is. The inspector's public
 * key is asked for each time: it is one small request, and a key that changed is never used stale.
 */
@Injectable()
export class CredentialSealer {
  constructor(private readonly client: FerryClient) {}

  async seal<T extends object>(body: T): Promise<T> {
    const holders = [body, ...Object.values(body)].filter(
      (v): v is WithCredentials => !!v && typeof v === 'object' && 'VcenterCredentials' in v,
    );
    const plain = holders.filter((h) => {
      const password = h.VcenterCredentials?.password;
      return typeof password === 'string' && !isSealed(password);
    });
    if (plain.length === 0) return body;
    const { publicKey } = await this.client.send(InspectorSubjects.WIRE_KEY, {});
    const sealed = structuredClone(body);
    for (const holder of [sealed, ...Object.values(sealed)] as WithCredentials[]) {
      const credentials = holder?.VcenterCredentials;
      if (credentials && typeof credentials.password === 'string' && !isSealed(credentials.password)) {
        credentials.password = sealFor(publicKey, credentials.password);
      }
    }
    return sealed;
  }
}
