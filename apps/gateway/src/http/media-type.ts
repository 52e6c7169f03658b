interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(accept: string): MediaRange[] {
  return accept.split(',').flatMap((part) => {
    const [range = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const [type, subtype] = range.split('/');
    if (!type || !subtype) return [];
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    return Number.isFinite(q) ? [{ type, subtype, q: Math.min(Math.max(q, 0), 1) }] : [];
  });
}

/** The q of `offered` under the most specific range that matches it (RFC 9110 §12.5.1), 0 if none does. */
function qualityOf(offered: string, ranges: MediaRange[]): number {
  const [type, subtype] = offered.toLowerCase().split('/');
  let best: { specificity: number; q: number } | undefined;
  for (const r of ranges) {
    const specificity =
      r.type === type && r.subtype === subtype
        ? 2
        : r.type === type && r.subtype === '*'
          ? 1
          : r.type === '*' && r.subtype === '*'
            ? 0
            : -1;
    if (specificity >= 0 && (!best || specificity > best.specificity)) best = { specificity, q: r.q };
  }
  return best?.q ?? 0;
}

/**
 * Which of `offered` (the first is the default) the client's `Accept` prefers: the highest q, the
 * earlier one on a tie. No header, or one that accepts none of them, gets the default rather than 406:
 * a client that asks for something odd still gets the usual representation, which says what it is.
 */
export function preferredMediaType<T extends string>(
  accept: string | undefined,
  offered: readonly [T, ...T[]],
): T {
  if (!accept) return offered[0];
  const ranges = parseAccept(accept);
  let chosen = offered[0];
  let chosenQ = qualityOf(chosen, ranges);
  for (const candidate of offered.slice(1)) {
    const q = qualityOf(candidate, ranges);
    if (q > chosenQ) [chosen, chosenQ] = [candidate, q];
  }
  return chosen;
}
