import { FerryError } from '@ferry/contracts';

/**
 * The generation a request is fenced on: `If-Match: "<generation>"` (quotes and `W/` optional) or
 * `expectedGeneration` in the body. Both may be given only if they agree.
 */
export function expectedGeneration(
  ifMatch: string | undefined,
  fromBody: number | undefined,
): number | undefined {
  if (ifMatch === undefined || ifMatch.trim() === '') return fromBody;
  const match = /^(?:W\/)?"?(\d{1,15})"?$/.exec(ifMatch.trim());
  if (!match)
    throw FerryError.validation('If-Match must be a disk generation, e.g. "3"', [
      { field: 'If-Match', messages: ['If-Match must be a disk generation (a whole number)'] },
    ]);
  const generation = Number(match[1]);
  if (fromBody !== undefined && fromBody !== generation)
    throw FerryError.validation('If-Match and expectedGeneration disagree', [
      {
        field: 'expectedGeneration',
        messages: [`If-Match says ${generation}, expectedGeneration says ${fromBody}`],
      },
    ]);
  return generation;
}
