/** One discovered fact as the facts view shows it: where in the document, its value, its source. */
export interface FactRow {
  path: string;
  value: string;
  source: string;
  reason?: string;
}

function isFact(x: unknown): x is { value: unknown; source: string; reason?: string } {
  return (
    typeof x === 'object' &&
    x !== null &&
    'source' in x &&
    'value' in x &&
    typeof (x as { source: unknown }).source === 'string'
  );
}

/** `true`, `8`, `"x86_64"`, `[a, b]`, `—` (unknown): a fact's value for a table cell. */
export function valueText(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) return value.map(valueText).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * The facts of a capability document (`?view=facts`), by category (`cpu`, …): every
 * `{value, source, reason?}` leaf with its dotted path inside the category.
 */
export function factsByCategory(data: unknown): Map<string, FactRow[]> {
  const out = new Map<string, FactRow[]>();
  if (typeof data !== 'object' || data === null) return out;
  for (const [category, tree] of Object.entries(data)) {
    const rows: FactRow[] = [];
    const walk = (node: unknown, path: string) => {
      if (isFact(node)) {
        rows.push({
          path,
          value: valueText(node.value),
          source: node.source,
          ...(node.reason ? { reason: node.reason } : {}),
        });
        return;
      }
      if (typeof node === 'object' && node !== null && !Array.isArray(node))
        for (const [k, v] of Object.entries(node)) walk(v, path ? `${path}.${k}` : k);
    };
    walk(tree, '');
    if (rows.length > 0) out.set(category, rows);
  }
  return out;
}

/** A comma- or space-separated list of trait names, e.g. `HW_CPU_X86_AVX2, COMPUTE_STATUS_ENABLED`. */
export function parseTraits(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((t) => t.toUpperCase()),
    ),
  ];
}
