/** Lines of context around each change, as `diff -u` has. */
const CONTEXT = 3;
/** Above this many lines × lines in the part that differs, the LCS table is not built (see below). */
const MAX_LCS_CELLS = 4_000_000;

type Op = { op: ' ' | '-' | '+'; line: string };

/** Text split into lines, each without its `\n`; `last` says whether the last line had one. */
function splitLines(text: string | null): { lines: string[]; newlineAtEnd: boolean } {
  if (text === null || text === '') return { lines: [], newlineAtEnd: true };
  const lines = text.split('\n');
  const newlineAtEnd = lines[lines.length - 1] === '';
  if (newlineAtEnd) lines.pop();
  return { lines, newlineAtEnd };
}

/**
 * The edit script from `a` to `b`: common prefix and suffix first (a fix changes a few lines of a
 * small file, so the part left is tiny), then a longest-common-subsequence table over what remains.
 * Beyond MAX_LCS_CELLS the middle is shown as removed then added: still a correct diff, only longer.
 */
function editScript(a: string[], b: string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const ops: Op[] = a.slice(0, start).map((line) => ({ op: ' ', line }));
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  if (n * m > MAX_LCS_CELLS) {
    ops.push(...midA.map((line): Op => ({ op: '-', line })), ...midB.map((line): Op => ({ op: '+', line })));
  } else {
    // lcs[i][j]: the LCS length of midA[i..] and midB[j..], row-major in one array.
    const width = m + 1;
    const lcs = new Uint32Array((n + 1) * width);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * width + j] =
          midA[i] === midB[j]
            ? lcs[(i + 1) * width + j + 1]! + 1
            : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        ops.push({ op: ' ', line: midA[i++]! });
        j++;
      } else if (i < n && (j === m || lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!)) {
        // Removals before additions where both keep the LCS, as diff -u shows a changed line.
        ops.push({ op: '-', line: midA[i++]! });
      } else {
        ops.push({ op: '+', line: midB[j++]! });
      }
    }
  }
  ops.push(...a.slice(endA).map((line): Op => ({ op: ' ', line })));
  return ops;
}

/** `-l,s` as GNU diff writes it: `,s` left out when 1; an empty side starts at the line before. */
function range(start: number, count: number): string {
  if (count === 0) return `${start - 1},0`;
  return count === 1 ? `${start}` : `${start},${count}`;
}

/**
 * A unified diff (`diff -u`, context 3) from `before` to `after` of the guest file `path`: `--- a/…`
 * and `+++ b/…` (`/dev/null` for an absent side), then the hunks; `\ No newline at end of file` where
 * a side's last line has none. Empty when the texts are equal.
 */
export function unifiedDiff(path: string, before: string | null, after: string | null): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  // A last line that only gains or loses its newline differs: compare it with its newline state.
  const NO_EOL = '\u0000no-eol';
  const aLines = a.lines.map((l, i) => (i === a.lines.length - 1 && !a.newlineAtEnd ? l + NO_EOL : l));
  const bLines = b.lines.map((l, i) => (i === b.lines.length - 1 && !b.newlineAtEnd ? l + NO_EOL : l));
  const ops = editScript(aLines, bLines);

  const name = path.replace(/^\/+/, '');
  const out = [
    before === null ? '--- /dev/null' : `--- a/${name}`,
    after === null ? '+++ /dev/null' : `+++ b/${name}`,
  ];
  const changed = ops.flatMap((o, i) => (o.op === ' ' ? [] : [i]));
  let k = 0;
  while (k < changed.length) {
    // A hunk: changes with at most 2 × CONTEXT unchanged lines between them share one.
    let last = k;
    while (last + 1 < changed.length && changed[last + 1]! - changed[last]! <= 2 * CONTEXT + 1) last++;
    const from = Math.max(0, changed[k]! - CONTEXT);
    const to = Math.min(ops.length, changed[last]! + CONTEXT + 1);
    let lineA = 1;
    let lineB = 1;
    for (const o of ops.slice(0, from)) {
      if (o.op !== '+') lineA++;
      if (o.op !== '-') lineB++;
    }
    const hunk = ops.slice(from, to);
    const countA = hunk.filter((o) => o.op !== '+').length;
    const countB = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${range(lineA, countA)} +${range(lineB, countB)} @@`);
    for (const o of hunk) {
      const noEol = o.line.endsWith(NO_EOL);
      out.push(`${o.op}${noEol ? o.line.slice(0, -NO_EOL.length) : o.line}`);
      if (noEol) out.push('\\ No newline at end of file');
    }
    k = last + 1;
  }
  return `${out.join('\n')}\n`;
}
