import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as contracts from '../index';
import { SERVICE_NAMES } from '../common/services';
import { healthSubject } from '../health/health.subjects';
import { SERVICE_CALLS } from './service-calls';

const ROOT = join(__dirname, '../../../..');

/** `XxxSubjects.NAME` → its subject, for every subject constant of the contracts. */
const SUBJECTS = new Map(
  Object.entries(contracts)
    .filter(([name, value]) => name.endsWith('Subjects') && typeof value === 'object')
    .flatMap(([name, value]) =>
      Object.entries(value as Record<string, string>).map(([key, subject]) => [`${name}.${key}`, subject]),
    ),
);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('spec.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

/** The other services' subjects a service's code names: the requests it may send. */
function subjectsNamedBy(service: string): string[] {
  const named = new Set<string>();
  for (const file of sources(join(ROOT, 'apps', service, 'src'))) {
    for (const [ref] of readFileSync(file, 'utf8').matchAll(/\b[A-Z]\w*Subjects\.[A-Z_]+\b/g)) {
      const subject = SUBJECTS.get(ref);
      if (subject === undefined) throw new Error(`${file}: ${ref} is not a subject of @ferry/contracts`);
      if (!subject.startsWith(`${service}.`)) named.add(subject);
    }
  }
  return [...named].sort();
}

describe('SERVICE_CALLS', () => {
  it.each(SERVICE_NAMES)(
    "lists exactly the other services' subjects %s's code names (add or remove calls there)",
    (service) => {
      const listed = SERVICE_CALLS[service].filter((s) => !s.endsWith('.health.ping'));
      expect([...listed].sort()).toEqual(subjectsNamedBy(service));
    },
  );

  it("lets only the gateway ping the others' health", () => {
    for (const service of SERVICE_NAMES) {
      const pings = SERVICE_CALLS[service].filter((s) => s.endsWith('.health.ping'));
      expect(pings).toEqual(
        service === 'gateway' ? SERVICE_NAMES.filter((s) => s !== 'gateway').map(healthSubject) : [],
      );
    }
  });

  it('never lists a subject twice, nor one of the caller itself', () => {
    for (const service of SERVICE_NAMES) {
      expect(new Set(SERVICE_CALLS[service]).size).toBe(SERVICE_CALLS[service].length);
      expect(SERVICE_CALLS[service].filter((s) => s.startsWith(`${service}.`))).toEqual([]);
    }
  });
});
