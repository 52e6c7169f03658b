import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import {
  cloudStackSignature,
  cloudStackStringToSign,
  encodeCloudStackValue,
  signedCloudStackQuery,
} from './cloudstack-signer';

/**
 * The signer is checked against an independent implementation: the `cs` Python client (Debian package
 * `python3-cs`, installed by tools/ensure-infra.sh for Debian's /usr/bin/python3). For every case the
 * script returns
 *  - `cs`: the signature from `cs`'s own `CloudStack._sign`, unchanged;
 *  - `java`: the same `_sign` with its `quote` made to encode `~` as `%7E` like `java.net.URLEncoder`
 *    (the one place where `cs` differs from the server; see cloudstack-signer.ts);
 *  - `query`: the exact query string built from `cs.client.cs_encode` (same `~` fix) over the sorted
 *    names, plus `&signature=`;
 *  - `wire`: the query string of the URL that `cs` really sends (`requests` prepares it).
 */
const PYTHON = '/usr/bin/python3';
const SCRIPT = `
import json, sys
import cs.client as c
plain_quote = c.quote
def java_quote(s, safe='/'):
    return plain_quote(s, safe=safe).replace('~', '%7E')
out = []
for case in json.load(sys.stdin):
    client = c.CloudStack('http://127.0.0.1:1/client/api', case['params']['apiKey'], case['secret'])
    as_is = dict(case['params'])
    client._sign(as_is)
    c.quote = java_quote
    try:
        fixed = dict(case['params'])
        client._sign(fixed)
        query = '&'.join(c.cs_encode(k) + '=' + c.cs_encode(v) for k, v in sorted(case['params'].items()))
        query += '&signature=' + c.cs_encode(fixed['signature'])
    finally:
        c.quote = plain_quote
    prepared = c.requests.Request('get', 'http://127.0.0.1:1/client/api', params=fixed).prepare()
    out.append({'cs': as_is['signature'], 'java': fixed['signature'], 'query': query,
                'wire': prepared.url.split('?', 1)[1]})
json.dump(out, sys.stdout)
`;

interface Case {
  label: string;
  secret: string;
  params: Record<string, string>;
}
interface Reference {
  cs: string;
  java: string;
  query: string;
  wire: string;
}

function requirePythonCs(): void {
  try {
    execFileSync(PYTHON, ['-c', 'import cs.client'], { stdio: 'pipe' });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(
      `${PYTHON} cannot import the CloudStack client 'cs' (Debian package python3-cs), which this test ` +
        `compares the signer against. Install it with: apt-get install -y python3-cs ` +
        `(tools/ensure-infra.sh does). Cause: ${why}`,
    );
  }
}

function reference(cases: Case[]): Reference[] {
  const out = execFileSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify(cases), encoding: 'utf8' });
  return JSON.parse(out) as Reference[];
}

const base = (extra: Record<string, string>): Record<string, string> => ({
  apiKey: 'plgWJfZK4gyS3mOMTVmjUVg-X-jlWlnfaUJ9GAbBbf9EdM-kAYMmAiLqzzq1ElZLYq_u38zCm0bewzGUdP66mg',
  command: 'listVolumes',
  response: 'json',
  ...extra,
});
const SECRET = 'VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1EhwJaw7FF3akA3KBQ';

const TRICKY = [
  'two words',
  'star*star',
  'tilde~tilde',
  'bang!',
  "it's",
  '(paren)',
  'a+b',
  'a&b=c',
  'path/to/x',
  '100%',
  'café',
  '日本',
  '🚀 emoji',
  '',
  ' leading and trailing ',
  'MiXeD CaSe VaLuE',
  '-_.*~!\'()+&=/%?#[]@$,;:"<>\\^`{|}',
  'tab\tnewline\n',
];

const CASES: Case[] = [
  ...TRICKY.map((value) => ({ label: JSON.stringify(value), secret: SECRET, params: base({ name: value }) })),
  {
    label: 'all of them at once',
    secret: SECRET,
    params: base(Object.fromEntries(TRICKY.map((v, i) => [`k${i}`, v]))),
  },
  // Names whose order differs between a case-sensitive and a lowercased sort.
  {
    label: 'mixed-case names',
    secret: SECRET,
    params: base({ Zeta: '1', alpha: '2', api_x: '3', ApiZ: '4', 'details[0].key': 'v' }),
  },
  {
    label: 'signature version 3',
    secret: SECRET,
    params: base({ signatureVersion: '3', expires: '2030-01-01T00:00:00+0000' }),
  },
  {
    label: 'non-ASCII secret',
    secret: 'sécret with spaces ~!*',
    params: base({ id: 'f3b7c2a0-0000-4000-8000-000000000001' }),
  },
  { label: 'odd API key', secret: SECRET, params: { ...base({}), apiKey: 'key~with*odd!chars' } },
];

describe('CloudStack signer against python3-cs', () => {
  let refs: Reference[];

  beforeAll(() => {
    requirePythonCs();
    refs = reference(CASES);
  });

  it.each(CASES.map((c, i) => [i, c.label, c] as const))(
    'case %i (%s): same signature as the server would compute',
    (i, _label, c) => {
      const ref = refs[i]!;
      expect(cloudStackSignature(c.params, c.secret)).toBe(ref.java);
      // Without `~` anywhere, the shipped client agrees exactly.
      if (!JSON.stringify(c.params).includes('~')) expect(ref.cs).toBe(ref.java);
    },
  );

  it.each(CASES.map((c, i) => [i, c.label, c] as const))(
    'case %i (%s): same query string',
    (i, _label, c) => {
      const ref = refs[i]!;
      const query = signedCloudStackQuery(c.params, c.secret);
      expect(query).toBe(ref.query);
      // And the server decodes the same parameters (with the same signature) as from the real client.
      const decoded = (q: string) => Object.fromEntries(new URLSearchParams(q));
      expect(decoded(query)).toEqual(decoded(ref.wire));
    },
  );

  it('would catch encodeURIComponent and a lowercased sort', () => {
    const mutants = {
      encodeURIComponent: (p: Record<string, string>, s: string) =>
        hmac(
          Object.keys(p)
            .sort()
            .map((k) => `${k}=${encodeURIComponent(p[k]!)}`)
            .join('&'),
          s,
        ),
      lowercasedSort: (p: Record<string, string>, s: string) =>
        hmac(
          Object.keys(p)
            .sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1))
            .map((k) => `${k}=${encodeCloudStackValue(p[k]!)}`)
            .join('&'),
          s,
        ),
    };
    for (const [name, mutant] of Object.entries(mutants)) {
      const caught = CASES.some((c, i) => mutant(c.params, c.secret) !== refs[i]!.java);
      expect({ name, caught }).toEqual({ name, caught: true });
    }
  });
});

function hmac(unsigned: string, secret: string): string {
  return createHmac('sha1', secret).update(unsigned.toLowerCase()).digest('base64');
}

describe('CloudStack value encoding', () => {
  it('matches java.net.URLEncoder with + as %20 (vector produced by Java 17)', () => {
    expect(encodeCloudStackValue("a b*~!'()+&=/%é日本😀-_.")).toBe(
      'a%20b*%7E%21%27%28%29%2B%26%3D%2F%25%C3%A9%E6%97%A5%E6%9C%AC%F0%9F%98%80-_.',
    );
  });

  it('signs the sorted, lowercased string and leaves any signature parameter out', () => {
    expect(cloudStackStringToSign({ b: 'X Y', A: '1', signature: 'old' })).toBe('a=1&b=x%20y');
  });
});
